"""Fuzz tests (hypothesis) of the pure-Python core: tracker, smoother, features, track
windows, gesture rules, action classifiers and hand-sign events.

Inputs are what a broken backend, a looping bag or a careless caller can produce: NaN
and inf coordinates and scores, huge and negative coordinates, empty frames, 1,000
people in one frame, duplicate ids, wrong keypoint counts (mixed in one frame), boxes
that are NaN, inverted or the wrong shape, and stamps that repeat, jump by hours or go
backwards. The only exceptions allowed are the documented ValueErrors; outputs that are
published must be finite where the API promises it (NaN with score 0 is the "not
visible" convention of skeleton.py), ids unique in a frame and never reused.
No ROS import.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from pose_ros.core.actions.rules import ACTION_CLASSES, UNKNOWN, RuleActionClassifier
from pose_ros.core.actions.learned import GRID, LEARNED_CLASSES, N_FEATURES, resample, window_features
from pose_ros.core.features.pose import (
    JOINT_ANGLE_NAMES, body_centres, joint_angle_array, joint_angles, normalize_pose, torso_length,
    visible_mask,
)
from pose_ros.core.tracking.smoothing import OneEuroFilter, SkeletonSmoother
from pose_ros.core.gestures.detector import GESTURE_NAMES, GestureDetector, GestureEvent
from pose_ros.core.tracking.kalman import MAX_DT, cxcywh_to_xyxy, init_state, predict, update, xyxy_to_cxcywh
from pose_ros.core.hands.events import HandSignEvents
from pose_ros.core.skeleton import MAX_COORD, NUM_COCO17, Person, TrackState, keypoint_box, mask_missing
from pose_ros.core.features.window import TrackWindow
from pose_ros.core.tracking.tracker import Tracker

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")   # garbage in, no numpy warnings out

NAN, INF = float("nan"), float("inf")


def fuzz(n: int) -> settings:
    """``n`` cases on the session profile; no "explain" phase (minutes on a failure, no gain here)."""
    return settings(max_examples=n, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


NASTY = [NAN, INF, -INF, 1e308, -1e308, 3.5e38, -3.5e38, 1e30, -1e6, 1e6, 0.0, -0.0, 5e-324, -1.0, 2.0]
KP_COUNTS = [17] * 12 + [0, 1, 16, 18, 33, 34]

nasty = st.one_of(st.sampled_from(NASTY), st.floats(allow_nan=True, allow_infinity=True))
coords = st.one_of(st.floats(-50.0, 1500.0), nasty)
scores = st.one_of(st.floats(0.0, 1.0), nasty)

# Canonical figure: (x offset, height above the feet) per COCO joint, in body heights.
_FIG = np.array([
    (0.0, 0.93), (-0.02, 0.95), (0.02, 0.95), (-0.045, 0.935), (0.045, 0.935),
    (-0.125, 0.80), (0.125, 0.80), (-0.16, 0.62), (0.16, 0.62), (-0.17, 0.47), (0.17, 0.47),
    (-0.09, 0.50), (0.09, 0.50), (-0.09, 0.26), (0.09, 0.26), (-0.09, 0.0), (0.09, 0.0)])


def figure(x: float, y_feet: float, height: float, score: float = 0.9) -> np.ndarray:
    """(17, 3) float64 keypoints of a person standing at (x, y_feet), ``height`` px tall."""
    kp = np.empty((NUM_COCO17, 3))
    kp[:, 0] = x + _FIG[:, 0] * height
    kp[:, 1] = y_feet - _FIG[:, 1] * height
    kp[:, 2] = score
    return kp


@st.composite
def keypoint_arrays(draw, counts=KP_COUNTS):
    """A keypoint array: usually a plausible figure with a few nasty entries, sometimes
    random values, sometimes the wrong number of keypoints (BlazePose 33, 0, 16, 18...)."""
    n = draw(st.sampled_from(counts))
    if n == NUM_COCO17 and draw(st.integers(0, 3)):
        kp = figure(draw(st.floats(-100, 1500)), draw(st.floats(0, 1000)),
                    draw(st.sampled_from([0.0, 1e-9, 5.0, 120.0, 300.0, 700.0])),
                    draw(st.floats(0.0, 1.0)))
    else:
        kp = np.array(draw(st.lists(st.tuples(coords, coords, scores), min_size=n, max_size=n)),
                      dtype=np.float64).reshape(n, 3)
    for _ in range(draw(st.integers(0, 4)) if n else 0):
        kp[draw(st.integers(0, n - 1)), draw(st.integers(0, 2))] = draw(nasty)
    if n and not draw(st.integers(0, 3)):   # occlusion: whole joints unseen, as a backend marks them
        hide = sorted(draw(st.sets(st.integers(0, n - 1), max_size=n)))
        kp[hide, :2], kp[hide, 2] = NAN, 0.0
    return kp


boxes = st.one_of(
    st.none(), st.none(),
    st.tuples(st.floats(-100, 1500), st.floats(-100, 1000), st.floats(0, 800), st.floats(0, 800)).map(
        lambda b: np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], np.float32)),
    st.lists(coords, min_size=4, max_size=4).map(lambda b: np.array(b, np.float64)),
    st.sampled_from([np.zeros(3), np.zeros((2, 2)), np.zeros(0), np.array([5.0, 5, 1, 1])]),
)


@st.composite
def people(draw, max_people: int = 6):
    out = []
    for _ in range(draw(st.integers(0, max_people))):
        out.append(Person(keypoints=draw(keypoint_arrays()), score=draw(st.one_of(scores, st.none())),
                          box=draw(boxes)))
    return out


# stamp steps: a camera period, repeats, tiny and big jumps, going backwards
steps = st.one_of(st.sampled_from([1 / 30, 1 / 30, 1 / 30, 0.1, 0.0, 1e-9, -1e-9, -1.0, 2.0, 7.0,
                                   3 * 3600.0, -3600.0]),
                  st.floats(-10.0, 10.0))
tracker_params = st.fixed_dictionaries({
    "min_hits": st.sampled_from([1, 3]), "low_score": st.sampled_from([0.0, 0.1]),
    "max_age": st.sampled_from([0.0, 1.0]), "reid_window": st.sampled_from([0.0, 3.0]),
})


def _message_convention(kp: np.ndarray, min_score: float = 0.0) -> None:
    """skeleton.py: a joint is finite with score > min_score, or NaN, NaN with score 0."""
    kp = np.asarray(kp)
    assert kp.ndim == 2 and kp.shape[1] == 3, kp.shape
    seen = np.isfinite(kp).all(axis=1) & (kp[:, 2] > min_score)
    hidden = np.isnan(kp[:, :2]).all(axis=1) & (kp[:, 2] == 0)
    assert np.all(seen | hidden), kp


# --------------------------------------------------------------------------- tracker
class TrackerChecker:
    """Runs frames through a Tracker (+ smoother) and checks the invariants after each one."""

    def __init__(self, params: dict) -> None:
        self.tracker = Tracker(**params)
        self.smoother = SkeletonSmoother()
        self.ever: set[str] = set()     # every id handed out
        self.dead: set[str] = set()     # ids whose track is gone: must never come back
        self.live: set[str] = set()
        self.last: float | None = None

    def frame(self, ppl: list[Person], stamp: float) -> list[Person]:
        t = self.tracker
        resets = t.resets
        if not math.isfinite(stamp):
            with pytest.raises(ValueError):
                t.update(ppl, stamp)
            return []
        ids_before = {id(p) for p in ppl}
        out = t.update(ppl, stamp)
        # stamps going backwards or jumping past reset_gap drop every track
        if self.last is not None and not 0.0 <= stamp - self.last <= t.reset_gap:
            assert t.resets == resets + 1
            self.dead |= self.live
            self.live = set()
        self.last = stamp
        assert len(out) <= len(ppl)
        assert len({id(p) for p in out}) == len(out) and {id(p) for p in out} <= ids_before
        ids = [p.track_id for p in out]
        assert all(ids) and len(set(ids)) == len(ids), ids
        assert not set(ids) & self.dead, "an id was reused"
        for p in out:
            assert p.track_state in (TrackState.TENTATIVE, TrackState.TRACKED)
            b = np.asarray(p.box, dtype=np.float64)
            assert b.shape == (4,) and np.isfinite(b).all() and b[0] <= b[2] and b[1] <= b[3], b
        lost_ids = [x.id for x in t._tracks if x.state == TrackState.LOST]   # white box: ids held
        assert t.num_tracks == len(out) + len(lost_ids)
        assert not set(lost_ids) & set(ids) and len(set(lost_ids)) == len(lost_ids)
        live = set(ids) | set(lost_ids)
        self.dead |= self.live - live
        self.live = live
        self.ever |= live
        # the smoother runs on the tracker's output in the pipeline: joints it smooths
        # (score >= min_score, finite) stay finite, all others pass through unchanged
        with np.errstate(over="ignore"):
            raw = [np.array(p.keypoints, dtype=np.float32, copy=True) for p in out]
        assert self.smoother.apply(out, stamp, velocities=True) is out
        for p, r in zip(out, raw):
            kp = np.asarray(p.keypoints)
            assert kp.shape == r.shape
            if r.ndim != 2 or r.shape[1] != 3:
                continue
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(r).all(axis=1) & (r[:, 2] >= self.smoother.min_score)
            assert np.isfinite(kp[ok]).all(), (r, kp)
            assert np.array_equal(kp[~ok], r[~ok], equal_nan=True)
            if p.velocities is not None:
                assert p.velocities.shape == (len(r), 2) and not np.isinf(p.velocities).any()
        return out


@fuzz(300)
@given(frames=st.lists(st.tuples(steps, people()), min_size=1, max_size=8), params=tracker_params,
       start=st.one_of(st.floats(0, 2e9), st.sampled_from([NAN, INF, 0.0, 1e15])))
@example(frames=[(0.0, [Person(keypoints=np.zeros((17, 2)), score=0.9)])], params={}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=figure(100, 400, 300), score=0.9, box=np.zeros(3))])],
         params={}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=figure(1e300, 400, 300), score=0.9)]),
                 (0.1, [Person(keypoints=figure(-1e300, 400, 300), score=0.9)])],
         params={"min_hits": 1}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=figure(100, 400, 1e308), score=0.9)])] * 3,
         params={"min_hits": 1}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=figure(100, 400, 300), score=0.05)])] * 3,
         params={"low_score": 0.0, "min_hits": 1}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=figure(100, 400, 300), score=0.9)]),
                 (0.1, [Person(keypoints=figure(100, 400, 300), score=None)])],
         params={"low_score": 0.0, "min_hits": 1}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=figure(100, 400, 300), score=0.9,
                               box=np.array([500.0, 500, 0, 0]))])] * 2, params={}, start=0.0)
@example(frames=[(0.0, [Person(keypoints=np.array([[NAN, 0, 0]] + [[0, 0, 3.4028236e38]] + [[0, 0, 0]] * 15),
                               score=1.0)]), (1 / 30, [])],
         params={"min_hits": 1, "low_score": 0.0, "max_age": 0.0, "reid_window": 0.0}, start=0.0)
def test_tracker_and_smoother_survive_garbage(frames, params, start):
    chk = TrackerChecker(params)
    stamp = start
    for dt, ppl in frames:
        stamp = stamp + dt
        chk.frame(ppl, stamp)


@fuzz(3)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.sampled_from([300, 1000]),
       nasty_fraction=st.sampled_from([0.0, 0.02, 0.3]), bad_shapes=st.booleans())
@example(seed=1, n=1000, nasty_fraction=0.0, bad_shapes=False)
@example(seed=2, n=1000, nasty_fraction=0.02, bad_shapes=True)
def test_tracker_thousand_people(seed, n, nasty_fraction, bad_shapes):
    """Crowds: up to 1,000 people in one frame, some with nasty values or wrong shapes."""
    rng = np.random.default_rng(seed)
    chk = TrackerChecker({"min_hits": 1})
    pos = rng.uniform([0, 100], [4000, 3000], (n, 2))
    for k in range(3):
        ppl = []
        for i in range(n):
            kp = figure(pos[i, 0], pos[i, 1], rng.uniform(20, 300), rng.uniform(0, 1))
            bad = rng.random(kp.shape) < nasty_fraction
            kp[bad] = rng.choice(NASTY, bad.sum())
            if bad_shapes and i % 50 == 0:
                kp = rng.normal(0, 100, (rng.choice([0, 1, 16, 18, 33]), 3))
            ppl.append(Person(keypoints=kp, score=float(rng.uniform(0, 1))))
        pos += rng.normal(0, 3, pos.shape)
        out = chk.frame(ppl, 10.0 + k / 30)
        if nasty_fraction == 0 and not bad_shapes:
            assert len(out) >= 0.5 * n


@fuzz(100)
@given(frames=st.lists(st.tuples(st.one_of(steps, st.sampled_from([NAN, INF])), st.lists(
           st.tuples(st.sampled_from(["a", "a", "b", ""]), st.sampled_from(list(TrackState)),
                     keypoint_arrays(counts=[17] * 6 + [0, 16, 33])), max_size=4)), max_size=8))
@example(frames=[(0.0, [("a", TrackState.TRACKED, figure(10, 10, 100)),
                        ("a", TrackState.TENTATIVE, figure(1e7, 10, 100))])] * 2)
def test_smoother_duplicate_ids_and_garbage(frames):
    """Several people with one id in a frame (a bad upstream), any state, wrong shapes."""
    sm = SkeletonSmoother()
    t = 0.0
    for dt, rows in frames:
        t += dt
        ppl = [Person(keypoints=kp, score=0.9, track_id=tid, track_state=st_) for tid, st_, kp in rows]
        if not math.isfinite(t):
            with pytest.raises(ValueError):
                sm.apply(ppl, t)
            t = 0.0
            continue
        with np.errstate(over="ignore"):
            raw = [np.array(p.keypoints, dtype=np.float32) for p in ppl]
        assert sm.apply(ppl, t, velocities=True) is ppl
        for p, r in zip(ppl, raw):
            assert np.asarray(p.keypoints).shape == r.shape
            if p.velocities is not None:
                assert not np.isinf(p.velocities).any()
            if r.ndim == 2 and r.shape[1] == 3 and p.track_id:
                ok = np.isfinite(r).all(axis=1) & (np.abs(r[:, :2]) <= MAX_COORD).all(axis=1) & (r[:, 2] >= 0.3)
                assert np.isfinite(p.keypoints[ok]).all()


# -------------------------------------------------------------------------- kalman
in_range = st.floats(-MAX_COORD, MAX_COORD)


@fuzz(200)
@given(z=st.lists(st.tuples(in_range, in_range, in_range, in_range), min_size=1, max_size=4),
       z2=st.lists(st.tuples(in_range, in_range, in_range, in_range), min_size=4, max_size=4),
       dt=st.one_of(st.floats(-1.0, 10.0), st.sampled_from([0.0, 1e-9, 3600.0, MAX_DT])),
       bad_dt=st.sampled_from([NAN, INF, 2 * MAX_DT, 1e300]))
def test_kalman_on_the_tracker_domain(z, z2, dt, bad_dt):
    """On what the tracker feeds it (boxes within MAX_COORD, 0 <= dt <= MAX_DT) the filter
    stays finite and its covariance symmetric; any other dt is a ValueError."""
    x, P = init_state(xyxy_to_cxcywh(np.array(z)))
    with pytest.raises(ValueError):
        predict(x, P, bad_dt)
    with pytest.raises(ValueError):          # the tracker refuses gaps it could not predict over
        Tracker(reset_gap=bad_dt)
    x, P = predict(x, P, dt)
    x, P = update(x, P, xyxy_to_cxcywh(np.array(z2[:len(x)])))
    assert x.shape == (len(z), 8) and P.shape == (len(z), 8, 8)
    assert np.isfinite(x).all() and np.isfinite(P).all()
    np.testing.assert_allclose(P, P.transpose(0, 2, 1), rtol=1e-9, atol=1e-9 * np.abs(P).max())
    assert (x[:, 2:4] >= 1.0).all() and np.isfinite(cxcywh_to_xyxy(x[:, :4])).all()


# ------------------------------------------------------------------------- filters
@fuzz(200)
@given(samples=st.lists(st.tuples(steps, st.lists(coords, min_size=6, max_size=6),
                                  st.lists(st.booleans(), min_size=3, max_size=3)), min_size=1, max_size=10),
       beta=st.sampled_from([0.0, 0.05, 10.0]))
@example(samples=[(1 / 30, [0.0] * 6, [False] * 3), (1 / 30, [0.0] * 6, [False, True, False]),
                  (1 / 30, [0.0, 0.0, 0.0, 1e308, 0.0, 0.0], [False, True, False])], beta=0.0)
@example(samples=[(0.0, [0.0] * 6, [True] * 3), (5e-324, [1e300] * 6, [True] * 3)], beta=10.0)
def test_one_euro_filter(samples, beta):
    f = OneEuroFilter(min_cutoff=1.0, beta=beta, max_gap=1.0)
    t = 0.0
    for dt, x, valid in samples:
        t += dt
        x = np.array(x).reshape(3, 2)
        y = f(x, t, np.array(valid))
        assert y.shape == x.shape
        ok = np.isfinite(x) & np.array(valid)[:, None]
        assert np.array_equal(y[~ok], x[~ok], equal_nan=True), "invalid samples pass through"
        assert np.isfinite(y[ok]).all(), (x, y)


# ------------------------------------------------------------------------ features
@st.composite
def windows(draw, max_len: int = 12, counts=(17,)):
    """(T, K, 3) keypoints and (T,) non-decreasing stamps (with repeats and big jumps)."""
    n = draw(st.integers(0, max_len))
    k = draw(st.sampled_from(counts))
    kps = np.stack([draw(keypoint_arrays(counts=[k])) for _ in range(n)]) if n else np.zeros((0, k, 3))
    if n and draw(st.booleans()):   # joints occluded for the whole window (e.g. the torso)
        hide = sorted(draw(st.sets(st.integers(0, k - 1), max_size=k)))
        kps[:, hide, 2] = draw(st.sampled_from([0.0, 0.1, NAN]))
    t0 = draw(st.floats(0, 2e9))
    dts = draw(st.lists(st.sampled_from([1 / 30, 1 / 30, 0.0, 1e-7, 0.5, 3600.0]), min_size=n, max_size=n))
    return kps, t0 + np.cumsum(dts)


def _angles_ok(a: np.ndarray) -> None:
    a = np.atleast_2d(a)
    assert a.shape[-1] == len(JOINT_ANGLE_NAMES)
    fin = np.isfinite(a)
    assert not np.isinf(a).any()
    assert np.all((a[:, :8][fin[:, :8]] >= 0) & (a[:, :8][fin[:, :8]] <= math.pi + 1e-9))
    assert np.all(np.abs(a[:, 8][fin[:, 8]]) <= math.pi + 1e-9)


@fuzz(400)
@given(w=windows(), min_score=st.sampled_from([0.0, 0.2]))
@example(w=(np.array([figure(1e308, 1e308, 1e308)]), np.array([0.0])), min_score=0.0)
@example(w=(np.array([figure(-3e38, 3e38, 1e30)]), np.array([0.0])), min_score=0.0)
@example(w=(np.array([figure(0, 0, 5e-324)]), np.array([0.0])), min_score=0.0)
@example(w=(np.stack([figure(0, 0, 100), figure(1e300, 0, 100)]), np.array([0.0, 1e-300])), min_score=0.0)
def test_features_are_finite_or_nan(w, min_score):
    kps, stamps = w
    n = len(kps)
    vis = visible_mask(kps, min_score)
    assert vis.shape == (n, NUM_COCO17)
    norm = normalize_pose(kps, min_score=min_score)
    assert norm.shape == kps.shape
    assert not np.isinf(norm).any()
    assert np.isfinite(norm[vis]).all(), "a visible joint normalises to a finite point"
    assert np.isnan(norm[~vis][:, :2]).all() and (norm[~vis][:, 2] == 0).all()
    _angles_ok(joint_angle_array(kps, min_score=min_score))
    sc, hc = body_centres(kps, min_score)
    assert not np.isinf(sc).any() and not np.isinf(hc).any()
    tl = torso_length(kps, min_score)
    assert not np.isinf(tl).any() and np.all(tl[np.isfinite(tl)] > 0)
    for k in kps[:2]:
        ang = joint_angles(k, min_score=min_score)
        assert set(ang) == set(JOINT_ANGLE_NAMES)
        b = keypoint_box(k)
        assert b is None or (np.isfinite(b).all() and b[0] <= b[2] and b[1] <= b[3])
        _message_convention(mask_missing(k))
        _message_convention(mask_missing(k, 0.3), 0.3)


@fuzz(150)
@given(kp=st.one_of(keypoint_arrays(), st.sampled_from(
    [np.zeros((17, 2)), np.zeros(51), np.zeros((2, 17, 3, 1)), np.zeros((0, 17, 3)), np.zeros((3, 17, 4))])))
@example(kp=np.zeros((0, 3)))
@example(kp=np.zeros((17, 2)))
@example(kp=np.zeros(51))
def test_features_wrong_shapes_are_value_errors(kp):
    """(17, 3+) and (T, 17, 3+) work; any other shape is a ValueError, never an IndexError.
    keypoint_box takes (N, 3+) (None otherwise), mask_missing (N, 3)."""
    good = kp.ndim in (2, 3) and kp.shape[-2:][0] == NUM_COCO17 and kp.shape[-1] >= 3
    for fn in (normalize_pose, joint_angle_array, body_centres, torso_length):
        if good:
            fn(kp)
        else:
            with pytest.raises(ValueError):
                fn(kp)
    b = keypoint_box(kp)
    assert b is None or (kp.ndim == 2 and kp.shape[1] >= 3 and b.shape == (4,))
    if kp.ndim == 2 and kp.shape[1] == 3:
        _message_convention(mask_missing(kp))
    else:
        with pytest.raises(ValueError):
            mask_missing(kp)


# --------------------------------------------------------------------- track window
@fuzz(200)
@given(samples=st.lists(st.tuples(st.one_of(steps, st.sampled_from([NAN, INF])),
                                  keypoint_arrays(counts=[17] * 6 + [0, 16, 18, 33])), max_size=15),
       window=st.sampled_from([0.1, 2.0]), max_samples=st.sampled_from([3, 1024]))
@example(samples=[(NAN, figure(0, 0, 100))], window=0.1, max_samples=3)
@example(samples=[(0.0, figure(0, 0, 100)), (-1.0, np.zeros((33, 3)))], window=2.0, max_samples=3)
def test_track_window(samples, window, max_samples):
    w = TrackWindow(window, max_samples=max_samples)
    t = 100.0
    for dt, kp in samples:
        t = t + dt if math.isfinite(t) else 100.0
        before, n_before = w.end, len(w)
        try:
            reset = w.add(t, kp, features=np.array([t, 1.0]))
        except ValueError:
            assert kp.shape != (NUM_COCO17, 3) or not math.isfinite(t)
            assert len(w) == n_before, "a refused sample leaves the window as it was"
            continue
        assert kp.shape == (NUM_COCO17, 3) and math.isfinite(t)
        assert reset == (t < before)
        s = w.stamps
        assert len(w) == len(s) <= max_samples and s[-1] == t
        assert np.all(np.diff(s) >= 0) and s[0] >= t - window - 1e-6
        assert w.keypoints.shape == (len(w), NUM_COCO17, 3) and w.features.shape == (len(w), 2)
        assert 0 <= w.duration <= window + 1e-6


# ------------------------------------------------------------------------- gestures
def _check_events(events: list[GestureEvent], active: dict[tuple[str, str], bool]) -> None:
    for e in events:
        assert e.gesture in GESTURE_NAMES and e.event in (GestureEvent.START, GestureEvent.END)
        assert math.isfinite(e.confidence) and 0.0 <= e.confidence <= 1.0, e
        assert math.isfinite(e.window_start) and math.isfinite(e.window_end), e
        assert e.window_start <= e.window_end, e
        assert not math.isinf(e.direction)
        for r in (e.ray_origin, e.ray_direction):
            assert r is None or np.isfinite(r).all()
        key = (e.track_id, e.gesture)
        if e.event == GestureEvent.START:
            assert not active.get(key), f"double start {key}"
            active[key] = True
        else:
            assert active.get(key), f"end without start {key}"
            active[key] = False


@fuzz(200)
@given(frames=st.lists(st.tuples(st.sampled_from(["a", "b", ""]), st.one_of(steps, st.sampled_from([NAN, INF])),
                                 keypoint_arrays(counts=[17] * 10 + [0, 16, 33]),
                                 st.one_of(st.none(), keypoint_arrays(counts=[17, 17, 0, 33]))),
                       max_size=14),
       min_duration=st.sampled_from([0.0, 0.2]))
@example(frames=[("a", 0.1, figure(320, 400, 300), None), ("a", -1e-9, figure(320, 400, 300), None)],
         min_duration=0.0)   # time going back a hair: the end must not precede the start
@example(frames=[("a", 0.1, figure(320, 400, 300), None), ("a", NAN, figure(320, 400, 300), None)],
         min_duration=0.0)
@example(frames=[("a", 0.1, figure(320, 400, 300), np.zeros(51)), ("a", 0.1, np.zeros((33, 3)), None)],
         min_duration=0.0)
def test_gesture_detector(frames, min_duration):
    det = GestureDetector(min_duration=min_duration, posture_min_duration=min_duration,
                          release_duration=min_duration)
    active: dict[tuple[str, str], bool] = {}
    t = last = 50.0
    for tid, dt, kp, k3 in frames:
        t = t + dt if math.isfinite(t) else 50.0
        person = Person(keypoints=kp, score=0.9, keypoints_3d=k3)
        try:
            ev = det.update(tid, t, person)
        except ValueError:
            assert kp.shape != (NUM_COCO17, 3) or not math.isfinite(t)
            continue
        last = t
        assert kp.shape == (NUM_COCO17, 3) and math.isfinite(t)
        _check_events(ev, active)
        assert det.active(tid) <= set(GESTURE_NAMES)
    for tid in {f[0] for f in frames}:
        _check_events(det.end_track(tid, last + 1.0), active)
    assert not any(active.values()), "end_track ends every active gesture"


@fuzz(150)
@given(frames=st.lists(st.tuples(st.sampled_from(["a", "b"]), steps,
                                 st.dictionaries(st.sampled_from(["left", "right"]),
                                                 st.tuples(st.sampled_from(["thumb_up", "fist", "none", ""]),
                                                           scores), max_size=2)),
                       max_size=20))
@example(frames=[("a", 1 / 30, {"right": ("fist", 1.0)}), ("a", 2.0, {"right": ("fist", 1e308)})])
@example(frames=[("a", 1.0, {"right": ("fist", 1.0)}), ("a", 1.0, {"right": ("fist", 1.0)}),
                 ("a", -0.5, {"right": ("fist", 0.0)}), ("a", 1.0, {})])
def test_hand_sign_events(frames):
    ev = HandSignEvents(min_duration=0.1, release_duration=0.1)
    active: dict[tuple[str, str], bool] = {}
    t = 0.0
    for tid, dt, signs in frames:
        t += dt
        out = ev.update(tid, t, signs)
        for e in out:
            assert e.gesture.startswith("hand_")
            assert math.isfinite(e.confidence) and 0.0 <= e.confidence <= 1.0, e
            assert math.isfinite(e.window_start) and e.window_start <= e.window_end, e
            key = (e.track_id, e.gesture)
            assert active.get(key, False) == (e.event == GestureEvent.END)
            active[key] = e.event == GestureEvent.START
    for tid in ("a", "b"):
        for e in ev.end_track(tid, t):
            assert active.pop((tid, e.gesture)) and e.event == GestureEvent.END


# -------------------------------------------------------------------------- actions
@pytest.fixture(scope="module")
def learned():
    pytest.importorskip("torch")
    from pose_ros.core.actions.learned import LearnedActionClassifier
    return LearnedActionClassifier()


def _result_ok(r, classes) -> None:
    assert r.label in classes or r.label == UNKNOWN
    assert math.isfinite(r.score) and 0.0 <= r.score <= 1.0 + 1e-6
    assert r.class_scores.shape == (len(classes),) and np.isfinite(r.class_scores).all()
    assert abs(float(r.class_scores.sum()) - 1.0) < 1e-3
    assert math.isfinite(r.window_start) and math.isfinite(r.window_end)


@fuzz(200)
@given(w=windows(max_len=40), walk=st.floats(-300, 300), active=st.sets(st.sampled_from(GESTURE_NAMES)))
@example(w=(np.array([np.where(np.arange(51).reshape(17, 3) == 0, INF, figure(0, 0, 100))]), np.array([1 / 30])),
         walk=0.0, active=set())
@example(w=(np.repeat(np.where(np.isin(np.arange(17), [5, 6, 11, 12])[:, None] & (np.arange(3) == 2),
                               0.0, figure(0, 500, 300))[None], 10, axis=0), np.arange(10) / 10),
         walk=0.0, active=set())   # shoulders and hips never seen: no torso in the window
def test_action_classifiers(learned, w, walk, active):
    kps, stamps = w
    kps = kps.copy()
    kps[:, :, 0] += walk * (stamps - (stamps[0] if len(stamps) else 0.0))[:, None]
    f, q = window_features(stamps, kps)
    assert all(math.isfinite(v) for v in q.values()), q
    assert f is None or (f.shape == (N_FEATURES, GRID) and np.isfinite(f).all())
    if len(stamps):
        g, v = resample(stamps, kps, stamps[-1] - np.arange(GRID)[::-1] / 15.0)
        assert g.shape == (GRID, NUM_COCO17, 2) and not np.isinf(g).any()
        assert np.isfinite(g[v]).all()
    win = TrackWindow(2.0)
    for s, k in zip(stamps, kps):
        win.add(s, k)
    _result_ok(RuleActionClassifier().classify(win, active), ACTION_CLASSES)
    _result_ok(learned.classify(win, active), LEARNED_CLASSES)
    _result_ok(learned.classify_track(stamps, kps), LEARNED_CLASSES)
