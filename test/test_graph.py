"""video_source -> pose_estimator as separate processes over real DDS, on a real clip."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import CLIP_FRAMES, check_person_in_region
from pose_ros.msg import SkeletonArray
from rosutil import RosSession, start, stop, wait_for


@pytest.mark.timeout(120)
def test_video_source_to_pose_estimator(person_clip, tmp_path):
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    ns = ["-r", "__ns:=/pose", "-r", "image:=/camera/image_raw", "-r", "camera_info:=/camera/camera_info"]
    est = start(["pose_estimator", "--ros-args", *ns, "-p", "image_reliability:=reliable"], tmp_path / "est.log")
    # discovery first: on a busy machine matching takes seconds, and the clip takes one. The
    # DDS match of our reader, not the graph listing the writer (which can come first, the
    # race test_run was fixed for): once matched, every reliable result reaches us.
    assert wait_for(lambda: ros.matched("/pose/skeletons") > 0, 60), (tmp_path / "est.log").read_text()[-2000:]
    src = start(["video_source", "--ros-args", *ns, "-p", f"source:={person_clip}", "-p", "rate:=0.0",
                 "-p", "stamp_source:=media",
                 "-p", "wait_for:=/pose/skeletons", "-p", "wait_timeout:=20.0", "-p", "start_delay:=1.0"],
                tmp_path / "src.log")
    try:
        done = wait_for(lambda: len(got) >= CLIP_FRAMES, 90)
    finally:
        stop(src), stop(est)
        ros.close()
    logs = (tmp_path / "est.log").read_text() + (tmp_path / "src.log").read_text()
    assert done, f"got {len(got)} of {CLIP_FRAMES} results\n{logs[-1500:]}"
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in got]
    expected = [i / 30.0 for i in range(CLIP_FRAMES)]
    assert len(got) == CLIP_FRAMES, "exactly one SkeletonArray per frame"
    assert np.allclose(stamps, expected, atol=1e-6), "stamps are the source frames' media times"
    assert all(m.header.frame_id == "camera" for m in got)
    assert all((m.image_width, m.image_height) == (640, 360) for m in got)
    check_person_in_region(got)
    # undetected keypoints follow the convention: score 0 and NaN coordinates
    for m in got:
        for s in m.skeletons:
            for k in s.keypoints:
                assert k.score > 0 or (math.isnan(k.x) and math.isnan(k.y))
