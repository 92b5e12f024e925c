"""Learned actions: synthetic motion, time-driven features, shipped weights, reject, dataset files."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pose_ros.training import synth
from pose_ros.core.actions.learned import (
    ACTION_CLASSES, GRID, LEARNED_CLASSES, N_FEATURES, UNKNOWN, RuleActionClassifier,
    create_action_classifier, default_weights, resample, window_features)
from pose_ros.core.features.pose import TrackWindow
from pose_ros.core.skeleton import NUM_COCO17, Person

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")   # NaN handling must be warning-free


@pytest.fixture(scope="module")
def clf():
    from pose_ros.core.actions.learned import LearnedActionClassifier
    return LearnedActionClassifier()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


# ------------------------------------------------------------------------ synth
def test_synth_labels_match_classifier():
    assert synth.LABELS == LEARNED_CLASSES
    assert set(ACTION_CLASSES) - set(LEARNED_CLASSES) == set()   # the rule classes are all covered


@pytest.mark.parametrize("label", LEARNED_CLASSES + (synth.JUNK,))
def test_generate_shapes_and_conventions(label):
    s, k = synth.generate(label, np.random.default_rng(1), 2.5)
    assert s.ndim == 1 and k.shape == (len(s), NUM_COCO17, 3) and k.dtype == np.float32
    assert len(s) >= 2.5 * 10 * 0.8 and np.all(np.diff(s) > 0)
    dt = np.median(np.diff(s))
    assert 1 / 31 < dt < 1 / 9                                   # 10-30 fps
    missing = k[..., 2] == 0
    assert np.all(np.isnan(k[missing][:, :2])) and np.all(np.isfinite(k[~missing][:, :2]))
    assert np.all((k[..., 2] >= 0) & (k[..., 2] <= 1))


def test_generate_is_deterministic_and_seed_dependent():
    a = synth.generate("walking", np.random.default_rng(5))
    b = synth.generate("walking", np.random.default_rng(5))
    c = synth.generate("walking", np.random.default_rng(6))
    assert _same(a[0], b[0]) and _same(a[1], b[1])
    assert not (len(a[0]) == len(c[0]) and _same(a[1], c[1]))
    d1, d2 = synth.make_dataset(2, seed=3, junk=1), synth.make_dataset(2, seed=3, junk=1)
    assert [x[2] for x in d1] == [x[2] for x in d2] == sorted(
        list(LEARNED_CLASSES) * 2, key=LEARNED_CLASSES.index) + [UNKNOWN]
    assert all(_same(x[1], y[1]) and _same(x[0], y[0]) for x, y in zip(d1, d2))


def test_splits_hold_out_viewpoints_and_heights():
    def inside(yaw):
        return any(lo <= yaw <= hi for lo, hi in synth.HELDOUT_YAW_BANDS)
    for i in range(20):
        tr, te = {}, {}
        synth.generate("standing", np.random.default_rng(i), 1.0, split="train", info=tr)
        synth.generate("standing", np.random.default_rng(i), 1.0, split="test", info=te)
        assert not inside(tr["yaw"]) and inside(te["yaw"])
        h0, h1 = synth.HELDOUT_HEIGHT
        assert not h0 <= tr["body"].height <= h1 and h0 <= te["body"].height <= h1
        e0, e1 = synth.HELDOUT_ELEVATION
        assert not e0 <= tr["elevation"] <= e1 and e0 <= te["elevation"] <= e1


def test_falls_happen_within_the_window():
    """A fall goes from upright to lying: the image height of the body shrinks a lot."""
    for i in range(5):
        s, k = synth.generate("falling", np.random.default_rng(i), 2.5, noise=False, jitter=False)
        h = np.nanmax(k[..., 1], 1) - np.nanmin(k[..., 1], 1)
        w = np.nanmax(k[..., 0], 1) - np.nanmin(k[..., 0], 1)
        assert np.nanmin(h[-3:] / np.maximum(w[-3:], 1)) < 0.8 * (h[0] / max(w[0], 1))


# ------------------------------------------------------------------- features
def test_resample_is_linear_in_time_and_respects_gaps():
    s = np.array([0.0, 0.1, 0.25, 0.3, 1.2, 1.3])
    kp = np.zeros((6, NUM_COCO17, 3))
    kp[..., 0] = 100 + 50 * s[:, None]
    kp[..., 1] = 200 - 20 * s[:, None]
    kp[..., 2] = 0.9
    grid = np.array([0.05, 0.2, 0.6, 1.25, 1.3, 1.45])
    g, v = resample(s, kp, grid, max_gap=0.4)
    assert v[:, 0].tolist() == [True, True, False, True, True, False]
    np.testing.assert_allclose(g[v[:, 0], 0, 0], 100 + 50 * grid[v[:, 0]])
    np.testing.assert_allclose(g[v[:, 0], 0, 1], 200 - 20 * grid[v[:, 0]])


def test_window_features_shape_and_time_offset_invariance():
    s, k = synth.generate("waving", np.random.default_rng(2), 2.5, t0=0.0)
    f0, q = window_features(s, k)
    f1, _ = window_features(s + 12345.678, k)
    assert f0.shape == (N_FEATURES, GRID) and f0.dtype == np.float32
    np.testing.assert_allclose(f0, f1, atol=1e-3)
    assert q["duration"] > 1.8 and q["visible"] > 0.5


def test_same_motion_at_15_and_30_fps_gives_the_same_result(clf):
    diffs, same = [], 0
    for li, label in enumerate(LEARNED_CLASSES):
        out = []
        for fps in (15.0, 30.0):
            s, k = synth.generate(label, np.random.default_rng([11, li]), 2.5, fps=fps, jitter=False,
                                  noise=False)
            f, _ = clf.features(s, k)
            out.append((clf.classify_track(s, k).label, clf.probabilities(f[None])[0]))
        same += out[0][0] == out[1][0]
        diffs.append(np.abs(out[0][1] - out[1][1]).max())
    assert same >= len(LEARNED_CLASSES) - 1
    assert np.median(diffs) < 0.05 and max(diffs) < 0.3


# -------------------------------------------------------------------- weights
def test_default_weights_load_with_weights_only():
    assert default_weights().is_file() and default_weights().stat().st_size < 2 * 1024 * 1024
    ck = torch.load(default_weights(), map_location="cpu", weights_only=True)
    assert tuple(ck["classes"]) == LEARNED_CLASSES and "state_dict" in ck


def test_classifies_fresh_synthetic_tracks(clf):
    right = total = 0
    for li, label in enumerate(LEARNED_CLASSES):
        for i in range(4):
            s, k = synth.generate(label, np.random.default_rng([2024, li, i]), 2.5, split="any")
            right += clf.classify_track(s, k).label == label
            total += 1
    assert right / total >= 0.7


def test_track_window_interface(clf):
    s, k = synth.generate("walking", np.random.default_rng(4), 2.5)
    win = TrackWindow(2.0)
    for t, kp in zip(s, k):
        win.add(t, Person(keypoints=kp, score=0.9))
    r = clf.classify(win, set())
    assert r.label in LEARNED_CLASSES + (UNKNOWN,)
    assert r.class_scores.shape == (len(LEARNED_CLASSES),) and math.isclose(float(r.class_scores.sum()), 1.0,
                                                                            rel_tol=1e-4)
    assert r.window_start == win.start and r.window_end == win.end
    assert isinstance(create_action_classifier("rules"), RuleActionClassifier)
    with pytest.raises(ValueError):
        create_action_classifier("magic")


def _garbage(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = np.arange(60) / 30.0
    k = np.zeros((60, NUM_COCO17, 3))
    k[..., 2] = 0.9
    if kind == "missing":
        k[..., :2], k[..., 2] = np.nan, 0.0
    elif kind == "two_joints":
        k[..., :2] = rng.uniform(0, 400, (60, NUM_COCO17, 2))
        k[:, 2:, :2], k[:, 2:, 2] = np.nan, 0.0
    elif kind == "uniform":
        k[..., :2] = rng.uniform(0, 640, (60, NUM_COCO17, 2))
    elif kind == "one_point":
        k[..., :2] = 300.0
    elif kind == "nan_scored":     # finite scores but NaN coordinates: missing, not a person
        k[..., :2] = np.nan
    elif kind == "short":
        s, k = synth.generate("walking", rng, 2.5)
        s, k = s[-4:], k[-4:]
    elif kind == "single":
        s, k = synth.generate("standing", rng, 2.5)
        s, k = s[-1:], k[-1:]
    return s, k


@pytest.mark.parametrize("kind", ["missing", "two_joints", "uniform", "one_point", "nan_scored", "short",
                                  "single"])
def test_garbage_gives_unknown_with_low_confidence(clf, kind):
    for seed in range(5):
        r = clf.classify_track(*_garbage(kind, np.random.default_rng(seed)))
        assert r.label == UNKNOWN and r.score < 0.5, (kind, seed, r.label, r.score)


def test_static_random_constellations_are_mostly_rejected(clf):
    """A steady cloud of 17 points is the hardest junk (a lying person can look odd too)."""
    labelled = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        xy = rng.uniform(100, 400, (1, NUM_COCO17, 2)) + rng.normal(0, 3, (60, NUM_COCO17, 2))
        k = np.concatenate([xy, np.full((60, NUM_COCO17, 1), 0.8)], -1)
        labelled += clf.classify_track(np.arange(60) / 30.0, k).label != UNKNOWN
    assert labelled <= 4


def test_empty_window_is_unknown(clf):
    r = clf.classify(TrackWindow(2.0), set())
    assert r.label == UNKNOWN and r.score == 0.0


def test_bad_weights_are_refused(tmp_path):
    from pose_ros.core.actions.learned import LearnedActionClassifier
    with pytest.raises(FileNotFoundError, match="pose-ros train"):
        LearnedActionClassifier(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"state_dict": {}, "classes": ["a", "b"], "version": 1}, bad)
    with pytest.raises(ValueError, match="retrain"):
        LearnedActionClassifier(bad)


# ------------------------------------------------------------------ train, dataset
def test_tiny_training_run(tmp_path):
    from pose_ros.core.actions.learned import LearnedActionClassifier
    from pose_ros.training.train import train
    threads = torch.get_num_threads()
    m = train(seed=1, out=tmp_path / "a.pt", n_per_class=2, epochs=1, n_test=1, log=lambda s: None)
    assert torch.get_num_threads() == threads            # settings restored
    assert set(m["per_class"]) == set(LEARNED_CLASSES) and len(m["confusion"]) == len(LEARNED_CLASSES)
    assert LearnedActionClassifier(tmp_path / "a.pt").classes == LEARNED_CLASSES


def test_recordings_round_trip_and_windows(tmp_path):
    from pose_ros.training.dataset import load_recordings, save_recording, track_sequences
    from pose_ros.training.train import recording_windows
    s, k = synth.generate("waving", np.random.default_rng(0), 3.0)
    save_recording(tmp_path / "r" / "a.npz", s, k, "waving", track_id="x1")
    [(s2, k2, lab)] = load_recordings([tmp_path / "r"])
    assert lab == "waving" and _same(s2, s) and _same(k2, k)
    wins = recording_windows(s, k, "waving", step=0.5, min_length=1.0)
    assert len(wins) >= 4 and all(w[0][-1] - w[0][0] <= 2.6 for w in wins)
    # untracked people get ids from a Tracker; two people stay two tracks
    frames = []
    for t, kp in zip(s, k):
        other = kp.copy()
        other[:, 0] += 300
        frames.append((t, [Person(keypoints=kp.copy(), score=0.9), Person(keypoints=other, score=0.9)]))
    seqs = track_sequences(frames)
    assert len(seqs) >= 2 and max(len(v[0]) for v in seqs.values()) > 0.8 * len(s)
    with pytest.raises(ValueError):
        save_recording(tmp_path / "b.npz", s, k[:-1], "waving")
