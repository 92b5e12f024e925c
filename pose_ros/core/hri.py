"""REP-155 (ROS4HRI) bodies from tracked people: the logic of the hri_bridge node, without ROS.

What goes in each hri_msgs field, decided here so that it can be tested without DDS:

* :func:`skeleton2d_points`: the 18 Skeleton2D points keyed by the message's constant
  *names* (``NOSE``, ``NECK``, ``LEFT_EYE``, ...). The node puts each at the index of the
  constant of that name, never by position: the message's eye and ear constants do not
  follow the OpenPose order its comments cite.
* :func:`normalized_roi`, :func:`crop_box`: the body's box as REP-155's normalised region
  and as the pixel rectangle of ``cropped``.
* :func:`posture_name`, :class:`GestureState`: hri_msgs BodyPosture / Gesture constant
  names from the action and gesture stages' labels.
* :class:`BodyFrames`: the ``body_<id>`` frame (origin at the hip centre, x the way the
  torso faces, z up, smoothed with the One Euro filter) and the body's velocity.
* :class:`BodyLifetimes`: which bodies are new and which left long enough ago that their
  per-body publishers can go.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pose_ros.core.skeleton import Coco
from pose_ros.core.tracking import OneEuroFilter

__all__ = ["BODY_PREFIX", "BodyFrames", "BodyLifetimes", "BodyPose", "GestureState", "SKELETON2D_FROM_COCO",
           "body_id", "crop_box", "gesture_for", "normalized_roi", "posture_name", "quaternion_from_matrix",
           "skeleton2d_points", "track_id"]

# Skeleton2D constant name -> COCO-17 index; NECK is made from the shoulders.
SKELETON2D_FROM_COCO: dict[str, int] = {
    "NOSE": Coco.NOSE, "LEFT_EYE": Coco.LEFT_EYE, "RIGHT_EYE": Coco.RIGHT_EYE, "LEFT_EAR": Coco.LEFT_EAR,
    "RIGHT_EAR": Coco.RIGHT_EAR, "LEFT_SHOULDER": Coco.LEFT_SHOULDER, "RIGHT_SHOULDER": Coco.RIGHT_SHOULDER,
    "LEFT_ELBOW": Coco.LEFT_ELBOW, "RIGHT_ELBOW": Coco.RIGHT_ELBOW, "LEFT_WRIST": Coco.LEFT_WRIST,
    "RIGHT_WRIST": Coco.RIGHT_WRIST, "LEFT_HIP": Coco.LEFT_HIP, "RIGHT_HIP": Coco.RIGHT_HIP,
    "LEFT_KNEE": Coco.LEFT_KNEE, "RIGHT_KNEE": Coco.RIGHT_KNEE, "LEFT_ANKLE": Coco.LEFT_ANKLE,
    "RIGHT_ANKLE": Coco.RIGHT_ANKLE,
}
MISSING = (0.0, 0.0, 0.0)  # REP-155 coordinates lie in [0, 1]: an undetected point is (0, 0), c = 0
# Tracker ids are hex ("7c1"), and a ROS name token cannot start with a digit
# (/humans/bodies/7c1/roi is refused): every body id is the track id behind this letter.
BODY_PREFIX = "b"


def body_id(track_id: str) -> str:
    """REP-155 body id of a track id (short, unique and never reused, as the track ids are)."""
    return BODY_PREFIX + track_id


def track_id(body: str) -> str:
    """The track id (Skeleton.id) of a REP-155 body id or ``body_<id>`` frame name."""
    body = body[len("body_"):] if body.startswith("body_") else body
    return body[len(BODY_PREFIX):] if body.startswith(BODY_PREFIX) else body


def _norm_point(x: float, y: float, c: float, width: int, height: int) -> tuple[float, float, float]:
    if not (c > 0.0 and math.isfinite(x) and math.isfinite(y)):
        return MISSING
    return (min(max(x / width, 0.0), 1.0), min(max(y / height, 0.0), 1.0), min(max(float(c), 0.0), 1.0))


def skeleton2d_points(keypoints: np.ndarray, width: int, height: int) -> dict[str, tuple[float, float, float]]:
    """COCO-17 ``keypoints`` (17, 3: x, y, score in pixels) -> {Skeleton2D constant name: (x, y, c)}
    normalised by the image size; NECK is the shoulders' midpoint (confidence: the lower of the two)."""
    w, h = max(int(width), 1), max(int(height), 1)
    out = {name: _norm_point(*map(float, keypoints[i]), w, h) for name, i in SKELETON2D_FROM_COCO.items()}
    ls, rs = keypoints[Coco.LEFT_SHOULDER], keypoints[Coco.RIGHT_SHOULDER]
    c = float(min(ls[2], rs[2]))
    out["NECK"] = _norm_point(float(ls[0] + rs[0]) / 2, float(ls[1] + rs[1]) / 2, c, w, h)
    return out


def normalized_roi(box: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    """Pixel box (x_min, y_min, x_max, y_max) -> normalised (xmin, ymin, xmax, ymax), clipped to [0, 1]."""
    w, h = max(int(width), 1), max(int(height), 1)
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(max(x0 / w, 0.0), 1.0), min(max(y0 / h, 0.0), 1.0),
            min(max(x1 / w, 0.0), 1.0), min(max(y1 / h, 0.0), 1.0))


def crop_box(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Pixel box -> integer (x0, y0, x1, y1) inside the image for slicing, or None when empty."""
    if not np.isfinite(box).all():
        return None
    x0, y0 = max(int(math.floor(box[0])), 0), max(int(math.floor(box[1])), 0)
    x1, y1 = min(int(math.ceil(box[2])), int(width)), min(int(math.ceil(box[3])), int(height))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


# ------------------------------------------------------------------ posture and gesture
# action_classifier label -> BodyPosture constant name (REP-155 spells lying LAYING)
_POSTURES = {"standing": "STANDING", "sitting": "SITTING", "lying": "LAYING", "squatting": "CROUCHING",
             "crouching": "CROUCHING"}


def posture_name(action_label: str) -> str:
    """BodyPosture constant name for an action label: standing, sitting, lying, squatting
    (crouching) map to theirs; every other label (walking, waving, unknown, ...) is OTHER."""
    return _POSTURES.get(action_label, "OTHER")


# gesture stage name -> (Gesture constant, handedness constant). Our sides are the person's own.
_GESTURES: dict[str, tuple[str, str]] = {
    "hands_up_both": ("BOTH_HANDS_RAISED", "INDEPENDENT"),
    "hand_up_left": ("LEFT_HAND_RAISED", "LEFT"), "hand_up_right": ("RIGHT_HAND_RAISED", "RIGHT"),
    "wave_left": ("WAVING", "LEFT"), "wave_right": ("WAVING", "RIGHT"),
    "arms_crossed": ("ARMS_CROSSED", "INDEPENDENT"),
}
# hand sign (pose_ros.core.hands) -> Gesture constant; "pointing" is the index finger alone,
# MediaPipe's Pointing_Up that the constant was named after.
_SIGNS = {"fist": "CLOSED_FIST", "open_palm": "OPEN_PALM", "pointing": "POINTING_UP",
          "thumb_down": "THUMB_DOWN", "thumb_up": "THUMB_UP", "victory": "VICTORY"}
# when several are active, the first in this order is reported (a wave implies a raised hand)
_PRIORITY = ("wave_left", "wave_right", "hands_up_both", "hand_up_left", "hand_up_right", "arms_crossed")


def gesture_for(name: str) -> tuple[str, str] | None:
    """(Gesture constant, handedness constant) of a gesture stage event name, or None when
    hri_msgs has no constant for it (pointing, t_pose, postures, fall)."""
    if name in _GESTURES:
        return _GESTURES[name]
    if name.startswith("hand_") and name.rsplit("_", 1)[-1] in ("left", "right"):
        sign, side = name[len("hand_"):].rsplit("_", 1)
        if sign in _SIGNS:
            return _SIGNS[sign], side.upper()
    return None


@dataclass
class GestureState:
    """The active gestures of each body, from the gesture stage's start/end events."""

    active: dict[str, list[str]] = field(default_factory=dict)  # body id -> names in start order

    def update(self, body_id: str, name: str, started: bool) -> bool:
        """Apply one event; True when it changed something hri_msgs can express."""
        if gesture_for(name) is None:
            return False
        names = self.active.setdefault(body_id, [])
        if started and name not in names:
            names.append(name)
        elif not started and name in names:
            names.remove(name)
        else:
            return False
        return True

    def current(self, body_id: str) -> tuple[str, str]:
        """The gesture to report: body gestures by :data:`_PRIORITY`, then the latest hand sign; else OTHER."""
        names = self.active.get(body_id, [])
        for name in _PRIORITY:
            if name in names:
                return _GESTURES[name]
        signs = [n for n in names if n not in _GESTURES]
        return gesture_for(signs[-1]) if signs else ("OTHER", "INDEPENDENT")

    def forget(self, body_id: str) -> None:
        self.active.pop(body_id, None)


# ------------------------------------------------------------------ body frames
def quaternion_from_matrix(r: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a 3x3 rotation matrix (Shepperd's method: stable for every rotation)."""
    m = np.asarray(r, dtype=np.float64)
    t = m[0, 0] + m[1, 1] + m[2, 2]
    if t > 0:
        s = 2.0 * math.sqrt(t + 1.0)
        q = (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(max(1.0 + m[i, i] - m[j, j] - m[k, k], 1e-12))
        v = [0.0, 0.0, 0.0]
        v[i], v[j], v[k] = 0.25 * s, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
        q = v[0], v[1], v[2], (m[k, j] - m[j, k]) / s
    n = math.sqrt(sum(c * c for c in q))
    return tuple(float(c / n) for c in q)  # type: ignore[return-value]


@dataclass
class BodyPose:
    """A body frame in the camera frame: ``origin`` (3,) metres, ``rotation`` (3, 3) whose columns
    are the body's x (forward), y (left), z (up), its quaternion (x, y, z, w), and the origin's
    ``velocity`` (3,) m/s from the smoothing filter."""

    origin: np.ndarray
    rotation: np.ndarray
    quaternion: tuple[float, float, float, float]
    velocity: np.ndarray


_PAIRS = ((Coco.LEFT_HIP, Coco.RIGHT_HIP), (Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER))
_ALL_VALID = np.ones(6, dtype=bool)
_ORIGIN_ONLY = np.array([True, True, True, False, False, False])


def _cross(a, b) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


class BodyFrames:
    """``body_<id>`` frames from camera-frame 3D keypoints, one One Euro filter per body.

    The origin (hip centre) and the body's left direction are smoothed together with the
    estimator's smoothing constants, so the frame neither jitters nor lags more than the
    skeleton does. z is ``up`` (the camera frame's "up", opposite the image's down
    direction: -y of an optical frame); x = y x z is then the way the torso faces. Each
    body's stamps only go forward: a stamp equal to or earlier than its last one gives
    None, so a TF listener never sees a duplicate or backwards stamp for one frame.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0,
                 max_gap: float = 1.0, min_score: float = 0.2,
                 up: tuple[float, float, float] = (0.0, -1.0, 0.0)) -> None:
        self._args = (min_cutoff, beta, d_cutoff, max_gap)
        OneEuroFilter(*self._args)  # checks the constants now
        self.min_score = float(min_score)
        n = math.sqrt(sum(c * c for c in up))
        self._up = (up[0] / n, up[1] / n, up[2] / n)
        self.up = np.array(self._up)
        self._filters: dict[str, OneEuroFilter] = {}
        self._last: dict[str, float] = {}

    def _horizontal(self, v) -> tuple[float, float, float] | None:
        """``v`` without its ``up`` part, as a unit vector; None when under 2 cm long
        (plain floats: numpy's per-call overhead dominates for 3-vectors)."""
        u0, u1, u2 = self._up
        d = v[0] * u0 + v[1] * u1 + v[2] * u2
        h = (v[0] - d * u0, v[1] - d * u1, v[2] - d * u2)
        n = math.sqrt(h[0] * h[0] + h[1] * h[1] + h[2] * h[2])
        return (h[0] / n, h[1] / n, h[2] / n) if n > 0.02 else None

    def _left(self, k3: np.ndarray, ok: np.ndarray) -> tuple[float, float, float] | None:
        """Unit vector to the person's left, horizontal (perpendicular to ``up``), or None."""
        v = [0.0, 0.0, 0.0]
        for a, b in _PAIRS:
            if ok[a] and ok[b]:
                for i in range(3):
                    v[i] += float(k3[a, i] - k3[b, i])
        return self._horizontal(v)

    def update(self, body_id: str, keypoints_3d: np.ndarray, scores: np.ndarray, stamp: float) -> BodyPose | None:
        """The smoothed frame of one body at ``stamp``, or None (no hip centre in 3D, or not a newer stamp)."""
        if stamp <= self._last.get(body_id, -math.inf):
            return None
        k3 = np.asarray(keypoints_3d, dtype=np.float64)
        ok = np.isfinite(k3).all(axis=1) & (np.asarray(scores) >= self.min_score)
        if not (ok[Coco.LEFT_HIP] and ok[Coco.RIGHT_HIP]):
            return None
        sample = np.empty(6)
        sample[:3] = (k3[Coco.LEFT_HIP] + k3[Coco.RIGHT_HIP]) / 2.0
        filt = self._filters.setdefault(body_id, OneEuroFilter(*self._args))
        left = self._left(k3, ok)
        valid = _ALL_VALID
        if left is None:  # side-on or half hidden: keep the last heading, or face the camera
            prev = filt.value
            keep = prev is not None and bool(np.isfinite(prev[3:]).all())
            left = tuple(prev[3:]) if keep else _cross(self._up, (0.0, 0.0, -1.0))
            valid = _ORIGIN_ONLY if keep else _ALL_VALID
        sample[3:] = left
        out = filt(sample, stamp, valid)
        self._last[body_id] = stamp
        y = self._horizontal(out[3:]) or left
        x = _cross(y, self._up)
        rot = np.array([x, y, self._up]).T
        return BodyPose(out[:3].copy(), rot, quaternion_from_matrix(rot), filt.derivative[:3])

    def forget(self, body_id: str) -> None:
        self._filters.pop(body_id, None)
        self._last.pop(body_id, None)


class BodyLifetimes:
    """Which bodies appeared and which have been gone for more than ``forget_after`` seconds of
    image time (so per-body publishers come with a body and go some time after it leaves).
    Stamps that jump back (a bag loop) restart everyone's clock instead of expiring them."""

    def __init__(self, forget_after: float = 5.0) -> None:
        self.forget_after = float(forget_after)
        self.last_seen: dict[str, float] = {}
        self._now = -math.inf

    def update(self, stamp: float, ids: list[str]) -> tuple[list[str], list[str]]:
        """(new ids, ids to forget) after a frame at ``stamp`` with bodies ``ids``."""
        if stamp < self._now:
            self.last_seen = dict.fromkeys(self.last_seen, stamp)
        self._now = stamp
        new = [i for i in ids if i not in self.last_seen]
        for i in ids:
            self.last_seen[i] = stamp
        gone = [i for i, t in self.last_seen.items() if stamp - t > self.forget_after]
        for i in gone:
            del self.last_seen[i]
        return new, gone
