"""Boxes whose pose was too weak to follow: skipped for longer each time, forgotten when clear or gone."""
from __future__ import annotations

import numpy as np

from pose_ros.core.detection.weak import FORGET_MISSES, MAX_SKIPS, WEAK_SKIPS, WeakBoxes

POST = np.array([100, 100, 130, 180], np.float32)     # a lamp post the detector keeps proposing
WALKER = np.array([300, 100, 330, 180], np.float32)


def skipped_run(weak: WeakBoxes, box: np.ndarray = POST) -> int:
    """Detections proposing ``box`` until it is allowed again: how many were skipped."""
    n = 0
    while not weak.allowed(box[None])[0]:
        n += 1
        assert n <= MAX_SKIPS
    return n


def test_a_box_weak_again_and_again_waits_longer_up_to_the_cap() -> None:
    weak = WeakBoxes()
    assert weak.allowed(POST[None]).all()
    waits = []
    for _ in range(6):
        weak.weak(POST + 2)              # posed (a little elsewhere) and weak again
        waits.append(skipped_run(weak))
    assert waits == [WEAK_SKIPS, 2 * WEAK_SKIPS, 4 * WEAK_SKIPS, MAX_SKIPS, MAX_SKIPS, MAX_SKIPS]


def test_other_boxes_are_posed_meanwhile() -> None:
    weak = WeakBoxes()
    weak.weak(POST)
    assert weak.allowed(np.stack([POST, WALKER])).tolist() == [False, True]


def test_a_clear_pose_or_a_box_no_longer_proposed_is_forgotten() -> None:
    weak = WeakBoxes()
    weak.weak(POST)
    weak.weak(POST)
    weak.clear_at(POST)                  # someone clear stands there now
    assert len(weak) == 0 and weak.allowed(POST[None]).all()
    weak.weak(POST)
    weak.weak(POST)
    for _ in range(FORGET_MISSES):
        weak.allowed(WALKER[None])       # detections without the post
    assert len(weak) == 0
    weak.weak(POST)
    assert skipped_run(weak) == WEAK_SKIPS, "forgotten: the wait starts over"
