"""Nearest-stamp depth pairing: depth before or after colour, limits, reasons, settling, threads."""
from __future__ import annotations

import threading

import pytest

from pose_ros.core.imaging.depth_sync import (
    NO_CAMERA_INFO, NO_DEPTH, OFFSET_TOO_LARGE, DepthSync, Pairing,
)

CAM = "K"


def sync_with(*stamps: float, camera=CAM, capacity: int = 16) -> DepthSync:
    s = DepthSync(capacity)
    if camera is not None:
        s.set_camera(camera)
    for t in stamps:
        s.add(t, f"d{t:g}")
    return s


@pytest.mark.parametrize("colour, depth, offset", [
    (10.0, "d9.8", -0.2),    # a depth stamped 0.2 s before wins over one 0.3 s after
    (10.25, "d10.3", 0.05),
    (10.5, "d10.3", -0.2),   # the last one before
    (9.7, "d9.8", 0.1),      # depth stamped after the image
])
def test_nearest_stamp_before_or_after(colour, depth, offset):
    p = sync_with(9.4, 9.8, 10.3).pair(colour, max_offset=0.5)
    assert (p.depth, p.camera, p.reason) == (depth, CAM, None)
    assert p.offset == pytest.approx(offset)


def test_tie_takes_the_earlier_frame():
    assert sync_with(9.9, 10.1).pair(10.0, 0.5).depth == "d9.9"


def test_reasons_and_their_words():
    assert sync_with().pair(1.0, 0.5) == Pairing(None, CAM, None, NO_DEPTH)
    p = sync_with(1.0, camera=None).pair(1.0, 0.5)
    assert (p.depth, p.reason, p.explain(0.5)) == (None, NO_CAMERA_INFO, "no camera info")
    far = sync_with(1.0, 1.62).pair(2.3, 0.5)
    assert (far.depth, far.camera, far.reason) == (None, CAM, OFFSET_TOO_LARGE)
    assert far.offset == pytest.approx(-0.68)
    assert far.explain(0.5) == "nearest depth is 0.680 s before the image, over depth_max_offset (0.5 s)"
    assert "after" in sync_with(3.0).pair(2.0, 0.25).explain(0.25)
    assert sync_with(1.0).pair(1.0, 0.0).reason is None   # same stamp: always paired


def test_buffer_is_bounded_and_restarts_when_stamps_go_back():
    s = sync_with(*[i * 0.1 for i in range(10)], capacity=4)
    assert len(s) == 4
    assert s.pair(0.0, 1.0).depth == "d0.6"    # the oldest kept
    s.add(0.05, "looped")                        # a looped bag / restarted camera
    assert len(s) == 1 and s.pair(0.9, 1.0).depth == "looped"
    s.clear()
    assert s.pair(0.9, 1.0).reason == NO_DEPTH and s.camera == CAM
    with pytest.raises(ValueError):
        DepthSync(0)


def test_settled_once_a_depth_at_or_after_the_image_and_intrinsics_are_there():
    s = sync_with(1.0, camera=None)
    assert not s.settled(1.0)                    # no intrinsics yet
    s.set_camera(CAM)
    assert s.settled(1.0) and not s.settled(1.1)
    s.add(1.2, "d1.2")
    assert s.settled(1.1)
    assert not s.wait_settled(5.0, timeout=0.0)  # nothing to wait for: bounded


def test_wait_settled_returns_when_the_later_depth_arrives():
    s = sync_with(1.0)
    started, done = threading.Event(), []

    def worker():
        started.set()
        done.append(s.wait_settled(1.3, timeout=30.0))
    t = threading.Thread(target=worker)
    t.start()
    assert started.wait(10)
    s.add(1.25, "d1.25")                         # still before the image: keeps waiting
    s.add(1.4, "d1.4")
    t.join(30)
    assert done == [True]
    assert s.pair(1.3, 0.5).depth == "d1.25"     # the nearest, not the one that settled it
