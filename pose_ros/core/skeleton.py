"""Keypoint schemas and the Person record that every pipeline stage passes along.

One place for joint names, bones and the BlazePose-33 -> COCO-17 map, so that the
backends, the drawing code, the tracker and the consumer API agree on indices.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

# re-exported: the keypoint conventions are geometry, but every stage knows them from here
from pose_ros.core.geometry import MAX_COORD as MAX_COORD
from pose_ros.core.geometry import box_ok as box_ok
from pose_ros.core.geometry import coords_ok as coords_ok
from pose_ros.core.geometry import keypoint_box as keypoint_box
from pose_ros.core.geometry import visible as visible

COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_COCO17 = len(COCO17_NAMES)


class Coco(IntEnum):
    """COCO-17 joint indices (same values as the constants in Skeleton.msg)."""

    NOSE = 0
    LEFT_EYE = 1
    RIGHT_EYE = 2
    LEFT_EAR = 3
    RIGHT_EAR = 4
    LEFT_SHOULDER = 5
    RIGHT_SHOULDER = 6
    LEFT_ELBOW = 7
    RIGHT_ELBOW = 8
    LEFT_WRIST = 9
    RIGHT_WRIST = 10
    LEFT_HIP = 11
    RIGHT_HIP = 12
    LEFT_KNEE = 13
    RIGHT_KNEE = 14
    LEFT_ANKLE = 15
    RIGHT_ANKLE = 16


# Bones as index pairs (the usual COCO skeleton, 0-based).
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12),
    (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
    (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

# COCO per-joint OKS sigmas (from the COCO keypoint evaluation).
COCO17_SIGMAS = np.array(
    [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
     0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089], dtype=np.float64)

# Horizontal mirror: index of the same joint on the other side.
COCO17_FLIP = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])

BLAZEPOSE33_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
    "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
    "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
    "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
NUM_BLAZEPOSE33 = len(BLAZEPOSE33_NAMES)

# For each COCO-17 joint, the BlazePose-33 landmark with the same meaning.
BLAZEPOSE33_TO_COCO17 = np.array(
    [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28], dtype=np.intp)


class KeypointFormat(IntEnum):
    """Order of Skeleton.keypoints (Skeleton.msg FORMAT_* constants)."""

    COCO_17 = 0


class TrackState(IntEnum):
    """Track life cycle (Skeleton.msg STATE_* constants)."""

    UNTRACKED = 0
    TENTATIVE = 1
    TRACKED = 2
    LOST = 3


class Frame3D(IntEnum):
    """Where 3D points live (Skeleton.msg FRAME_3D_* constants)."""

    NONE = 0
    CAMERA = 1  # metres in header.frame_id (optical frame: x right, y down, z forward)
    BODY = 2    # metres, origin at the hip centre, axes of the camera (BlazePose world)


@dataclass
class Person:
    """One detected person in one image.

    ``keypoints`` is (17, 3): x, y in pixels and score in [0, 1]; undetected joints
    have score 0 and NaN coordinates. Optional arrays are None when the backend has
    nothing to say, so consumers never mistake a default for a measurement.
    """

    keypoints: np.ndarray
    score: float
    box: np.ndarray | None = None              # (4,) x_min, y_min, x_max, y_max pixels
    landmarks: np.ndarray | None = None        # (33, 3) BlazePose landmarks, pixels + score
    keypoints_3d: np.ndarray | None = None     # (17, 3) metres, see frame_3d
    landmarks_3d: np.ndarray | None = None     # (33, 3) metres, see frame_3d
    frame_3d: Frame3D = Frame3D.NONE
    track_id: str = ""
    track_state: TrackState = TrackState.UNTRACKED
    velocities: np.ndarray | None = None       # (17, 2) pixels per second
    predicted: bool = False                    # keypoints moved from an earlier image, not measured in this one
    pose_age: float = 0.0                      # seconds since the keypoints were measured (0: in this image)
    follow: int = -1                           # a video backend's handle on whom it followed (tracker hint), -1: none
    appearance: np.ndarray | None = None       # clothing colour for re-identification (tracking.appearance)
    extra: dict = field(default_factory=dict)

    def ensure_box(self, min_score: float = 0.05) -> np.ndarray | None:
        """Fill ``box`` from the visible keypoints when the backend gave none."""
        if self.box is None:
            self.box = keypoint_box(self.keypoints, min_score)
        return self.box


def mask_missing(keypoints: np.ndarray, min_score: float = 0.0) -> np.ndarray:
    """Set x, y to NaN and score to 0 where the score is <= ``min_score`` or not finite,
    or a coordinate is not finite or beyond :data:`MAX_COORD`.

    Enforces the message convention in one place: an undetected joint has score 0
    and NaN coordinates. Raises ValueError for an array that is not (N, 3).
    """
    src = np.asarray(keypoints)
    if src.ndim != 2 or src.shape[1] != 3:
        raise ValueError(f"expected (N, 3) keypoints, got shape {src.shape}")
    with np.errstate(over="ignore"):   # beyond float32 -> inf, masked below
        kp = src.astype(np.float32)    # always a copy
    bad = ~visible(kp, min_score)
    kp[bad, :2] = np.nan
    kp[bad, 2] = 0.0
    return kp


# -- the one rule for cleaning what a Skeleton message carries ------------------------------
# The nodes' parser (nodes/conversions.py) and the robot-side api.to_numpy both use these,
# so robot code sees the same data the nodes do, whatever a publisher sent.

def clean_keypoints(keypoints: np.ndarray, mask: bool = True) -> np.ndarray:
    """(..., 3) float32 copy: an entry with a non-finite or absurd coordinate or score is
    not detected (NaN x, y, score 0); with ``mask`` a score <= 0 is too (the keypoint
    convention; landmarks keep their coordinates at visibility 0). Scores clipped to [0, 1]."""
    with np.errstate(over="ignore"):   # beyond float32 -> inf, masked below
        kp = np.array(keypoints, dtype=np.float32).reshape(np.shape(keypoints))
    bad = ~visible(kp, 0.0) if mask else ~(coords_ok(kp[..., :2]) & np.isfinite(kp[..., 2]))
    kp[bad, :2] = np.nan
    kp[bad, 2] = 0.0
    np.clip(kp[..., 2], 0.0, 1.0, out=kp[..., 2])
    return kp


def clean_scores(scores: np.ndarray | float) -> np.ndarray:
    """Confidences in [0, 1]; NaN and inf count as 0 (no confidence)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.where(np.isfinite(s), np.clip(s, 0.0, 1.0), 0.0)


def clean_boxes(boxes: np.ndarray) -> np.ndarray:
    """(..., 4) float32 copy; a box that is not :func:`box_ok` or has no area (unset: all
    zeros) becomes all NaN: no box."""
    with np.errstate(over="ignore"):
        b = np.array(boxes, dtype=np.float32).reshape(np.shape(boxes))
    ok = coords_ok(b) & (b[..., 2] > b[..., 0]) & (b[..., 3] > b[..., 1])
    b[~ok] = np.nan
    return b


def clean_points(points: np.ndarray) -> np.ndarray:
    """(..., 3) float32 copy; points with a non-finite or absurd coordinate become NaN."""
    with np.errstate(over="ignore"):
        p = np.array(points, dtype=np.float32).reshape(np.shape(points))
    p[~coords_ok(p)] = np.nan
    return p


def clean_ages(ages: np.ndarray | float) -> np.ndarray:
    """Seconds since a pose was measured: finite and >= 0, else 0."""
    a = np.asarray(ages, dtype=np.float64)
    return np.where(np.isfinite(a) & (a >= 0), a, 0.0)


def clean_enum(values: np.ndarray | int, enum: type[IntEnum], default: IntEnum) -> np.ndarray:
    """Message enum values; unknown ones become ``default``."""
    v = np.asarray(values, dtype=np.int64)
    if v.ndim == 0:   # one message field (every skeleton of every frame): no isin
        return v if int(v) in enum._value2member_map_ else np.asarray(int(default), dtype=np.int64)
    return np.where(np.isin(v, [int(e) for e in enum]), v, int(default))
