"""Test session set-up: an own ROS domain, localhost-only discovery, shared fixtures.

The domain id is set before anything imports rclpy, and every subprocess the tests
start inherits it, so parallel test runs on one machine never hear each other.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

if "POSE_ROS_TEST_DOMAIN" not in os.environ:
    os.environ["POSE_ROS_TEST_DOMAIN"] = str(101 + os.getpid() % 100)
os.environ["ROS_DOMAIN_ID"] = os.environ["POSE_ROS_TEST_DOMAIN"]
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.pop("ROS_LOCALHOST_ONLY", None)
os.environ.setdefault("PYTHONUNBUFFERED", "1")

sys.path.insert(0, str(Path(__file__).parent))

# Fuzz tests (hypothesis): no example database in the tree, no per-example deadline
# (the machine is shared and slow at times); CI runs a fixed, repeatable set of cases.
from hypothesis import HealthCheck, settings

settings.register_profile("pose_ros", database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("pose_ros"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "pose_ros")

# The first frames of the demo video: the jumping-jacks person stands on the box,
# inside this normalised region (x0, y0, x1, y1) of the image.
CLIP_FRAMES = 30
CLIP_WIDTH = 640
CLIP_PERSON_REGION = (0.25, 0.0, 0.47, 0.52)


def _kp(skel) -> np.ndarray:
    return np.array([(k.x, k.y, k.score) for k in skel.keypoints], dtype=np.float64)


def check_person_in_region(msgs: list, region=CLIP_PERSON_REGION, min_fraction: float = 0.8) -> None:
    """Most frames have one person whose confident keypoints lie inside ``region``."""
    inside = 0
    for m in msgs:
        for s in m.skeletons:
            assert len(s.keypoints) == 17 and s.format == 0
            kp = _kp(s)
            ok = kp[:, 2] > 0.5
            if ok.sum() < 8:
                continue
            x = kp[ok, 0] / m.image_width
            y = kp[ok, 1] / m.image_height
            if ((x >= region[0]) & (x <= region[2]) & (y >= region[1]) & (y <= region[3])).mean() >= 0.9:
                inside += 1
                break
    assert inside >= min_fraction * len(msgs), f"person found in the expected place in {inside}/{len(msgs)} frames"


def read_demo_rgb(index: int):
    """Frame ``index`` of the cached demo video as RGB; skips the test when it is not cached."""
    import cv2

    from pose_ros.training.demo_media import cached_demo_video
    path = cached_demo_video()
    if path is None:
        pytest.skip("demo video not cached; run `make setup` (python -m pose_ros.training.demo_media)")
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    cap.release()
    assert ok, f"cannot read frame {index} of {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def demo_video() -> Path:
    from pose_ros.training.demo_media import demo_video_path
    return demo_video_path(download=False)


@pytest.fixture(scope="session")
def person_clip(demo_video: Path, tmp_path_factory) -> Path:
    """A short 640-wide clip of a real person (first frames of the demo video)."""
    import cv2
    out = tmp_path_factory.mktemp("clip") / "person.avi"
    cap = cv2.VideoCapture(str(demo_video))
    writer = None
    for _ in range(CLIP_FRAMES):
        ok, frame = cap.read()
        assert ok, "demo video unreadable"
        h = round(frame.shape[0] * CLIP_WIDTH / frame.shape[1])
        frame = cv2.resize(frame, (CLIP_WIDTH, h), interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (CLIP_WIDTH, h))
        writer.write(frame)
    writer.release()
    cap.release()
    return out
