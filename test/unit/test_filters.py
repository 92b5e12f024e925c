"""One Euro filter and per-track skeleton smoother on synthetic signals."""
from __future__ import annotations

import numpy as np
import pytest

from pose_ros.core.tracking.smoothing import OneEuroFilter, SkeletonSmoother
from pose_ros.core.skeleton import NUM_COCO17, Person, TrackState

FPS = 30.0


def accel(x: np.ndarray) -> np.ndarray:
    """Frame-to-frame second difference magnitude: what a viewer sees as jitter."""
    return np.linalg.norm(np.diff(x, n=2, axis=0).reshape(len(x) - 2, -1), axis=1)


def person(xy: np.ndarray, tid: str = "a", state: TrackState = TrackState.TRACKED,
           score: float = 0.9) -> Person:
    kp = np.zeros((NUM_COCO17, 3), np.float32)
    kp[:, :2] = xy
    kp[:, 2] = score
    return Person(keypoints=kp, score=0.9, track_id=tid, track_state=state)


def test_still_noisy_point_jitter_drops() -> None:
    rng = np.random.default_rng(0)
    raw = 100.0 + rng.normal(0.0, 2.0, (300, 2))
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05, d_cutoff=1.0)
    out = np.array([f(x, k / FPS) for k, x in enumerate(raw)])
    ratio = accel(out[30:]).mean() / accel(raw[30:]).mean()
    assert ratio < 0.25, ratio
    err = np.abs(out[30:] - 100.0)
    assert err.mean() < 1.0 and err.max() < 5.0                # still centred on the truth


def test_moving_point_bounded_lag_and_velocity() -> None:
    speed = 300.0                                               # px/s, a brisk hand
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05, d_cutoff=1.0)
    ts = np.arange(90) / FPS
    out = np.array([f(np.array([50.0 + speed * t]), t) for t in ts])[:, 0]
    lag = (50.0 + speed * ts - out)[30:]
    assert 0.0 < lag.max() < 8.0, lag.max()                     # under ~1 frame of motion
    assert f.derivative[0] == pytest.approx(speed, rel=0.05)
    # A low-beta filter lags much more: beta is what buys responsiveness.
    g = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    slow = np.array([g(np.array([50.0 + speed * t]), t) for t in ts])[:, 0]
    assert (50.0 + speed * ts - slow)[30:].max() > 3 * lag.max()


def test_invalid_samples_are_not_dragged_toward() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    for k in range(10):
        f(np.array([[100.0, 200.0], [10.0, 10.0]]), k / FPS)
    before = f.value
    # Joint 0 jumps to a low-score guess, joint 1 becomes NaN.
    out = f(np.array([[500.0, 900.0], [np.nan, np.nan]]), 10 / FPS, valid=np.array([False, True]))
    np.testing.assert_array_equal(out[0], [500.0, 900.0])       # raw passed through as-is
    assert np.isnan(out[1]).all()
    np.testing.assert_array_equal(f.value, before)              # state untouched
    out = f(np.array([[101.0, 200.0], [10.0, 10.0]]), 11 / FPS)
    assert abs(out[0, 0] - 100.0) < 1.0 and abs(out[0, 1] - 200.0) < 0.5


def test_same_stamp_and_gaps_are_finite() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05, max_gap=0.5)
    a = f(np.array([1.0, 2.0]), 1.0)
    b = f(np.array([5.0, 7.0]), 1.0)                            # dt = 0
    c = f(np.array([5.0, 7.0]), 0.9)                            # dt < 0
    assert np.isfinite(b).all() and np.isfinite(c).all() and np.isfinite(f.derivative).all()
    np.testing.assert_array_equal(a, b)
    d = f(np.array([300.0, 400.0]), 3.0)                        # back after 2 s > max_gap
    np.testing.assert_array_equal(d, [300.0, 400.0])


def test_smoother_resets_on_rebirth_and_new_ids() -> None:
    sm = SkeletonSmoother()
    for k in range(20):
        sm.apply([person(np.array([100.0, 100.0]))], k / FPS)
    # Same id, but the tracker says it is tentative again: a new life, no memory.
    (p,) = sm.apply([person(np.array([400.0, 300.0]), state=TrackState.TENTATIVE)], 20 / FPS)
    np.testing.assert_allclose(p.keypoints[:, :2], np.tile([400.0, 300.0], (17, 1)))
    (q,) = sm.apply([person(np.array([402.0, 300.0]), state=TrackState.TENTATIVE)], 21 / FPS)
    assert 400.0 < q.keypoints[0, 0] < 402.0                    # tentative -> tentative: filtered
    (r,) = sm.apply([person(np.array([600.0, 50.0]), tid="b")], 22 / FPS)
    np.testing.assert_allclose(r.keypoints[:, :2], np.tile([600.0, 50.0], (17, 1)))
    # Without the reset it would have been dragged: check the contrast holds.
    sm2 = SkeletonSmoother()
    for k in range(20):
        sm2.apply([person(np.array([100.0, 100.0]))], k / FPS)
    (s,) = sm2.apply([person(np.array([400.0, 300.0]))], 20 / FPS)
    assert s.keypoints[0, 0] < 390.0


def test_smoother_low_score_velocities_and_bookkeeping() -> None:
    rng = np.random.default_rng(1)
    sm = SkeletonSmoother(min_score=0.3, forget_after=1.0)
    raw_kp = None
    for k in range(60):
        xy = np.array([100.0 + 120.0 * k / FPS, 200.0]) + rng.normal(0, 1.0, (17, 2))
        p = person(xy)
        if k == 59:
            p.keypoints[4, 2] = 0.1                             # a low-score joint
            p.keypoints[5, :2] = np.nan
            p.keypoints[5, 2] = 0.0
            raw_kp = p.keypoints
        (p,) = sm.apply([p], k / FPS, velocities=True)
    assert p.keypoints is not raw_kp and np.isfinite(raw_kp[0]).all()  # input array untouched
    np.testing.assert_array_equal(p.keypoints[4], raw_kp[4])
    assert np.isnan(p.keypoints[5, :2]).all() and np.isnan(p.velocities[4:6]).all()
    v = np.delete(p.velocities, [4, 5], axis=0)
    assert p.velocities.shape == (17, 2)
    assert np.abs(v[:, 0] - 120.0).max() < 30.0 and np.abs(v[:, 1]).max() < 20.0
    untracked = Person(keypoints=np.ones((17, 3), np.float32), score=0.9)
    sm.apply([untracked], 60 / FPS)
    assert untracked.velocities is None and len(sm) == 1
    sm.apply([], 62 / FPS + 1.0)                                # id "a" not seen for > 1 s
    assert len(sm) == 0
    sm.apply([person(np.array([1.0, 1.0]))], 100.0)
    sm.apply([person(np.array([9.0, 9.0]))], 50.0)              # time went backwards: reset
    assert len(sm) == 1
    np.testing.assert_allclose(sm.apply([person(np.array([9.0, 9.0]))], 50.0)[0].keypoints[0, :2], 9.0)


def test_smoother_set_params_checked_atomic_and_live() -> None:
    sm = SkeletonSmoother()
    for k in range(10):
        sm.apply([person(np.array([100.0 + k, 100.0]))], k / FPS)
    for bad in ({"beta": -1.0}, {"min_cutoff": 2.0, "d_cutoff": 0.0}, {"max_gap": float("nan")}):
        with pytest.raises(ValueError):
            sm.set_params(**bad)
        assert (sm.min_cutoff, sm.beta, sm.d_cutoff, sm.max_gap) == (1.0, 0.05, 1.0, 1.0), bad
    with pytest.raises(TypeError):
        sm.set_params(nonsense=1.0)
    sm.set_params(beta=0.5, min_cutoff=3.0)
    f = sm._filters["a"]
    assert (f.beta, f.min_cutoff) == (0.5, 3.0) and len(sm) == 1, "running filters take the constants"
