"""ActionStage: the action_classifier's per-frame loop as one core object.

The golden test feeds the synthetic tracks the old node loop was recorded on
(test/unit/data/action_stage_golden.json, written by the loop before ActionStage
existed) and requires the same gesture events, joint angles and action labels (action
scores come from weights `make setup` trains, which differ a little between CPUs).
"""
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from pose_ros.core.actions import ActionStage
from pose_ros.core.features import TrackWindow
from pose_ros.core.skeleton import Person
from pose_ros.training.synth import LABELS, generate

GOLDEN = Path(__file__).parent / "data" / "action_stage_golden.json"


def frames():
    """Twenty-two synthetic tracks (every label twice), interleaved by stamp, as recorded."""
    rng = np.random.default_rng(7)
    tracks = []
    for k, lab in enumerate(LABELS * 2):
        t, kp = generate(lab, rng, duration=3.0, fps=15, t0=100.0 + 0.7 * k, split="test")
        tracks.append((f"t{k}", t, kp))
    by: dict[float, list] = {}
    for s, tid, i in sorted((float(s), tid, i) for tid, t, kp in tracks for i, s in enumerate(t)):
        by.setdefault(round(s, 4), []).append((tid, i))
    kps = {tid: kp for tid, t, kp in tracks}
    for s in sorted(by):
        yield s, [(tid, Person(keypoints=kps[tid][i].astype(np.float32), box=np.array([0, 0, 100, 200], np.float32),
                               score=0.9, track_id=tid)) for tid, i in by[s]]


def stream(stage: ActionStage) -> list:
    """The stage's outputs in the recorded row format (rounded as recorded)."""
    out = []
    for stamp, people in frames():
        r = stage.update(stamp, people)
        for tid, a in r.angles:
            out.append(["angles", stamp, tid, [None if not np.isfinite(v) else round(float(v), 5) for v in a.ravel()]])
        for e in r.reset_events + r.events:
            out.append(["gesture", stamp, e.track_id, e.gesture, e.event, round(float(e.confidence), 5),
                        round(float(e.window_start), 4)])
        for tid, res in r.actions or []:
            out.append(["action", stamp, tid, res.label, round(float(res.score), 5),
                        [round(float(v), 5) for v in res.class_scores]])
    return out


def test_streams_match_the_old_node_loop() -> None:
    golden = json.loads(GOLDEN.read_text())
    out = stream(ActionStage(window=2.0, track_timeout=1.0, rate=5.0, min_keypoint_score=0.2))
    assert {k: sum(1 for o in out if o[0] == k) for k in golden["counts"]} == golden["counts"]
    assert [o for o in out if o[0] == "gesture"] == golden["gestures"]
    for i, row in golden["spots"].items():
        if row[0] == "action":   # scores: of weights trained on this machine's CPU (see the golden's "about")
            assert out[int(i)][:4] == row[:4], f"row {i}"
            assert len(out[int(i)][5]) == len(row[5]) and math.isclose(sum(out[int(i)][5]), 1.0, abs_tol=1e-3)
        else:
            assert out[int(i)] == row, f"row {i}"
    model_free = [o[:3] if o[0] == "action" else o for o in out]
    assert hashlib.sha256(json.dumps(model_free).encode()).hexdigest() == golden["sha256_model_free"]


def test_time_going_back_ends_everything_and_counts() -> None:
    stage = ActionStage(model="rules")
    people = list(frames())
    for stamp, ppl in people[:200]:
        stage.update(stamp, ppl)
    assert stage.windows and stage.resets == 0
    active = {tid: stage.detector.active(tid) for tid in stage.windows}
    r = stage.update(people[0][0], people[0][1])
    assert r.reset and r.resets == stage.resets == 1
    ended = {(e.track_id, e.gesture) for e in r.reset_events}
    assert ended == {(t, g) for t, gs in active.items() for g in gs} and all(e.event == "end" for e in r.reset_events)
    assert set(stage.windows) == {tid for tid, _ in people[0][1]}   # only this frame's tracks remain
    assert r.actions is not None, "the rate gate starts over too"


def test_one_window_per_track_shared_with_the_detector() -> None:
    stage = ActionStage(model="rules")
    for stamp, ppl in list(frames())[:30]:
        stage.update(stamp, ppl)
    tid = next(iter(stage.windows))
    assert stage.detector._tracks[tid].window is stage.windows[tid]


def test_shorter_classifier_window_sees_only_its_tail() -> None:
    win = TrackWindow(2.0)
    kp = np.zeros((17, 3))
    for k in range(31):
        win.add(10.0 + k / 15, kp)
    short = TrackWindow(0.5)
    for k in range(31):
        short.add(10.0 + k / 15, kp)
    tail = win.tail(0.5)
    np.testing.assert_array_equal(tail.stamps, short.stamps)
    assert win.tail(5.0) is win


def test_set_params_is_checked_and_atomic() -> None:
    stage = ActionStage(model="rules")
    before = (stage.window, stage.track_timeout, stage.rate, stage.min_keypoint_score, stage.detector.params)
    for bad in ({"rate": 0.0}, {"track_timeout": math.nan}, {"min_keypoint_score": 1.5},
                {"rate": 2.0, "gestures": {"off_threshold": 0.9}},          # second part refused
                {"gestures": {"window": 1.0}}):                             # shorter than a fall
        with pytest.raises(ValueError):
            stage.set_params(**bad)
        assert (stage.window, stage.track_timeout, stage.rate, stage.min_keypoint_score,
                stage.detector.params) == before, bad
    with pytest.raises(TypeError):
        stage.set_params(nonsense=1)
    stage.set_params(rate=2.0, min_keypoint_score=0.5, gestures={"on_threshold": 0.7})
    assert stage.rate == 2.0 and stage.detector.params.min_keypoint_score == 0.5
    assert stage.classifier.min_score == 0.5 and stage.detector.params.on_threshold == 0.7


def test_min_keypoint_score_reaches_the_gesture_detector() -> None:
    assert ActionStage(model="rules", min_keypoint_score=0.35).detector.params.min_keypoint_score == 0.35


def test_falls_up_to_the_declared_ten_seconds_are_accepted() -> None:
    """gestures.fall_max_duration is declared 0.1-10 s: the rules' window grows to cover it
    (it used to be refused above the fixed 2 s window)."""
    stage = ActionStage(model="rules", gestures={"fall_max_duration": 6.0})
    assert stage.detector.params.window == 6.0
    stage.set_params(gestures={"fall_max_duration": 10.0})
    assert stage.detector.params.fall_max_duration == 10.0 and stage.detector.params.window == 10.0
    stage.set_params(gestures={"fall_max_duration": 1.0})
    assert stage.detector.params.window == 2.0        # back to the default, as the golden streams
    for stamp, ppl in list(frames())[:40]:
        stage.update(stamp, ppl)
    stage.set_params(gestures={"fall_max_duration": 4.0})
    assert all(w.window == 4.0 for w in stage.windows.values())


def test_predicted_people_add_no_sample_and_keep_their_angles_and_action() -> None:
    """A predicted skeleton is the last measured pose moved: the window, the rules and the
    classifier see only measured ones; its angles and action are the last measured ones."""
    stage = ActionStage(model="rules", rate=1000.0)
    calls = []
    classify = stage.classifier.classify
    stage.classifier.classify = lambda win, active: calls.append(len(win)) or classify(win, active)
    rows = [(s, ppl) for s, ppl in frames() if any(tid == "t0" for tid, _ in ppl)][:40]
    last_angles = last_action = None
    for k, (stamp, ppl) in enumerate(rows):
        person = next(p for tid, p in ppl if tid == "t0")
        predicted = k % 3 != 0
        if predicted:   # moved 5 px, as the backend moves a prediction
            kp = person.keypoints.copy()
            kp[:, :2] += 5.0
            person = Person(keypoints=kp, box=person.box + 5.0, score=0.9, track_id="t0", predicted=True)
        n_before = len(stage.windows.get("t0", ()))
        r = stage.update(stamp, [("t0", person)])
        (tid, angles), = r.angles
        (_, action), = r.actions
        if predicted:
            assert len(stage.windows["t0"]) == n_before
            np.testing.assert_array_equal(angles, last_angles)
            assert action is last_action
        else:
            assert stage.windows["t0"].end == stamp
            last_angles, last_action = angles, action
        assert stage.last_seen["t0"] == stamp   # seen: no timeout while predicted
    assert len(calls) == 14                     # classified once per measured pose
