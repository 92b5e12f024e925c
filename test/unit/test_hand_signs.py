"""Hand signs: the geometric classifier on constructed hands, the landmark detector on real crops."""
from __future__ import annotations

import numpy as np
import pytest

from pose_ros.core.hands.signs import HAND_SIGNS, classify_hand, finger_extension, sign_scores
from pose_ros.core.skeleton import Coco, Person

# ------------------------------------------------------------------ a canonical hand
# Palm units (wrist -> middle MCP = 1), image axes: x right, y down, z away from the
# camera. The hand points up (-y), palm towards the camera, thumb on the +x side.
# Fingers curl towards the camera (-z), as a fist seen from the palm side.
_MCP = {"index": (0.32, -0.95), "middle": (0.0, -1.0), "ring": (-0.25, -0.93), "pinky": (-0.47, -0.82)}
_SEGMENTS = {"index": (0.45, 0.27, 0.22), "middle": (0.5, 0.3, 0.23), "ring": (0.47, 0.28, 0.22),
             "pinky": (0.36, 0.22, 0.2)}
_BASE = {"index": 1, "middle": 5, "ring": 9, "pinky": 13}  # first landmark index after the thumb block
EXTENDED = (5.0, 5.0, 5.0)       # flexion (degrees) at MCP, PIP, DIP
CURLED = (85.0, 100.0, 65.0)
TOWARD_CAMERA = np.array([0.0, 0.0, -1.0])


def make_hand(fingers: dict[str, bool], thumb: str = "out", spread: float = 0.0) -> np.ndarray:
    """(21, 3) landmarks: ``fingers`` maps index/middle/ring/pinky -> extended; ``thumb`` is
    'out' (extended sideways-up) or 'tucked' (folded across the curled fingers);
    ``spread`` (degrees) fans index and middle apart."""
    lm = np.zeros((21, 3))
    lm[1] = (0.25, -0.2, 0.0)
    lm[2] = (0.45, -0.42, 0.0)
    if thumb == "out":
        u = np.array([0.55, -0.83, 0.0]) / np.linalg.norm([0.55, -0.83])
        lm[3] = lm[2] + 0.35 * u
        lm[4] = lm[3] + 0.3 * u
    else:
        lm[2] = (0.42, -0.45, -0.1)
        lm[3] = (0.3, -0.68, -0.3)
        lm[4] = (0.08, -0.78, -0.42)
    for name, extended in fingers.items():
        mcp = np.array([*_MCP[name], 0.0])
        d0 = mcp / np.linalg.norm(mcp)
        turn = np.radians({"index": spread / 2, "middle": -spread / 2}.get(name, 0.0))
        d0 = np.array([d0[0] * np.cos(turn) - d0[1] * np.sin(turn), d0[0] * np.sin(turn) + d0[1] * np.cos(turn), 0])
        i = 4 + _BASE[name]
        lm[i] = mcp
        phi, point = 0.0, mcp
        for k, (flex, length) in enumerate(zip(EXTENDED if extended else CURLED, _SEGMENTS[name])):
            phi += np.radians(flex)
            point = point + length * (np.cos(phi) * d0 + np.sin(phi) * TOWARD_CAMERA)
            lm[i + 1 + k] = point
    return lm


def transform(lm: np.ndarray, angle_deg: float = 0.0, scale: float = 1.0, offset=(0.0, 0.0),
              tilt_deg: float = 0.0) -> np.ndarray:
    """Rotate in the image plane (positive = clockwise on screen, y down), tilt about the
    image x axis (out of plane), scale and shift."""
    t = np.radians(tilt_deg)
    tilt = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    out = (lm @ tilt.T) @ rot.T * scale
    out[:, :2] += offset
    return out


ALL = dict(index=True, middle=True, ring=True, pinky=True)
NONE = dict(index=False, middle=False, ring=False, pinky=False)
SIGN_HANDS = {
    "open_palm": (make_hand(ALL, "out"), 0.0),
    "fist": (make_hand(NONE, "tucked"), 0.0),
    # fist turned sideways so the extended thumb points up (or down)
    "thumb_up": (make_hand(NONE, "out"), -34.0),
    "thumb_down": (make_hand(NONE, "out"), 146.0),
    "pointing": (make_hand(dict(NONE, index=True), "tucked"), 0.0),
    "victory": (make_hand(dict(NONE, index=True, middle=True), "tucked", spread=25.0), 0.0),
}


@pytest.mark.parametrize("sign", list(SIGN_HANDS))
def test_each_sign_upright_in_pixels(sign):
    lm, angle = SIGN_HANDS[sign]
    got, conf = classify_hand(transform(lm, angle, scale=80.0, offset=(320, 240)), "right")
    assert (got, conf >= 0.9) == (sign, True), sign_scores(transform(lm, angle, 80.0))


@pytest.mark.parametrize("sign", ["open_palm", "fist", "pointing", "victory"])
@pytest.mark.parametrize("angle", [-120.0, -45.0, 30.0, 90.0, 180.0])
@pytest.mark.parametrize("scale", [0.004, 1.0, 300.0])
def test_rotation_and_scale_invariant(sign, angle, scale):
    lm, _ = SIGN_HANDS[sign]
    assert classify_hand(transform(lm, angle, scale, offset=(5 * scale, 2 * scale)), "left")[0] == sign


@pytest.mark.parametrize("sign", list(SIGN_HANDS))
def test_survives_out_of_plane_tilt_and_2d_only(sign):
    lm, angle = SIGN_HANDS[sign]
    assert classify_hand(transform(lm, angle, 50.0, tilt_deg=25.0))[0] == sign
    if sign not in ("fist", "pointing", "victory"):  # folded thumbs/fingers need z to be told apart
        assert classify_hand(transform(lm, angle, 50.0)[:, :2])[0] == sign


def test_thumb_signs_need_the_image_vertical():
    lm, _ = SIGN_HANDS["thumb_up"]
    assert classify_hand(transform(lm, -34.0 + 180.0))[0] == "thumb_down"
    sideways, conf = classify_hand(transform(lm, -34.0 + 90.0))  # thumb horizontal
    assert sideways == "none" and 0.0 <= conf <= 1.0


def test_extension_scores():
    ext = finger_extension(make_hand(dict(NONE, index=True, ring=True), "tucked"))
    assert ext["index"] == ext["ring"] == 1.0
    assert ext["middle"] == ext["pinky"] == ext["thumb"] == 0.0
    assert finger_extension(make_hand(ALL, "out"))["thumb"] == 1.0


@pytest.mark.parametrize("fingers, thumb", [
    (dict(NONE, middle=True), "tucked"),                         # middle finger only
    (dict(NONE, index=True, pinky=True), "tucked"),              # horns
    (dict(ALL, index=False), "out"),                             # three fingers + thumb
    (dict(NONE, index=True, middle=True, ring=True), "tucked"),  # three fingers
])
def test_other_hands_are_none(fingers, thumb):
    assert classify_hand(make_hand(fingers, thumb) * 60.0)[0] == "none"


def test_victory_needs_spread_fingers():
    together = make_hand(dict(NONE, index=True, middle=True), "tucked", spread=-17.0)  # ~parallel
    assert classify_hand(together)[0] == "none"


def test_half_curled_fingers_are_not_a_sign():
    half = make_hand(ALL, "out")
    for name in ("index", "middle", "ring", "pinky"):  # re-build with 40/45/25 flexion: a relaxed claw
        i = 4 + _BASE[name]
        mcp = half[i].copy()
        d0, phi, point = mcp / np.linalg.norm(mcp), 0.0, mcp
        for k, (flex, length) in enumerate(zip((40.0, 45.0, 25.0), _SEGMENTS[name])):
            phi += np.radians(flex)
            point = point + length * (np.cos(phi) * d0 + np.sin(phi) * TOWARD_CAMERA)
            half[i + 1 + k] = point
    sign, _ = classify_hand(half)
    assert sign == "none"


# Two real hands: the expected landmarks (pixels) of MediaPipe's own hands_test.py for its
# testdata/hands.jpg, two open palms, one pointing down and one up (2D only, no z).
MEDIAPIPE_HANDS_JPG = np.array([
    [[580, 34], [504, 50], [459, 94], [429, 146], [397, 182], [507, 167], [479, 245], [469, 292],
     [464, 330], [545, 180], [534, 265], [533, 319], [536, 360], [581, 172], [587, 252], [593, 304],
     [599, 346], [615, 168], [628, 223], [638, 258], [648, 288]],
    [[138, 343], [211, 330], [257, 286], [289, 237], [322, 203], [219, 216], [238, 138], [249, 90],
     [253, 51], [177, 204], [184, 115], [187, 60], [185, 19], [138, 208], [131, 127], [124, 77],
     [117, 36], [106, 222], [92, 159], [79, 124], [68, 93]]], dtype=float)


@pytest.mark.parametrize("hand", [0, 1])
def test_real_mediapipe_landmarks_open_palm(hand):
    sign, conf = classify_hand(MEDIAPIPE_HANDS_JPG[hand])
    assert sign == "open_palm" and conf >= 0.9
    folded = MEDIAPIPE_HANDS_JPG[hand].copy()
    folded[6:9] = folded[5] + (folded[5] - folded[0]) * [[0.15], [0.1], [-0.05]]  # index folded back
    assert classify_hand(folded)[0] != "open_palm"


def test_degenerate_and_bad_input():
    assert classify_hand(np.zeros((21, 3))) == ("none", 0.0)
    bad = make_hand(ALL)
    bad[8, 0] = np.nan
    assert classify_hand(bad) == ("none", 0.0)
    with pytest.raises(ValueError):
        classify_hand(np.zeros((20, 3)))
    with pytest.raises(ValueError):
        classify_hand(make_hand(ALL), "both")
    assert set(sign_scores(make_hand(ALL))) == set(HAND_SIGNS) - {"none"}


# ------------------------------------------------------------------ the detector

def _person(points: dict[int, tuple[float, float]], score: float = 0.8) -> Person:
    kp = np.full((17, 3), np.nan, dtype=np.float32)
    kp[:, 2] = 0.0
    for j, (x, y) in points.items():
        kp[j] = (x, y, score)
    return Person(keypoints=kp, score=score)


@pytest.fixture(scope="module")
def detector():
    from pose_ros.core.hands.signs import HandSignDetector
    det = HandSignDetector()
    yield det
    det.close()


def test_detector_finds_nothing_in_blank_image(detector):
    rgb = np.zeros((200, 200, 3), np.uint8)
    person = _person({Coco.LEFT_WRIST: (100, 100), Coco.LEFT_ELBOW: (100, 160),
                      Coco.RIGHT_WRIST: (60, 110), Coco.RIGHT_ELBOW: (40, 170)})
    assert detector.detect(rgb, [person]) == {}
    assert detector.detect(np.full((200, 200, 3), 128, np.uint8), [person]) == {}
    assert detector.detect(rgb, []) == {}


def test_detector_skips_low_score_wrists(detector, monkeypatch):
    calls = []
    monkeypatch.setattr(detector, "_hand", lambda *a: calls.append(a) or (np.zeros((21, 3)), 0.0, 0.5))
    person = _person({Coco.LEFT_WRIST: (100, 100), Coco.LEFT_ELBOW: (100, 160)}, score=0.2)
    assert detector.detect(np.zeros((200, 200, 3), np.uint8), [person]) == {} and calls == []


def test_missing_model_file_gives_clear_error():
    from pose_ros.core.hands.models import resolve_hand_landmark
    from pose_ros.core.hands.signs import HandSignDetector
    from pose_ros.core.models import ModelError

    with pytest.raises(ModelError, match="does not exist"):
        HandSignDetector(model_path="/nonexistent/hand_landmark.tflite")
    with pytest.raises(ModelError, match="unknown hand landmark model"):
        resolve_hand_landmark(variant="huge")


def test_missing_mediapipe_names_the_pip_command(monkeypatch):
    from pose_ros.core import models
    from pose_ros.core.hands.models import resolve_hand_landmark

    monkeypatch.setattr(models, "package_dir", lambda package: None)
    with pytest.raises(models.ModelError, match=r"pip install mediapipe==0\.10\.14"):
        resolve_hand_landmark()


def test_packaged_models_match_the_pinned_checksums():
    from pose_ros.core.hands.models import resolve_hand_landmark

    for variant in ("full", "lite"):
        assert resolve_hand_landmark(variant=variant).name == f"hand_landmark_{variant}.tflite"


# Frame 140 of the demo video: the walking person's hands, wrists and elbows from MoveNet.
DEMO_FRAME = 140
DEMO_ARMS = {Coco.LEFT_WRIST: (540.8, 691.3), Coco.LEFT_ELBOW: (611.3, 664.5),
             Coco.RIGHT_WRIST: (681.5, 714.0), Coco.RIGHT_ELBOW: (656.2, 658.3)}


@pytest.fixture(scope="module")
def demo_frame() -> np.ndarray:
    from conftest import read_demo_rgb
    return read_demo_rgb(DEMO_FRAME)


def test_detector_on_real_hands(detector, demo_frame):
    person = _person(DEMO_ARMS)
    background = _person({Coco.LEFT_WRIST: (1500, 150), Coco.LEFT_ELBOW: (1500, 230)})
    hands = detector.detect_hands(demo_frame, [background, person])
    assert {(h.person, h.side) for h in hands} == {(1, "left"), (1, "right")}
    for hand in hands:
        wrist = np.array(DEMO_ARMS[Coco.LEFT_WRIST if hand.side == "left" else Coco.RIGHT_WRIST])
        assert hand.presence >= 0.5 and hand.sign in HAND_SIGNS and 0.0 <= hand.confidence <= 1.0
        assert hand.landmarks.shape == (21, 3)
        assert np.linalg.norm(hand.landmarks[0, :2] - wrist) < 40.0  # hand wrist near the pose wrist
        assert (hand.right_prob > 0.5) == (hand.side == "right")     # model agrees on the side
    result = detector.detect(demo_frame, [background, person])
    assert set(result) == {1} and set(result[1]) == {"left", "right"}


def test_one_hand_per_person_and_same_hand_twice(detector, demo_frame):
    from pose_ros.core.hands.signs import HandSignDetector

    one = HandSignDetector(max_hands_per_person=1)
    person = _person(DEMO_ARMS)
    person.keypoints[Coco.RIGHT_WRIST, 2] = 0.9  # the better-scored wrist goes first
    assert [h.side for h in one.detect_hands(demo_frame, [person])] == ["right"]
    # both pose wrists on the left hand (a MoveNet mix-up): one hand, the side the model sees
    twice = _person({Coco.LEFT_WRIST: DEMO_ARMS[Coco.LEFT_WRIST], Coco.LEFT_ELBOW: DEMO_ARMS[Coco.LEFT_ELBOW],
                     Coco.RIGHT_WRIST: DEMO_ARMS[Coco.LEFT_WRIST], Coco.RIGHT_ELBOW: DEMO_ARMS[Coco.LEFT_ELBOW]})
    assert [h.side for h in detector.detect_hands(demo_frame, [twice])] == ["left"]
