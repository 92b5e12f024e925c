"""What a robot developer imports: skeleton messages as numpy, joint constants, helpers.

    from pose_ros.api import to_numpy, nearest_to_camera, Coco, GestureTracker

    people = to_numpy(msg)                      # SkeletonArray -> People (numpy arrays)
    i = nearest_to_camera(people)               # index or None
    wrist = people.keypoints[i, Coco.LEFT_WRIST]  # x, y, score (NaN x, y when missing)

Joint indices and bones are re-exported from :mod:`pose_ros.core.skeleton` (the same
constants the drawing code and the message use). Missing joints are NaN, never 0, so a
missing wrist can never look like a wrist in the image corner. Helpers return None
(or an empty list) instead of raising when there is nobody or no data.

Gesture names are the :class:`Gesture` enum (a ``str`` Enum, so ``Gesture.WAVE_LEFT ==
"wave_left"``); a name the package never emits is an error, not a silent "nobody".
This module needs no rclpy; :mod:`pose_ros.client` is the rclpy side (``PoseClient``).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from pose_ros.core.features.pose import JOINT_ANGLE_NAMES, joint_angles
from pose_ros.core.skeleton import (
    COCO17_EDGES, COCO17_NAMES, NUM_COCO17, Coco, Frame3D, TrackState, clean_ages, clean_boxes, clean_enum,
    clean_keypoints, clean_points, clean_scores,
)

if TYPE_CHECKING:
    from pose_ros.msg import Gesture as GestureMsg, GestureArray, SkeletonArray

__all__ = [
    "COCO17_EDGES", "COCO17_NAMES", "Coco", "Frame3D", "Gesture", "GestureTracker", "JOINT_ANGLE_NAMES",
    "People", "TrackState", "box_heights", "centers", "depths", "gesture_name", "hands_above_head", "joint_angle",
    "nearest_to_camera", "nearest_to_center", "pointing_direction_2d", "pointing_ray",
    "quaternion_from_x_to", "stamp_to_sec", "to_numpy", "who_made", "body_frame",
]

START, END = 0, 1   # Gesture.EVENT_START / EVENT_END (kept here so this module needs no rclpy)


class Gesture(str, Enum):
    """Every name on ``gestures`` (pose_ros/Gesture.gesture): gestures, postures, fall, hand signs.

    Listed here for autocompletion; a test checks it against the core's GESTURE_NAMES and
    HAND_SIGNS. Hand signs (``hand_<sign>_<side>``) need ``hand_signs.enabled: true``.
    """

    HAND_UP_LEFT = "hand_up_left"
    HAND_UP_RIGHT = "hand_up_right"
    HANDS_UP_BOTH = "hands_up_both"
    WAVE_LEFT = "wave_left"
    WAVE_RIGHT = "wave_right"
    POINT_LEFT = "point_left"
    POINT_RIGHT = "point_right"
    ARMS_CROSSED = "arms_crossed"
    T_POSE = "t_pose"
    STANDING = "standing"
    SITTING = "sitting"
    CROUCHING = "crouching"
    LYING = "lying"
    FALL = "fall"
    HAND_OPEN_PALM_LEFT = "hand_open_palm_left"
    HAND_OPEN_PALM_RIGHT = "hand_open_palm_right"
    HAND_FIST_LEFT = "hand_fist_left"
    HAND_FIST_RIGHT = "hand_fist_right"
    HAND_THUMB_UP_LEFT = "hand_thumb_up_left"
    HAND_THUMB_UP_RIGHT = "hand_thumb_up_right"
    HAND_THUMB_DOWN_LEFT = "hand_thumb_down_left"
    HAND_THUMB_DOWN_RIGHT = "hand_thumb_down_right"
    HAND_POINTING_LEFT = "hand_pointing_left"
    HAND_POINTING_RIGHT = "hand_pointing_right"
    HAND_VICTORY_LEFT = "hand_victory_left"
    HAND_VICTORY_RIGHT = "hand_victory_right"

    def __str__(self) -> str:
        return self.value


def gesture_name(gesture: Gesture | str) -> Gesture:
    """``gesture`` as a :class:`Gesture`; ValueError naming the closest names for anything else."""
    try:
        return Gesture(gesture)
    except ValueError:
        names = [g.value for g in Gesture]
        close = difflib.get_close_matches(str(gesture), names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; known: {', '.join(names)}"
        raise ValueError(f"unknown gesture {gesture!r}{hint}") from None


def stamp_to_sec(stamp: Any) -> float:
    """builtin_interfaces/Time -> float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


@dataclass(frozen=True, eq=False)
class People:
    """All people of one SkeletonArray as arrays (N people, COCO-17 order).

    keypoints (N, 17, 3) float32 x, y pixels + score, NaN x, y and score 0 when missing;
    boxes (N, 4) x_min, y_min, x_max, y_max, NaN when unset or empty; scores (N,); keypoints_3d (N, 17, 3) metres,
    NaN when absent; frame_3d and track_states (N,) uint8 (Frame3D / TrackState values);
    predicted (N,) bool and pose_age (N,) s: poses the estimator's budget carried forward
    from an earlier image instead of measuring them in this one.
    """

    ids: list[str]
    keypoints: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    keypoints_3d: np.ndarray
    frame_3d: np.ndarray
    track_states: np.ndarray
    stamp: float
    frame_id: str
    width: int
    height: int
    predicted: np.ndarray | None = None
    pose_age: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, person_id: str) -> int | None:
        """Row of ``person_id``, or None when that person is not in this frame."""
        return self.ids.index(person_id) if person_id and person_id in self.ids else None


def to_numpy(msg: SkeletonArray) -> People:
    """SkeletonArray -> :class:`People`, cleaned by the same rule as the nodes' parser.

    One row per skeleton, so indices match the message: a skeleton the nodes would skip
    (not COCO-17, wrong keypoint count) is kept here with every joint missing.
    """
    sk = list(msg.skeletons)
    n = len(sk)
    kp = np.full((n, NUM_COCO17, 3), np.nan, dtype=np.float32)
    kp[..., 2] = 0.0
    kp3 = np.full((n, NUM_COCO17, 3), np.nan, dtype=np.float32)
    good = [i for i, s in enumerate(sk) if s.format == 0 and len(s.keypoints) == NUM_COCO17]
    if good:  # one flat pass over every Keypoint object, then a reshape
        kp[good] = np.array([(k.x, k.y, k.score) for i in good for k in sk[i].keypoints],
                            dtype=np.float32).reshape(-1, NUM_COCO17, 3)
    frames = clean_enum([s.frame_3d for s in sk], Frame3D, Frame3D.NONE).astype(np.uint8)
    has3 = [i for i in good if frames[i] != Frame3D.NONE and len(sk[i].keypoints_3d) == NUM_COCO17]
    if has3:
        kp3[has3] = np.array([(p.x, p.y, p.z) for i in has3 for p in sk[i].keypoints_3d],
                             dtype=np.float32).reshape(-1, NUM_COCO17, 3)
    frames[np.setdiff1d(np.arange(n), has3).astype(np.intp)] = Frame3D.NONE
    boxes = np.array([(s.x_min, s.y_min, s.x_max, s.y_max) for s in sk], dtype=np.float64).reshape(n, 4)
    # The nodes' rule (core.skeleton.clean_*), whatever the publisher sent: bounded
    # coordinates, scores in [0, 1], a box only where it is finite, ordered and not empty.
    return People(
        ids=[s.id for s in sk],
        keypoints=clean_keypoints(kp),
        boxes=clean_boxes(boxes),
        scores=clean_scores([s.score for s in sk]).astype(np.float32),
        keypoints_3d=clean_points(kp3),
        frame_3d=frames,
        track_states=clean_enum([s.track_state for s in sk], TrackState, TrackState.UNTRACKED).astype(np.uint8),
        stamp=stamp_to_sec(msg.header.stamp), frame_id=msg.header.frame_id,
        width=int(msg.image_width), height=int(msg.image_height),
        predicted=np.array([bool(s.predicted) for s in sk], dtype=bool),
        pose_age=clean_ages([s.pose_age for s in sk]).astype(np.float32),
    )


# ------------------------------------------------------------------ per-person arrays
def _nan_reduce(fn, a: np.ndarray, axis: int) -> np.ndarray:
    """nanmean/nanmedian without the all-NaN warning: NaN rows stay NaN, quietly."""
    out = np.full(a.shape[:axis] + a.shape[axis + 1:], np.nan)
    rows = np.isfinite(a).any(axis=axis)
    if rows.any():
        out[rows] = fn(a[rows], axis=axis)
    return out


def centers(people: People) -> np.ndarray:
    """(N, 2) box centres in pixels; the mean of the visible joints when the box is not finite."""
    b = people.boxes.astype(np.float64)
    c = (b[:, :2] + b[:, 2:]) / 2.0
    kc = np.stack([_nan_reduce(np.nanmean, people.keypoints[..., j], 1) for j in (0, 1)], axis=1)
    return np.where(np.isfinite(c), c, kc)


def box_heights(people: People) -> np.ndarray:
    """(N,) box heights in pixels; the vertical extent of the visible joints without a box."""
    b = people.boxes.astype(np.float64)
    y = people.keypoints[..., 1].astype(np.float64)
    ext = _nan_reduce(np.nanmax, y, 1) - _nan_reduce(np.nanmin, y, 1)
    h = b[:, 3] - b[:, 1]
    return np.where(np.isfinite(h), h, ext)


def depths(people: People) -> np.ndarray:
    """(N,) median z of the 3D keypoints in metres; NaN unless FRAME_3D_CAMERA."""
    z = np.where((people.frame_3d == Frame3D.CAMERA)[:, None], people.keypoints_3d[..., 2], np.nan)
    return _nan_reduce(np.nanmedian, z.astype(np.float64), 1)


def hands_above_head(people: People) -> np.ndarray:
    """(N,) bool: both wrists visible and above the nose (image y is down)."""
    k = people.keypoints
    nose = k[:, Coco.NOSE, 1]
    return (k[:, Coco.LEFT_WRIST, 1] < nose) & (k[:, Coco.RIGHT_WRIST, 1] < nose)  # NaN -> False


def _argbest(values: np.ndarray, largest: bool = False) -> int | None:
    ok = np.isfinite(values)
    if not ok.any():
        return None
    v = np.where(ok, values, -np.inf if largest else np.inf)
    return int(np.argmax(v) if largest else np.argmin(v))


def nearest_to_center(people: People) -> int | None:
    """Index of the person whose centre is closest to the image centre, or None."""
    if len(people) == 0 or people.width <= 0 or people.height <= 0:
        return None
    d = centers(people) - np.array([people.width / 2.0, people.height / 2.0])
    return _argbest(np.hypot(d[:, 0], d[:, 1]))


def nearest_to_camera(people: People) -> int | None:
    """Index of the closest person: smallest depth when any has camera-frame 3D, else tallest box."""
    if len(people) == 0:
        return None
    z = depths(people)
    if np.isfinite(z).any():
        return _argbest(z)
    return _argbest(box_heights(people), largest=True)


def joint_angle(people: People, i: int, name: str, use_3d: bool = False) -> float:
    """One joint angle in radians (see core.features.joint_angle_array); NaN when joints are missing."""
    if name not in JOINT_ANGLE_NAMES:
        raise ValueError(f"unknown joint angle {name!r}; known: {', '.join(JOINT_ANGLE_NAMES)}")
    kp = people.keypoints_3d[i] if use_3d else people.keypoints[i]
    return joint_angles(kp, is_3d=use_3d)[name]


# -------------------------------------------------------------------------- gestures
def _gestures(msg: GestureArray | Iterable[GestureMsg]) -> list[GestureMsg]:
    return list(msg.gestures) if hasattr(msg, "gestures") else list(msg)


def who_made(msg: GestureArray | Iterable[GestureMsg], gesture: Gesture | str) -> list[str]:
    """Ids (in order, no repeats) that started ``gesture`` in this message; ValueError for unknown names."""
    name = gesture_name(gesture).value
    return list(dict.fromkeys(g.id for g in _gestures(msg) if g.gesture == name and g.event == START))


class GestureTracker:
    """Follows START/END events to know who is doing what right now.

    An END without a START (e.g. the node started late) is ignored; ids never seen
    simply have no active gestures. Call :meth:`forget` for people you stop caring about.
    """

    def __init__(self) -> None:
        self._active: dict[str, dict[str, GestureMsg]] = {}

    def update(self, msg: GestureArray | Iterable[GestureMsg]) -> list[GestureMsg]:
        """Apply the events of one message; returns them for convenience."""
        events = _gestures(msg)
        for g in events:
            if g.event == START:
                self._active.setdefault(g.id, {})[g.gesture] = g
            elif g.event == END and g.id in self._active:
                self._active[g.id].pop(g.gesture, None)
                if not self._active[g.id]:
                    del self._active[g.id]
        return events

    def active(self, person_id: str) -> set[str]:
        """Gestures ``person_id`` is doing now (empty for unknown ids)."""
        return set(self._active.get(person_id, ()))

    def people_with(self, gesture: Gesture | str) -> list[str]:
        """Ids currently doing ``gesture``, in the order they started (ValueError for unknown names)."""
        name = gesture_name(gesture).value
        return [pid for pid, gs in self._active.items() if name in gs]

    def is_doing(self, person_id: str, gesture: Gesture | str) -> bool:
        """Whether ``person_id`` is doing ``gesture`` now (ValueError for unknown names)."""
        return gesture_name(gesture).value in self._active.get(person_id, {})

    def start_event(self, person_id: str, gesture: Gesture | str) -> GestureMsg | None:
        """The START message of an active gesture (direction, ray), or None."""
        return self._active.get(person_id, {}).get(gesture_name(gesture).value)

    def forget(self, person_id: str) -> None:
        self._active.pop(person_id, None)


def pointing_ray(g: GestureMsg) -> tuple[np.ndarray, np.ndarray] | None:
    """(origin, unit direction) in the skeleton's 3D frame, or None without a valid 3D ray."""
    if not g.has_ray:
        return None
    o = np.array([g.ray_origin.x, g.ray_origin.y, g.ray_origin.z])
    d = np.array([g.ray_direction.x, g.ray_direction.y, g.ray_direction.z])
    n = float(np.linalg.norm(d))
    if not (np.isfinite(o).all() and np.isfinite(n) and n > 1e-9):
        return None
    return o, d / n


def pointing_direction_2d(g: GestureMsg) -> np.ndarray | None:
    """Unit vector (x right, y down) of the image pointing direction, or None when unknown."""
    a = float(g.direction)
    return np.array([math.cos(a), math.sin(a)]) if math.isfinite(a) else None


def quaternion_from_x_to(direction: np.ndarray) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) rotating +x onto ``direction`` (shortest arc)."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    w = 1.0 + d[0]
    if w < 1e-9:  # opposite to +x: half turn about z
        return 0.0, 0.0, 1.0, 0.0
    q = np.array([0.0, -d[2], d[1], w])  # (1,0,0) x d, 1 + (1,0,0).d
    q /= np.linalg.norm(q)
    return float(q[0]), float(q[1]), float(q[2]), float(q[3])


def body_frame(person_id: str) -> str:
    """The TF frame hri_bridge broadcasts for a person (Skeleton.id): ``body_<REP-155 body id>``,
    at the hip centre, x the way they face, z up. Look it up with tf2 or PoseClient.person_pose."""
    from pose_ros.core.hri import body_id
    return "body_" + body_id(person_id)
