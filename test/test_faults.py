"""Faults a robot meets: the camera stops and comes back; a bag loops and time jumps back.

Real processes and real DDS. The estimator must resume on its own (same process) and
say on /diagnostics that there was a gap; after a loop the tracker and the classifier
start over with new ids and never mix the old tracks into the new pass.
"""
from __future__ import annotations

from array import array

import cv2
import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import Image

from pose_ros.msg import ActionArray, SkeletonArray
from pose_ros.paths import config_file
from rosutil import RosSession, start, stop, wait_for

LOOP_FRAMES = 16


def _first_frame(clip) -> np.ndarray:
    cap = cv2.VideoCapture(str(clip))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    return np.ascontiguousarray(bgr)


def _image(bgr: np.ndarray, sec: int) -> Image:
    h, w = bgr.shape[:2]
    msg = Image(encoding="bgr8", width=w, height=h, step=w * 3, data=array("B", bgr.tobytes()))
    msg.header.stamp.sec = sec
    msg.header.frame_id = "camera"
    return msg


def _status(diags: list, name: str):
    """The newest DiagnosticStatus of node ``name``, or None."""
    for arr in reversed(diags):
        for s in arr.status:
            if s.name == name:
                return s
    return None


def _all_values(diags: list, name: str, key: str) -> list[int]:
    return [int(kv.value) for a in diags for s in a.status if s.name == name for kv in s.values if kv.key == key]


def _value(status, key: str) -> str | None:
    return next((kv.value for kv in status.values if kv.key == key), None) if status else None


@pytest.mark.timeout(150)
def test_camera_stops_and_comes_back(tmp_path, person_clip):
    """No restart needed; /diagnostics warns during the gap and remembers it afterwards."""
    bgr = _first_frame(person_clip)
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.node.create_publisher(Image, "/camera/image_raw",
                                    QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
    log = tmp_path / "est.log"
    est = start(["pose_estimator", "--ros-args", "-r", "__ns:=/pose", "-r", "image:=/camera/image_raw",
                 "-p", "image_reliability:=reliable", "-p", "diag.no_input_timeout:=1.0"], log)
    name = "/pose/pose_estimator"
    try:
        assert wait_for(lambda: pub.get_subscription_count() > 0
                        and ros.node.count_publishers("/pose/skeletons") > 0, 60), log.read_text()[-2000:]

        def send(sec: int) -> None:
            pub.publish(_image(bgr, sec))  # the current publisher (replaced below)
            assert wait_for(lambda: any(m.header.stamp.sec == sec for m in got), 30), log.read_text()[-2000:]

        for sec in range(1, 4):
            send(sec)
        # The camera driver goes away (its writer is destroyed): the node says so while it is quiet ...
        ros.node.destroy_publisher(pub)
        mark = len(diags)
        assert wait_for(lambda: any(s.name == name and s.level == s.WARN and "no input images" in s.message
                                    for a in diags[mark:] for s in a.status), 15), \
            [(s.name, s.level, s.message) for a in diags[-3:] for s in a.status]
        # ... and resumes by itself, in the same process, when frames come back.
        pid = est.pid
        pub = ros.node.create_publisher(Image, "/camera/image_raw",
                                        QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        assert wait_for(lambda: pub.get_subscription_count() > 0, 30)
        for sec in range(10, 13):
            send(sec)
        assert est.poll() is None and est.pid == pid
        mark = len(diags)
        assert wait_for(lambda: _value(_status(diags[mark:], name), "input gaps") == "1", 10), \
            [(kv.key, kv.value) for kv in (_status(diags, name).values if _status(diags, name) else [])]
        status = _status(diags[mark:], name)
        assert float(_value(status, "last input gap s")) >= 1.0
        assert status.level == status.OK, status.message
        assert _value(status, "lost in transport") == "0"  # reliable: nothing lost, the new writer restarts at 1
        assert "images again after" in log.read_text()
    finally:
        stop(est)
        ros.close()
    assert "Traceback" not in log.read_text()


@pytest.mark.timeout(240)
def test_bag_loop_resets_tracker_and_classifier(tmp_path, person_clip):
    """A looping bag: stamps jump back, every node starts over, no id survives the jump."""
    from pose_ros.bag import from_video
    bag = tmp_path / "clip"
    assert from_video(person_clip, bag, topic="/camera/image_raw", storage="mcap",
                      max_frames=LOOP_FRAMES) == LOOP_FRAMES
    params = yaml.safe_load(config_file().read_text())
    params["/**/pose_estimator"]["ros__parameters"]["image_reliability"] = "reliable"
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(params))

    ros = RosSession()
    sk = ros.collect(SkeletonArray, "/pose/skeletons")
    ac = ros.collect(ActionArray, "/pose/actions")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    glog, plog = tmp_path / "graph.log", tmp_path / "play.log"
    graph = start(["pose-ros", "run", f"params_file:={pfile}"], glog)
    play = None
    try:
        assert wait_for(lambda: ros.node.count_publishers("/pose/actions") > 0, 60), glog.read_text()[-3000:]
        play = start(["pose-ros", "bag", "play", str(bag), "--loop", "--rate", "0", "--wait-for-subscribers", "20",
                      "--wait-for", "/pose/skeletons"], plog)
        # two passes and a bit of the third
        assert wait_for(lambda: len(sk) >= 2 * LOOP_FRAMES + 4, 150), plog.read_text()[-2000:]
        # Both nodes count the resets on /diagnostics (published at 1 Hz).
        for node, key in (("/pose/action_classifier", "stamp resets"), ("/pose/pose_estimator", "tracker resets")):
            assert wait_for(lambda: max(_all_values(diags, node, key), default=0) >= 1, 10), (node, key)
    finally:
        if play is not None:
            stop(play)
        stop(graph)
    try:
        stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in sk]
        jumps = [i for i in range(1, len(stamps)) if stamps[i] < stamps[i - 1]]
        assert len(jumps) >= 2, stamps
        passes = [sk[a:b] for a, b in zip([0, *jumps], [*jumps, len(sk)])]
        ids = [{s.id for m in p for s in m.skeletons} for p in passes]
        assert all(ids[:2]), "the person was not tracked in every pass"
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                assert not ids[a] & ids[b], f"track ids survived a loop: {ids[a] & ids[b]}"
        # The classifier starts over too: no action message mixes people of two passes,
        # and the people of a later pass get actions of their own.
        assert ac, "no actions"
        for m in ac:
            got_ids = {a.id for a in m.actions}
            assert not got_ids or any(got_ids <= p for p in ids), f"old and new tracks mixed: {got_ids}"
        assert any({a.id for a in m.actions} & ids[1] for m in ac), "no actions for the second pass"
        text = glog.read_text()
        assert "Traceback" not in text and "bag loop" in text
    finally:
        ros.close()


def test_stamps_never_step_back_when_seconds_accumulate():
    """A looping video adds float offsets: 61.99999999999999 s must become 62.000, not 61.000."""
    from pose_ros.nodes.conversions import sec_to_stamp, stamp_to_sec
    t, prev = 0.0, -1.0
    for _ in range(30 * 600):  # ten minutes of 30 Hz frames, summed the way video_source loops
        t += 1.0 / 30.0
        s = stamp_to_sec(sec_to_stamp(t))
        assert s > prev and abs(s - t) < 1e-6, (t, s)
        prev = s
    assert (sec_to_stamp(61.99999999999999).sec, sec_to_stamp(61.99999999999999).nanosec) == (62, 0)


def test_frames_lost_in_transport_are_counted_from_sequence_numbers():
    from pose_ros.nodes.estimator_health import EstimatorHealth
    h = EstimatorHealth(node=None)
    for seq in (1, 2, 3, 7, 8, 9, None, 12):   # 4-6 and 10-11 never arrived
        h.sequence(seq)
    assert h.lost_in_transport == 5
    for seq in (1, 2, 4):                       # a restarted camera driver counts from 1 again
        h.sequence(seq)
    assert h.lost_in_transport == 6
