"""Static hand signs: MediaPipe hand landmarks on crops placed from the body pose, plus rules.

:func:`classify_hand` turns 21 MediaPipe hand landmarks into one of :data:`HAND_SIGNS`
with geometric rules. Finger extension is measured from the joint angles (bend at
MCP, PIP and DIP, in 3D when z is given) and from tip-vs-PIP distance to the wrist,
so it does not depend on scale or in-plane rotation; only ``thumb_up`` /
``thumb_down`` use the image vertical (y down). Each criterion is a ramp in [0, 1]
and a sign's score is the minimum of its criteria (fuzzy AND); the best sign wins
when it scores >= 0.5, else ``none``.

:class:`HandSignDetector` runs the MediaPipe hand landmark model (shipped in the
mediapipe wheel, see :mod:`pose_ros.core.hands.models`) with LiteRT on a square crop
per wrist, rotated so the forearm (elbow -> wrist) points up, which is how the
model expects hands (fingers up, wrist at the bottom); no palm detector is needed.
A second pass re-crops from the first pass's landmarks (MediaPipe's own tracking
ROI rule) and keeps the better of the two. On the demo video this found more hands
than legacy ``mp.solutions.hands`` on axis-aligned crops, at about half the cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pose_ros.core.detection.quiet import native_stderr_filtered
from pose_ros.core.hands.models import HAND_MODEL_PARAMETER, resolve_hand_landmark
from pose_ros.core.imaging.raw import as_cv2_input
from pose_ros.core.models import ModelError, load_error
from pose_ros.core.skeleton import Coco, Person, keypoint_box

HAND_SIGNS: tuple[str, ...] = ("none", "open_palm", "fist", "thumb_up", "thumb_down", "pointing", "victory")
FINGERS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
           "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}
_SIDES = (("left", Coco.LEFT_WRIST, Coco.LEFT_ELBOW), ("right", Coco.RIGHT_WRIST, Coco.RIGHT_ELBOW))
_INPUT = 224
_ROI_POINTS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]  # MediaPipe's landmarks-to-ROI subset


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi``, linear between (works with lo > hi for a falling ramp)."""
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two vectors (0 when either is degenerate)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return 0.0
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))


def finger_extension(lm: np.ndarray) -> dict[str, float]:
    """Extension score in [0, 1] per finger (1 straight, 0 curled)."""
    wrist, out = lm[0], {}
    for name, (a, b, c, d) in FINGERS.items():
        if name == "thumb":
            bend = _angle(lm[b] - lm[a], lm[c] - lm[b]) + _angle(lm[c] - lm[b], lm[d] - lm[c])
            # tip farther from the pinky knuckle than the IP joint is: not folded across the palm
            away = np.linalg.norm(lm[d] - lm[17]) / max(np.linalg.norm(lm[c] - lm[17]), 1e-9)
            out[name] = min(_ramp(bend, 90.0, 40.0), _ramp(away, 0.95, 1.1))
        else:
            bend = (_angle(lm[a] - wrist, lm[b] - lm[a]) + _angle(lm[b] - lm[a], lm[c] - lm[b])
                    + _angle(lm[c] - lm[b], lm[d] - lm[c]))
            reach = np.linalg.norm(lm[d] - wrist) / max(np.linalg.norm(lm[b] - wrist), 1e-9)
            out[name] = min(_ramp(bend, 150.0, 70.0), _ramp(reach, 1.0, 1.2))
    return out


def sign_scores(landmarks: np.ndarray) -> dict[str, float]:
    """Score in [0, 1] for every sign but ``none``; empty when the hand is degenerate."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (21, 3) and lm.shape != (21, 2):
        raise ValueError(f"expected (21, 3) or (21, 2) hand landmarks, got {lm.shape}")
    if lm.shape[1] == 2:
        lm = np.concatenate([lm, np.zeros((21, 1))], axis=1)
    if not np.isfinite(lm).all() or np.linalg.norm(lm[9] - lm[0]) < 1e-6:
        return {}
    ext = finger_extension(lm)
    four = [ext[f] for f in ("index", "middle", "ring", "pinky")]
    curled = min(1.0 - e for e in four)
    thumb_dir = lm[4, :2] - lm[2, :2]
    up = float(np.dot(thumb_dir, (0.0, -1.0)) / max(np.linalg.norm(thumb_dir), 1e-9))
    spread = _angle(lm[8] - lm[5], lm[12] - lm[9])
    return {
        "open_palm": min(*four, max(ext["thumb"], 0.5)),
        "fist": min(curled, 1.0 - ext["thumb"]),
        "thumb_up": min(curled, ext["thumb"], _ramp(up, 0.5, 0.8)),
        "thumb_down": min(curled, ext["thumb"], _ramp(-up, 0.5, 0.8)),
        "pointing": min(ext["index"], 1.0 - ext["middle"], 1.0 - ext["ring"], 1.0 - ext["pinky"]),
        "victory": min(ext["index"], ext["middle"], 1.0 - ext["ring"], 1.0 - ext["pinky"],
                       _ramp(spread, 6.0, 15.0)),
    }


def classify_hand(landmarks: np.ndarray, handedness: str = "") -> tuple[str, float]:
    """(sign, confidence) from 21 MediaPipe hand landmarks (x, y[, z]), pixels or normalised.

    Pass pixels (or coordinates normalised by one common scale): x and y normalised
    separately by a non-square image size distort the angles. ``handedness``
    ('left' / 'right') is accepted for callers' bookkeeping; the rules are mirror-
    symmetric, so it does not change the result. ``none`` carries 1 - best score.
    """
    if handedness not in ("", "left", "right"):
        raise ValueError(f"handedness must be 'left', 'right' or '', got {handedness!r}")
    scores = sign_scores(landmarks)
    if not scores:
        return "none", 0.0
    best = max(scores, key=scores.__getitem__)
    return (best, scores[best]) if scores[best] >= 0.5 else ("none", 1.0 - scores[best])


@dataclass
class HandResult:
    """One hand found next to one person's wrist."""

    person: int                 # index into the ``people`` list given to detect
    side: str                   # 'left' / 'right': the person's own hand (COCO wrist side)
    sign: str
    confidence: float           # sign rule score x hand presence
    presence: float             # landmark model's hand presence probability
    right_prob: float           # landmark model's probability that this is a right hand
    landmarks: np.ndarray       # (21, 3) x, y in image pixels, z relative depth in pixels


class HandSignDetector:
    """Hand signs for every person's wrists; see the module docstring."""

    def __init__(self, max_hands_per_person: int = 2, min_confidence: float = 0.5, crop_scale: float = 1.0,
                 crop_shift: float = 0.25, min_crop: int = 48, min_wrist_score: float = 0.3,
                 refine: bool = True, model: str = "full", model_path: str = "", num_threads: int = 1) -> None:
        if max_hands_per_person not in (1, 2):
            raise ValueError(f"max_hands_per_person must be 1 or 2, got {max_hands_per_person}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError("ai_edge_litert is missing; run `pip install ai-edge-litert` (or `make setup`)") from exc
        self.model_path = resolve_hand_landmark(model_path, model)
        try:
            with native_stderr_filtered():  # TFLite's XNNPACK line
                self._interp = Interpreter(model_path=str(self.model_path), num_threads=int(num_threads))
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise load_error(self.model_path, HAND_MODEL_PARAMETER, exc) from exc
        inp = self._interp.get_input_details()[0]
        outs = sorted(self._interp.get_output_details(), key=lambda d: d["name"])
        if list(inp["shape"]) != [1, _INPUT, _INPUT, 3] or [int(np.prod(d["shape"])) for d in outs] != [63, 1, 1, 63]:
            raise ModelError(f"model file {str(self.model_path)!r} is not a MediaPipe hand landmark model (224x224 "
                             f"in, 21 landmarks out): set {HAND_MODEL_PARAMETER} to hand_landmark_full/lite.tflite, "
                             "or to '' to use the packaged default")
        self._in = inp["index"]
        self._out = [d["index"] for d in outs[:3]]  # landmarks, presence, handedness
        try:  # a dry inference now: a model that cannot run fails at start-up, not at the first hand
            self._interp.set_tensor(self._in, np.zeros((1, _INPUT, _INPUT, 3), np.float32))
            self._interp.invoke()
        except (ValueError, RuntimeError) as exc:
            raise load_error(self.model_path, HAND_MODEL_PARAMETER, exc) from exc
        self.max_hands, self.min_confidence = int(max_hands_per_person), float(min_confidence)
        self.crop_scale, self.crop_shift, self.min_crop = float(crop_scale), float(crop_shift), float(min_crop)
        self.min_wrist_score, self.refine = float(min_wrist_score), bool(refine)

    def _run(self, rgb: np.ndarray, centre: np.ndarray, side: float, down: np.ndarray):
        """Landmarks (image pixels), presence and right-hand probability for one rotated square crop."""
        right = np.array([down[1], -down[0]])  # crop +x in the image; crop +y is ``down``
        k = side / _INPUT
        m = np.column_stack([k * right, k * down, centre - _INPUT / 2 * k * (right + down)])
        crop = cv2.warpAffine(rgb, m, (_INPUT, _INPUT), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
        self._interp.set_tensor(self._in, (crop.astype(np.float32) * (1.0 / 255.0))[np.newaxis])
        self._interp.invoke()
        raw, presence, hand = (self._interp.get_tensor(i).reshape(-1) for i in self._out)
        raw = raw.reshape(21, 3).astype(np.float64)
        lm = np.column_stack([raw[:, :2] @ m[:, :2].T + m[:, 2], raw[:, 2] * k])
        return lm, float(presence[0]), float(hand[0])

    def _hand(self, rgb: np.ndarray, wrist: np.ndarray, elbow: np.ndarray | None, fallback_len: float):
        """Best (landmarks, presence, right_prob) for one wrist."""
        fore = None if elbow is None else wrist - elbow
        length = 0.0 if fore is None else float(np.linalg.norm(fore))
        if length >= 4.0:
            up = fore / length
        else:  # no usable elbow: assume an upright hand of a typical size
            up, length = np.array([0.0, -1.0]), fallback_len
        best = self._run(rgb, wrist + self.crop_shift * length * up, max(self.min_crop, self.crop_scale * length), -up)
        if self.refine and best[1] >= 0.1:
            pts = best[0][:, :2]
            axis = pts[9] - pts[0]
            up = axis / max(np.linalg.norm(axis), 1e-9)
            right = np.array([-up[1], up[0]])
            q = pts[_ROI_POINTS] @ np.column_stack([right, -up])
            lo, hi = q.min(axis=0), q.max(axis=0)
            size = float((hi - lo).max())
            centre = (lo + hi) / 2 @ np.vstack([right, -up]) + 0.1 * size * up
            if size > 2.0:
                again = self._run(rgb, centre, max(2.0 * size, 24.0), -up)
                best = again if again[1] > best[1] else best
        return best

    def detect_hands(self, rgb: np.ndarray, people: list[Person]) -> list[HandResult]:
        """Every hand found next to a wrist scored >= ``min_wrist_score``, with its sign."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        if people:   # a camera image seen as RGB is a reversed view: one copy here, not one per hand crop
            rgb = as_cv2_input(rgb)
        results: list[HandResult] = []
        for index, person in enumerate(people):
            kp = np.asarray(person.keypoints, dtype=np.float64)
            box = person.box if person.box is not None else keypoint_box(person.keypoints)  # never mutate input
            fallback = max(self.min_crop, 0.15 * float(max(box[2] - box[0], box[3] - box[1]))) \
                if box is not None else self.min_crop
            wrists = [(s, w, e) for s, w, e in _SIDES
                      if kp[w, 2] >= self.min_wrist_score and np.isfinite(kp[w, :2]).all()]
            wrists.sort(key=lambda t: -kp[t[1], 2])
            found: list[HandResult] = []
            for side, w, e in wrists[:self.max_hands]:
                elbow = kp[e, :2] if kp[e, 2] >= self.min_wrist_score and np.isfinite(kp[e, :2]).all() else None
                lm, presence, right_prob = self._hand(rgb, kp[w, :2], elbow, fallback)
                if presence < self.min_confidence:
                    continue
                sign, conf = classify_hand(lm, side)
                found.append(HandResult(index, side, sign, conf * presence, presence, right_prob, lm))
            if len(found) == 2:  # both wrists landed on the same hand: keep the side the model agrees with
                a, b = found
                palm = np.linalg.norm(a.landmarks[9, :2] - a.landmarks[0, :2])
                if np.linalg.norm(a.landmarks[0, :2] - b.landmarks[0, :2]) < 0.5 * palm:
                    agree = [h.right_prob if h.side == "right" else 1.0 - h.right_prob for h in found]
                    found = [found[int(np.argmax(agree))]]
            results.extend(found)
        return results

    def detect(self, rgb: np.ndarray, people: list[Person]) -> dict[int, dict[str, tuple[str, float]]]:
        """person index -> {'left' / 'right': (sign, confidence)} for the hands found."""
        out: dict[int, dict[str, tuple[str, float]]] = {}
        for hand in self.detect_hands(rgb, people):
            out.setdefault(hand.person, {})[hand.side] = (hand.sign, hand.confidence)
        return out

    def close(self) -> None:
        self._interp = None


__all__ = ["FINGERS", "HAND_SIGNS", "HandResult", "HandSignDetector", "classify_hand", "finger_extension",
           "sign_scores"]
