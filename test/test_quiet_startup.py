"""Start-up shows only pose_ros's own log lines: no native TFLite/absl chatter, no protobuf warning."""
from __future__ import annotations

import os
import time

import cv2
import pytest
from sensor_msgs.msg import Image

from pose_ros.core.detection.quiet import native_stderr_filtered
from pose_ros.msg import SkeletonArray
from pose_ros.nodes.conversions import bgr_to_image_msg
from rosutil import RosSession, start, stop, wait_for

NOISE = ("Created TensorFlow Lite XNNPACK delegate", "absl::InitializeLog", "Feedback manager requires a model",
         "SymbolDatabase.GetPrototype", "W0000", "Warning", "warnings.warn")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["mediapipe", "movenet", "topdown"])
def test_pose_estimator_start_up_is_quiet(backend, person_clip, tmp_path):
    """Load each TFLite/MediaPipe backend with hand signs on, process real frames with a person, read the log."""
    ns = f"/quiet_{backend}"
    ros = RosSession()
    got = ros.collect(SkeletonArray, f"{ns}/skeletons")
    pub = ros.node.create_publisher(Image, f"{ns}/image", 10)
    cap = cv2.VideoCapture(str(person_clip))
    frames = [cap.read()[1] for _ in range(10)]
    cap.release()
    log = tmp_path / "est.log"
    est = start(["pose_estimator", "--ros-args", "-r", f"__ns:={ns}", "-p", f"backend:={backend}",
                 "-p", "hand_signs.enabled:=true", "-p", "image_reliability:=reliable"], log)
    try:
        assert wait_for(lambda: "activate: done" in log.read_text() or est.poll() is not None, 120), log.read_text()
        assert wait_for(lambda: pub.get_subscription_count() > 0, 30)
        for i in range(200):  # until the first people came out (mediapipe warns on its first landmarks)
            pub.publish(bgr_to_image_msg(frames[i % len(frames)], _header(i)))
            time.sleep(0.1)
            if sum(1 for m in got if m.skeletons) >= 3:
                break
    finally:
        code = stop(est)
        ros.close()
    text = log.read_text()
    assert sum(1 for m in got if m.skeletons) >= 3, f"no people found\n{text[-2000:]}"
    assert code == 0, text[-2000:]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert not [ln for ln in lines if any(n in ln for n in NOISE)], text
    assert all(ln.startswith("[INFO]") and f"[{ns[1:]}.pose_estimator]" in ln for ln in lines), text


def _header(i: int):
    from std_msgs.msg import Header
    from builtin_interfaces.msg import Time
    return Header(stamp=Time(sec=100 + i // 10, nanosec=(i % 10) * 100_000_000), frame_id="camera")


def _c_write(text: str) -> None:
    """Write to fd 2 below Python, as native libraries do."""
    os.write(2, text.encode())


def test_filter_drops_known_lines_and_passes_the_rest(capfd):
    with native_stderr_filtered():
        _c_write("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        with native_stderr_filtered():  # nested (topdown builds a MoveNet backend inside)
            _c_write("W0000 00:00:1796208685.485063   27238 inference_feedback_manager.cc:114] Feedback manager "
                     "requires a model with a single signature inference. Disabling support for feedback tensors.\n")
        _c_write("something else went wrong\n")
        _c_write("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    _c_write("after\n")
    assert capfd.readouterr().err == "something else went wrong\nafter\n"


def test_filter_restores_stderr_when_the_block_raises(capfd):
    with pytest.raises(RuntimeError):
        with native_stderr_filtered():
            _c_write("model load failed: reason\n")
            raise RuntimeError("load failed")
    _c_write("still here\n")
    assert capfd.readouterr().err == "model load failed: reason\nstill here\n"
