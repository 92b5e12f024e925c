"""Square person crops for single-person pose models, and the way back to image pixels.

A single-person model such as MoveNet Thunder wants the person centred in a square
input with the body's aspect kept: a person box is widened to a square (plus a
margin so that limbs outside a tight box stay in view) and cut with one affine
warp, whose border is black where the square leaves the image. Keypoints come back
normalised to the crop and map to the image by the same centre and side.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.geometry import keypoint_box
from pose_ros.core.skeleton import COCO17_FLIP


def square_around(box: np.ndarray, margin: float) -> np.ndarray:
    """(cx, cy, side): the square centred on ``box`` (xyxy) whose side is its longer side x (1 + margin)."""
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + margin)
    return np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0, side], np.float64)


def cut(rgb: np.ndarray, square: np.ndarray, size: int) -> np.ndarray:
    """The (size, size, 3) crop of ``square`` (cx, cy, side), black outside the image.

    Only the square's own pixels (and 2 px around, for interpolation) are handed to
    OpenCV: it copies a non-contiguous array whole before warping, and a camera image
    seen as RGB is a reversed view of a BGR buffer (a 1280x960 copy per crop, 8 ms).
    """
    cx, cy, side = (float(v) for v in square)
    h, w = rgb.shape[:2]
    x0 = min(max(int(np.floor(cx - side / 2.0)) - 2, 0), w)
    y0 = min(max(int(np.floor(cy - side / 2.0)) - 2, 0), h)
    x1 = max(min(int(np.ceil(cx + side / 2.0)) + 3, w), x0)
    y1 = max(min(int(np.ceil(cy + side / 2.0)) + 3, h), y0)
    s = size / side
    interp = cv2.INTER_AREA if s < 0.5 else cv2.INTER_LINEAR
    if x1 <= x0 or y1 <= y0:     # the square lies wholly outside the image
        return np.zeros((size, size, 3), rgb.dtype)
    m = np.array([[s, 0.0, size / 2.0 - s * (cx - x0)], [0.0, s, size / 2.0 - s * (cy - y0)]], np.float64)
    return cv2.warpAffine(rgb[y0:y1, x0:x1], m, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def to_image(yxs: np.ndarray, square: np.ndarray) -> np.ndarray:
    """(17, 3) x, y pixels and score from MoveNet's (17, 3) y, x (crop-normalised) and score."""
    cx, cy, side = square
    out = np.empty((yxs.shape[0], 3), np.float32)
    out[:, 0] = cx + (yxs[:, 1] - 0.5) * side
    out[:, 1] = cy + (yxs[:, 0] - 0.5) * side
    out[:, 2] = yxs[:, 2]
    return out


def unflip(yxs: np.ndarray) -> np.ndarray:
    """MoveNet output for a mirrored crop -> the same points in the unmirrored crop, joints swapped back."""
    out = yxs[COCO17_FLIP].copy()
    out[:, 1] = 1.0 - out[:, 1]
    return out


def merge_flip(a: np.ndarray, b: np.ndarray, agree: float = 0.04) -> np.ndarray:
    """One (17, 3) y, x, score result from two passes over one crop (e.g. plain and mirrored).

    Where the passes agree (within ``agree`` of the crop side) the positions are averaged,
    weighted by score; where they disagree, one of them found another person's joint or
    a wrong limb, and the midpoint would be wrong either way, so the surer pass wins. The
    score is the plain mean, so a disagreement lowers it.
    """
    wa = a[:, 2:3] + 1e-6
    wb = b[:, 2:3] + 1e-6
    out = np.empty_like(a)
    out[:, :2] = (a[:, :2] * wa + b[:, :2] * wb) / (wa + wb)
    far = np.hypot(*(a[:, :2] - b[:, :2]).T) > agree
    out[far, :2] = np.where((a[far, 2] >= b[far, 2])[:, None], a[far, :2], b[far, :2])
    out[:, 2] = (a[:, 2] + b[:, 2]) / 2.0
    return out


def _grown_box(kp: np.ndarray, min_score: float, min_joints: int, side: float, top: float,
               bottom: float) -> np.ndarray | None:
    """The keypoint box grown by fractions of its longer side; None when too few joints."""
    box = keypoint_box(kp, min_score, min_joints)
    if box is None:
        return None
    size = max(box[2] - box[0], box[3] - box[1], 1.0)
    return np.array([box[0] - side * size, box[1] - top * size, box[2] + side * size,
                     box[3] + bottom * size], np.float32)


def pose_box(kp: np.ndarray, min_score: float, min_joints: int = 4) -> np.ndarray | None:
    """Person box from a pose: the keypoint box grown where the pose suggests unseen body.

    The keypoint box of a full skeleton is tighter than a person box (no head top,
    no feet, no hands beyond the wrists); growing it by 10% per side, and by a fifth
    of the body's height at the top for the head, brings it back to the size the crop
    margin was chosen for.
    """
    return _grown_box(kp, min_score, min_joints, side=0.1, top=0.2, bottom=0.1)


def person_box(kp: np.ndarray, min_score: float, min_joints: int = 4) -> np.ndarray | None:
    """Person box as annotators draw it, from a pose: the keypoint box grown by 5 % of its
    longer side left and right and by 10 % up (head top) and down (feet).

    Those are the median margins of COCO's boxes around fully labelled people
    (coco-val-mini). :func:`pose_box` is wider on purpose, to crop with room; as the
    reported box of a followed person it overstated width by a third, and fewer boxes
    reached IoU 0.5 with annotated ones (PETS09 tracking, docs/benchmarks.md).
    """
    return _grown_box(kp, min_score, min_joints, side=0.05, top=0.1, bottom=0.1)


__all__ = ["cut", "merge_flip", "person_box", "pose_box", "square_around", "to_image", "unflip"]
