"""The estimator's frame intake (core/intake.py): keep a waiting frame only while two fit. No ROS."""
from __future__ import annotations

from pose_ros.core.intake import FrameIntake


def _warm(q: FrameIntake, interval: float, work: float, n: int = 20) -> float:
    t = 0.0
    for i in range(n):
        t += interval
        assert q.offer(i, t) == 0
        assert q.take() == i
        q.done(work)
    return t


def test_a_quick_node_keeps_two_frames_that_arrive_together():
    """7 Hz camera, 50 ms a frame: a frame delivered late, right before the next, is not lost."""
    q = FrameIntake()
    t = _warm(q, 1 / 7, 0.05)
    assert q.offer("late", t + 0.2) == 0 and q.offer("next", t + 0.21) == 0
    assert [q.take(), q.take(), q.take()] == ["late", "next", None]


def test_a_node_that_cannot_catch_up_keeps_only_the_newest():
    """30 Hz camera, 25 ms a frame: two frames would not fit in 33 ms, the older goes."""
    q = FrameIntake()
    t = _warm(q, 1 / 30, 0.025)
    assert q.offer("old", t + 0.03) == 0 and q.offer("new", t + 0.04) == 1
    assert [q.take(), q.take()] == ["new", None]


def test_never_more_than_two_wait_and_the_first_frames_are_kept():
    q = FrameIntake()
    assert q.offer(1, 0.0) == 0 and q.offer(2, 0.01) == 0      # nothing measured yet: both stay
    assert q.offer(3, 0.02) == 1 and q.take() == 2
    q = FrameIntake()
    t = _warm(q, 1 / 7, 0.01)
    drops = [q.offer(i, t + 0.001 * i) for i in range(1, 5)]
    assert sum(drops) == 2 and len(q) == 2 and q.take() == 3
    q.clear()
    assert q.take() is None


def test_one_slow_frame_does_not_make_the_node_drop_for_seconds():
    """The first frame took 300 ms (inline detection), the next ones 50 ms at 7 Hz: four frames
    on, two frames delivered together are both kept (an average would still say 2 x 120 ms)."""
    q = FrameIntake()
    q.offer(0, 0.0)
    q.take()
    q.done(0.3)
    t = 0.0
    for i in range(1, 5):
        t += 1 / 7
        q.offer(i, t)
        q.take()
        q.done(0.05)
    assert q.offer("late", t + 0.2) == 0 and q.offer("next", t + 0.21) == 0
