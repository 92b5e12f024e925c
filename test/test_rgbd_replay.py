"""An RGB-D camera whose depth is stamped apart from colour, replayed lock-step into the graph.

Real frames (the demo clip), a synthesised 32FC1 depth image per depth frame (a flat
scene at a different distance each, so the 3D says which depth frame a colour frame was
paired with), CameraInfo that starts after the first colour frame, all written to a bag
in the order a driver delivers them; then `pose-ros run ... depth_topic:=...` and
`pose-ros bag play --wait-for /pose/skeletons`, real DDS and the default models.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray

from pose_ros.bag.common import DEFAULT_QOS, open_writer, stamp_ns, typestore
from pose_ros.msg import Skeleton, SkeletonArray
from pose_ros.paths import config_file
from rosutil import RosSession, start, stop, wait_for

N_COLOUR = 22
T0 = 100.0
COLOUR_DT = 0.1
# One depth frame with every 5th colour frame, stamped this far from it (before or after),
# as a driver that does not synchronise depth with colour does; stamps still increase.
DEPTH_OFFSETS = (0.2, -0.15, 0.3, -0.1, 0.25)
DEPTH_Z = (1.5, 2.0, 2.5, 3.0, 3.5)   # metres: depth frame j is a flat scene at DEPTH_Z[j]
FX = FY = 500.0


def colour_stamps() -> list[float]:
    return [T0 + i * COLOUR_DT for i in range(N_COLOUR)]


def depth_stamps() -> list[float]:
    return [T0 + 5 * j * COLOUR_DT + off for j, off in enumerate(DEPTH_OFFSETS)]


def expected_depth(t: float) -> int:
    """Index of the depth frame nearest in stamp time (the earlier on a tie)."""
    d = np.array(depth_stamps())
    return int(np.argmin(np.round(np.abs(d - t), 6)))


def write_rgbd_bag(clip, out) -> tuple[int, int]:
    """The bag, in arrival order: colour i, then (every 5th) its depth frame, then CameraInfo i."""
    cap = cv2.VideoCapture(str(clip))
    frames = [cap.read()[1] for _ in range(N_COLOUR)]
    cap.release()
    h, w = frames[0].shape[:2]
    store = typestore()
    T = store.types
    Time, Header = T["builtin_interfaces/msg/Time"], T["std_msgs/msg/Header"]
    Image, Info = T["sensor_msgs/msg/Image"], T["sensor_msgs/msg/CameraInfo"]
    Roi = T["sensor_msgs/msg/RegionOfInterest"]

    def header(t: float):
        ns = stamp_ns(t)
        return Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="head_camera_rgb_optical_frame")

    f64 = np.float64
    writer = open_writer(out, "mcap")
    try:
        conns = {topic: writer.add_connection(topic, cls.__msgtype__, typestore=store,
                                              offered_qos_profiles=[DEFAULT_QOS])
                 for topic, cls in (("/camera/image_raw", Image), ("/camera/depth", Image),
                                    ("/camera/camera_info", Info))}

        def write(topic: str, log_t: float, msg) -> None:
            writer.write(conns[topic], stamp_ns(log_t), store.serialize_cdr(msg, msg.__msgtype__))

        for i, (t, bgr) in enumerate(zip(colour_stamps(), frames)):
            write("/camera/image_raw", t + 0.010, Image(header=header(t), height=h, width=w, encoding="bgr8",
                                                        is_bigendian=0, step=w * 3, data=bgr.reshape(-1)))
            if i % 5 == 0:
                j = i // 5
                depth = np.full((h, w), DEPTH_Z[j], np.float32)
                depth[:, :4] = np.nan   # a driver's invalid border
                write("/camera/depth", t + 0.012, Image(
                    header=header(depth_stamps()[j]), height=h, width=w, encoding="32FC1", is_bigendian=0,
                    step=w * 4, data=depth.view(np.uint8).reshape(-1)))
            write("/camera/camera_info", t + 0.014, Info(
                header=header(t), height=h, width=w, distortion_model="plumb_bob", d=np.zeros(5, f64),
                k=np.array([FX, 0, w / 2, 0, FY, h / 2, 0, 0, 1], f64), r=np.eye(3, dtype=f64).reshape(-1),
                p=np.array([FX, 0, w / 2, 0, 0, FY, h / 2, 0, 0, 0, 1, 0], f64), binning_x=0, binning_y=0,
                roi=Roi(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)))
    finally:
        writer.close()
    return w, h


def _values(diags: list) -> dict[str, str]:
    """The key/values of pose_estimator's latest status on /diagnostics."""
    status = [s for a in diags for s in a.status if s.name.endswith("/pose_estimator")]
    return {kv.key: kv.value for kv in status[-1].values} if status else {}


@pytest.mark.timeout(300)
def test_depth_stamped_apart_from_colour_gives_3d_in_lock_step(person_clip, tmp_path):
    bag = tmp_path / "rgbd"
    w, h = write_rgbd_bag(person_clip, bag)
    params = yaml.safe_load(config_file().read_text())
    params["/**/pose_estimator"]["ros__parameters"]["image_reliability"] = "reliable"   # as a bag replay is
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(params))
    ros = RosSession("probe_rgbd")
    out = ros.collect(SkeletonArray, "/pose/skeletons")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    glog, plog = tmp_path / "graph.log", tmp_path / "play.log"
    graph = start(["pose-ros", "run", f"params_file:={pfile}", "camera_topic:=/camera/image_raw",
                   "depth_topic:=/camera/depth", "actions:=false"], glog)
    play = None
    try:
        assert wait_for(lambda: ros.node.count_publishers("/pose/skeletons") > 0
                        and ros.node.count_subscribers("/camera/depth") > 0, 60), glog.read_text()[-3000:]
        play = start(["pose-ros", "bag", "play", str(bag), "--wait-for-subscribers", "20",
                      "--wait-for", "/pose/skeletons"], plog)
        assert play.wait(120) == 0, plog.read_text()
        assert wait_for(lambda: len(out) >= N_COLOUR, 30), glog.read_text()[-3000:]
        # /diagnostics (about 1 Hz) counts every frame: one without 3D, for want of CameraInfo
        assert wait_for(lambda: _values(diags).get("frames with 3D") == str(N_COLOUR - 1), 15), _values(diags)
        diag = _values(diags)
        assert diag["frames without 3D: no camera info"] == "1", diag
        assert diag["frames without 3D: no depth"] == diag["frames without 3D: depth offset too large"] == "0"
    finally:
        for proc in (play, graph):
            if proc is not None:
                stop(proc)
        ros.close()
    assert "Traceback" not in glog.read_text(), glog.read_text()[-3000:]
    played = plog.read_text()
    assert "no result for stamp" not in played, "lock-step waits only on the colour images"
    assert "/camera/depth: 5" in played and "/camera/image_raw: 22" in played, played

    by_stamp = {m.header.stamp.sec + m.header.stamp.nanosec * 1e-9: m for m in out}
    assert len(by_stamp) == N_COLOUR
    pairs = {i: expected_depth(t) for i, t in enumerate(colour_stamps())}
    assert {round(depth_stamps()[j] - colour_stamps()[i], 2) for i, j in pairs.items()} >= {0.3, -0.2}, \
        "some frames pair with depth stamped after them, some before"
    with_3d = 0
    for i, t in enumerate(colour_stamps()):
        m = min(by_stamp.items(), key=lambda kv: abs(kv[0] - t))[1]
        assert m.header.frame_id == "head_camera_rgb_optical_frame"
        for s in m.skeletons:
            if i == 0:   # before the first CameraInfo
                assert s.frame_3d == Skeleton.FRAME_3D_NONE and not s.keypoints_3d
                continue
            assert s.frame_3d == Skeleton.FRAME_3D_CAMERA
            kp = np.array([(k.x, k.y, k.score) for k in s.keypoints])
            p3 = np.array([(p.x, p.y, p.z) for p in s.keypoints_3d])
            ok = np.isfinite(p3[:, 2])
            assert ok.sum() >= 5, (i, p3)
            z = DEPTH_Z[pairs[i]]
            assert np.allclose(p3[ok, 2], z, atol=1e-4), (i, pairs[i], p3[ok, 2])   # the nearest depth frame
            assert np.allclose(p3[ok, 0], (kp[ok, 0] - w / 2) / FX * z, atol=0.02 * z)
            assert np.allclose(p3[ok, 1], (kp[ok, 1] - h / 2) / FY * z, atol=0.02 * z)
            with_3d += 1
    assert with_3d >= N_COLOUR - 4, "the person has 3D in (nearly) every frame"
