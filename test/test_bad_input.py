"""Bad input never kills a node: clear errors, exit code 2 for a missing video."""
from __future__ import annotations

import subprocess
from array import array

import numpy as np
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import Image

from pose_ros.msg import SkeletonArray
from rosutil import VENV_BIN, RosSession, start, stop, wait_for


@pytest.mark.parametrize("cmd", [
    [str(VENV_BIN / "video_source"), "--ros-args", "-p", "source:=/nonexistent/clip.mp4"],
    [str(VENV_BIN / "pose-ros"), "run", "video:=/nonexistent/clip.mp4", "actions:=false"],
])
def test_missing_video_exits_2(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "does not exist" in out and "/nonexistent/clip.mp4" in out
    assert "Traceback" not in out


def test_unreadable_video_exits_2(tmp_path):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    res = subprocess.run([str(VENV_BIN / "video_source"), "--ros-args", "-p", f"source:={bad}"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "cannot read video" in res.stdout + res.stderr


def _image(encoding: str, w: int, h: int, step: int, data: bytes, sec: int) -> Image:
    msg = Image(encoding=encoding, width=w, height=h, step=step, data=array("B", data))
    msg.header.stamp.sec = sec
    msg.header.frame_id = "cam"
    return msg


@pytest.mark.timeout(120)
def test_estimator_survives_bad_images(tmp_path, person_clip):
    """Unsupported encoding, truncated data and garbage are logged and skipped; good frames still work."""
    import cv2
    cap = cv2.VideoCapture(str(person_clip))
    ok, bgr = cap.read()
    assert ok
    h, w = bgr.shape[:2]
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
    pub = ros.node.create_publisher(Image, "/camera/image_raw", qos)
    est = start(["pose_estimator", "--ros-args", "-r", "__ns:=/pose", "-r", "image:=/camera/image_raw",
                 "-p", "image_reliability:=reliable"], tmp_path / "est.log")
    def skipped() -> int:
        return (tmp_path / "est.log").read_text().count("image skipped")

    try:
        assert wait_for(lambda: pub.get_subscription_count() > 0 and
                        ros.node.count_publishers("/pose/skeletons") > 0, 30)
        bad = [
            _image("32FC1", w, h, w * 4, bytes(w * h * 4), 1),          # unsupported encoding
            _image("bgr8", w, h, w * 3, bgr.tobytes()[: w * 3 * 10], 2),  # truncated
            _image("bgr8", 0, 0, 0, b"", 3),                                # empty
            _image("rgb8", w, h, w * 2, bytes(w * h * 2), 4),            # step too small
        ]
        for i, msg in enumerate(bad):
            pub.publish(msg)
            # each kind of problem is logged (once per period), then the node goes on
            assert wait_for(lambda: skipped() >= i + 1, 10), (tmp_path / "est.log").read_text()[-2000:]
            ok_msg = _image("bgr8", w, h, w * 3, np.ascontiguousarray(bgr).tobytes(), 10 + i)
            pub.publish(ok_msg)
            assert wait_for(lambda: any(m.header.stamp.sec == 10 + i for m in got), 30), \
                (tmp_path / "est.log").read_text()[-2000:]
        assert est.poll() is None, "pose_estimator died"
    finally:
        stop(est)
        ros.close()
    log = (tmp_path / "est.log").read_text()
    assert "unsupported image encoding '32FC1'" in log and "truncated" in log and "zero or negative size" in log
    assert not any(m.header.stamp.sec in (1, 2, 3, 4) for m in got), "bad frames produce no output"
    assert "Traceback" not in log
