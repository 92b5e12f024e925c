"""End to end the way ROS users test: bag from a real clip -> play into the graph -> record -> assert.

Real processes, real DDS: `pose-ros bag from-video`, `pose-ros run` (video -> estimator
-> tracker -> actions), `pose-ros bag play`, `pose-ros bag record`, and a separate
subscriber node.
"""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import yaml
from visualization_msgs.msg import MarkerArray

from pose_ros.bag import info, open_reader, typestore
from pose_ros.msg import ActionArray, SkeletonArray
from pose_ros.paths import config_file
from rosutil import RosSession, start, stop, wait_for

N_FRAMES = 24
OUT_TOPICS = ["/pose/skeletons", "/pose/markers", "/pose/actions", "/pose/image_annotated"]


def _stamp(h) -> int:
    return h.stamp.sec * 1_000_000_000 + h.stamp.nanosec


def read_topic(bag, topic: str) -> list:
    store = typestore()
    reader = open_reader(bag)  # opened already
    try:
        conns = [c for c in reader.connections if c.topic == topic]
        return [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)]
    finally:
        reader.close()


def replay_once(tmp, input_bag, tag: str) -> tuple:
    """Start the graph, record its outputs, play the bag; return (recording, probe messages)."""
    params = yaml.safe_load(config_file().read_text())
    # Reliable input, as a bag replay is.
    params["/**/pose_estimator"]["ros__parameters"]["image_reliability"] = "reliable"
    pfile = tmp / f"params_{tag}.yaml"
    pfile.write_text(yaml.safe_dump(params))
    ros = RosSession(f"probe_{tag}")
    sk = ros.collect(SkeletonArray, "/pose/skeletons")
    mk = ros.collect(MarkerArray, "/pose/markers")
    ac = ros.collect(ActionArray, "/pose/actions")
    graph = start(["pose-ros", "run", f"params_file:={pfile}"], tmp / f"graph_{tag}.log")
    rec = play = None
    out = tmp / f"out_{tag}"
    try:
        assert wait_for(lambda: ros.node.count_publishers("/pose/actions") > 0
                        and ros.node.count_publishers("/pose/image_annotated") > 0, 60), \
            (tmp / f"graph_{tag}.log").read_text()[-3000:]
        rec = start(["pose-ros", "bag", "record", str(out), "--topics", *OUT_TOPICS, "--discovery-timeout", "20"],
                    tmp / f"rec_{tag}.log")
        # the recorder subscribes to every output: probe + action_classifier (+ the estimator, which
        # labels its image with the actions) already listen on some of them
        # (and hri_bridge listens to skeletons and actions)
        wanted = {"/pose/skeletons": 4, "/pose/markers": 2, "/pose/actions": 4, "/pose/image_annotated": 1}
        assert wait_for(lambda: all(ros.node.count_subscribers(t) >= n for t, n in wanted.items()), 30), \
            (tmp / f"rec_{tag}.log").read_text()
        # Lock-step: the estimator keeps only the newest frame, so a busy machine would
        # otherwise (correctly) drop some; here every frame must come out.
        play = start(["pose-ros", "bag", "play", str(input_bag), "--rate", "0.5", "--wait-for-subscribers", "20",
                      "--wait-for", "/pose/skeletons"],
                     tmp / f"play_{tag}.log")
        assert play.wait(120) == 0, (tmp / f"play_{tag}.log").read_text()
        assert wait_for(lambda: len(sk) >= N_FRAMES, 30)
        time.sleep(1.0)  # let the last outputs reach the recorder
    finally:
        for proc in (play, rec, graph):
            if proc is not None:
                stop(proc)
        ros.close()
    glog = (tmp / f"graph_{tag}.log").read_text()
    assert "Traceback" not in glog, glog[-3000:]
    return out, sk, mk, ac


@pytest.fixture(scope="module")
def input_bag(person_clip, tmp_path_factory):
    from pose_ros.bag import from_video
    out = tmp_path_factory.mktemp("bags") / "clip_bag"
    assert from_video(person_clip, out, topic="/camera/image_raw", storage="mcap", max_frames=N_FRAMES) == N_FRAMES
    return out


@pytest.mark.timeout(400)
def test_bag_replay_through_the_graph(input_bag, tmp_path):
    meta = info(input_bag)
    assert meta["message_count"] >= N_FRAMES
    in_stamps = [_stamp(m.header) for m in read_topic(input_bag, "/camera/image_raw")]
    assert len(in_stamps) == N_FRAMES

    out1, sk, mk, ac = replay_once(tmp_path, input_bag, "a")
    # the separate node saw all three
    assert len(sk) >= N_FRAMES and mk and ac
    # the recording is a valid rosbag2 bag, read back with rosbags
    rec_info = info(out1)
    assert {"/pose/skeletons", "/pose/markers", "/pose/actions"} <= {t["name"] for t in rec_info["topics"]}
    assert {t["type"] for t in rec_info["topics"]} >= {"pose_ros/msg/SkeletonArray", "pose_ros/msg/ActionArray"}
    skel = read_topic(out1, "/pose/skeletons")
    stamps = [_stamp(m.header) for m in skel]
    assert sorted(stamps) == in_stamps, "every input frame has exactly one SkeletonArray with its stamp"
    tracked = [s for m in skel for s in m.skeletons if s.track_state == 2]
    assert len(tracked) >= N_FRAMES // 2
    assert len({s.id for s in tracked}) == 1, "one person, one stable id"
    markers = read_topic(out1, "/pose/markers")
    assert len(markers) == N_FRAMES
    assert any(m.ns == "joints" and len(m.points) >= 10 for arr in markers for m in arr.markers)
    actions = read_topic(out1, "/pose/actions")
    assert actions and all(_stamp(a.header) in set(in_stamps) for a in actions)
    labelled = [a for arr in actions for a in arr.actions]
    assert labelled and {a.id for a in labelled} <= {s.id for s in tracked}, "actions keyed by tracker ids"

    # determinism: the same bag through a fresh graph gives the same skeletons
    out2, *_ = replay_once(tmp_path, input_bag, "b")
    skel2 = read_topic(out2, "/pose/skeletons")

    def arr(msgs):
        return {_stamp(m.header): np.array([[k.x, k.y, k.score] for s in m.skeletons for k in s.keypoints])
                for m in msgs}
    a1, a2 = arr(skel), arr(skel2)
    assert a1.keys() == a2.keys()
    for k in a1:
        assert a1[k].shape == a2[k].shape and np.allclose(a1[k], a2[k], equal_nan=True, atol=1e-3), k

    # RViz check without RViz: render one frame's markers, compare with the annotated image
    images = {_stamp(m.header): m for m in read_topic(out1, "/pose/image_annotated")}
    frame = next(m for m in reversed(skel) if any(s.track_state == 2 for s in m.skeletons)
                 and _stamp(m.header) in images)
    marr = next(a for a in markers if _stamp(a.markers[0].header) == _stamp(frame.header))
    render_and_compare(marr, frame, images[_stamp(frame.header)], tmp_path)


def render_and_compare(marr, skel_msg, image_msg, tmp) -> None:
    """Project joint markers through the camera model into a PNG; they must sit on the drawn skeleton."""
    from pose_ros.core.pipeline import CameraModel
    w, h = image_msg.width, image_msg.height
    annotated = np.frombuffer(bytes(image_msg.data), np.uint8).reshape(h, w, 3)
    cam = CameraModel.guess(w, h)
    canvas = np.zeros((h, w, 3), np.uint8)
    pts = []
    for m in marr.markers:
        if m.ns != "joints":
            continue
        for p in m.points:
            u, v = cam.fx * p.x / p.z + cam.cx, cam.fy * p.y / p.z + cam.cy
            pts.append((u, v))
            cv2.circle(canvas, (int(round(u)), int(round(v))), 3, (0, 255, 0), -1)
    cv2.imwrite(str(tmp / "markers_rendered.png"), np.maximum(canvas, annotated // 2))
    assert len(pts) >= 8
    person = next(s for s in skel_msg.skeletons if s.track_state == 2)
    kps = np.array([[k.x, k.y] for k in person.keypoints if k.score >= 0.3])
    height = person.y_max - person.y_min
    d = np.array([np.min(np.hypot(*(kps - p).T)) for p in np.array(pts)])
    # BlazePose gives metric body-frame 3D, placed by weak perspective: close, not exact
    assert np.median(d) < 0.1 * height, f"marker joints project onto the skeleton ({np.median(d):.1f} px)"
    assert np.hypot(*(np.mean(pts, axis=0) - kps.mean(axis=0))) < 0.05 * height
    # the annotated image has the person's colour at the keypoints it drew
    from pose_ros.core.draw import id_color
    r, g, b = id_color(person.id)
    near = [np.abs(annotated[max(0, int(v) - 2):int(v) + 3, max(0, int(u) - 2):int(u) + 3].astype(int)
                   - (b, g, r)).sum(axis=2).min() < 60 for u, v in kps]
    assert np.mean(near) > 0.8, "same people, same places as the annotated image"
