"""Top-down keeps every MoveNet person: which landmark results it trusts, and the fallback.

The rules are tested on synthetic skeletons (no models); the plumbing through
``TopDownBackend.infer`` on the Sports2D demo frame also used by
test_backends_tflite.py (skipped when the models or the cached clip are missing).
"""
from __future__ import annotations

import numpy as np
import pytest

from pose_ros.core.detection.topdown import SAME_PERSON_OKS, skeleton_oks, trusted_landmarks
from pose_ros.core.skeleton import Frame3D

# A standing person about 300 px tall, COCO-17 order (x, y, score).
_BODY = np.array([
    [100, 40], [106, 34], [94, 34], [114, 38], [86, 38],          # nose, eyes, ears
    [126, 80], [74, 80], [140, 130], [60, 130], [146, 175], [54, 175],  # shoulders, elbows, wrists
    [118, 180], [82, 180], [120, 250], [80, 250], [122, 320], [78, 320],  # hips, knees, ankles
], dtype=np.float64)


def _person(dx: float = 0.0, dy: float = 0.0, score: float = 0.9) -> np.ndarray:
    kp = np.column_stack([_BODY + [dx, dy], np.full(17, score)])
    return kp.astype(np.float32)


def _box(kp: np.ndarray) -> np.ndarray:
    xy = kp[kp[:, 2] > 0, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)]).astype(np.float32)


def _shift_for(target: float) -> float:
    """Horizontal shift that makes skeleton_oks(person, shifted person) == target."""
    lo, hi = 0.0, 400.0
    a = _person()
    for _ in range(60):
        mid = (lo + hi) / 2
        if skeleton_oks(a, _person(mid), _box(a)) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_skeleton_oks_basics():
    a = _person()
    box = _box(a)
    assert skeleton_oks(a, a, box) == pytest.approx(1.0)
    assert skeleton_oks(a, _person(300), box) < 0.01
    assert skeleton_oks(a, _person(5), box) > 0.8
    few = _person()
    few[4:, 2] = 0.0                       # only 4 joints seen ...
    assert np.isfinite(skeleton_oks(a, few, box))
    few[3, 2] = 0.1                        # ... 3 seen: no evidence
    assert np.isnan(skeleton_oks(a, few, box))
    nan = _person()
    nan[:, :2] = np.nan
    assert np.isnan(skeleton_oks(a, nan, box))


def test_agreeing_landmarks_are_trusted():
    mv = [_person(), _person(400)]
    lm = [_person(4, -3), _person(397, 5)]
    assert trusted_landmarks(mv, lm, [0.99, 0.9], [_box(k) for k in mv], 0.5) == [True, True]


def test_low_pose_flag_or_no_pass_is_not_trusted():
    mv = [_person(), _person(400), _person(800)]
    lm = [_person(2), _person(401), None]       # the third got no landmark pass (max_people)
    assert trusted_landmarks(mv, lm, [0.3, 0.9, 0.0], [_box(k) for k in mv], 0.5) == [False, True, False]


def test_landmarks_on_another_person_are_not_trusted():
    """The crop of person 0 also shows person 1 and the model followed person 1."""
    mv = [_person(), _person(160)]
    lm = [_person(158), None]
    assert trusted_landmarks(mv, lm, [1.0, 0.0], [_box(k) for k in mv], 0.5) == [False, False]


def test_one_landmark_body_for_two_movenet_people_trusts_neither():
    """A couple: MoveNet tells A and B apart, the landmark model returns one body (a mix
    of both, close enough to each one's own skeleton) for both crops."""
    d = _shift_for(0.25)                              # A and B: two people
    a, b = _person(), _person(d)
    mix = _person(d / 2)
    box = _box(a)
    assert skeleton_oks(a, b, box) < SAME_PERSON_OKS
    assert skeleton_oks(mix, a, box) >= SAME_PERSON_OKS and skeleton_oks(mix, b, box) >= SAME_PERSON_OKS
    lm = [mix, _person(d / 2 + 2)]
    assert trusted_landmarks([a, b], lm, [1.0, 1.0], [box, _box(b)], 0.5) == [False, False]
    # a third, separate person is unaffected
    c = _person(900)
    out = trusted_landmarks([a, b, c], lm + [_person(901)], [1.0, 1.0, 1.0], [box, _box(b), _box(c)], 0.5)
    assert out == [False, False, True]


def test_same_person_found_twice_keeps_its_landmarks():
    """Two MoveNet detections of one person (e.g. whole image and a tile) are not a couple."""
    mv = [_person(), _person(3, 2)]
    lm = [_person(1), _person(2)]
    assert trusted_landmarks(mv, lm, [1.0, 1.0], [_box(k) for k in mv], 0.5) == [True, True]


# ---------------------------------------------------------------- through the backend

@pytest.fixture(scope="module")
def demo_rgb() -> np.ndarray:
    import cv2

    from pose_ros.training.demo_media import cached_demo_video

    path = cached_demo_video()
    if path is None:
        pytest.skip("demo video not cached; run `make setup` (python -m pose_ros.training.demo_media)")
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, bgr = cap.read()
    cap.release()
    assert ok
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def topdown():
    pytest.importorskip("ai_edge_litert")
    from pose_ros.core.detection import BackendError, create_backend
    try:
        backend = create_backend("topdown", movenet_input_size=384)
    except BackendError as exc:
        pytest.skip(f"topdown models unavailable: {exc}")
    yield backend
    backend.close()


def test_every_movenet_person_is_reported(topdown, demo_rgb):
    stage = topdown.detector.infer(demo_rgb)
    assert len(stage) >= 2
    saved = topdown.min_pose_flag, topdown.max_people, topdown.keep_movenet
    try:
        people = topdown.infer(demo_rgb)
        assert len(people) == len(stage)
        assert [p.extra["source"] for p in people[:2]] == ["landmarks", "landmarks"]

        topdown.max_people = 1                  # landmark pass for the best person only
        people = topdown.infer(demo_rgb)
        assert len(people) == len(stage)
        assert people[0].extra["source"] == "landmarks" and people[0].landmarks is not None
        for p, s in zip(people[1:], stage[1:]):
            assert p.extra["source"] == "movenet"
            assert p.landmarks is None and p.keypoints_3d is None and p.frame_3d == Frame3D.NONE
            np.testing.assert_array_equal(p.keypoints, s.keypoints)
            np.testing.assert_array_equal(p.box, s.box)
            assert p.score == pytest.approx(s.score)

        topdown.max_people = 6
        topdown.min_pose_flag = 1.01            # no landmark result is good enough
        people = topdown.infer(demo_rgb)
        assert [p.extra["source"] for p in people] == ["movenet"] * len(stage)
        assert all("pose_flag" in p.extra for p in people)
        topdown.keep_movenet = False            # the old behaviour: drop them
        assert topdown.infer(demo_rgb) == []
    finally:
        topdown.min_pose_flag, topdown.max_people, topdown.keep_movenet = saved
