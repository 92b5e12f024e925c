"""Boxes and points: the one place for coordinate validity, IoU, greedy NMS and keypoint boxes.

Detection (NMS, duplicate suppression, followed-box matching) and tracking (association
costs) both need these; they live here so that neither stage imports the other for
geometry, and so that every detector suppresses duplicates by the same rule.
Boxes are xyxy pixels throughout.
"""
from __future__ import annotations

import numpy as np

# Coordinates beyond this magnitude (pixels; metres for 3D points) come from a broken
# detector, not from a camera: every stage treats them as missing, like NaN, so that
# none of them squares or subtracts them into inf (or a float32 cast into an overflow).
MAX_COORD = 1e6


def coords_ok(points: np.ndarray) -> np.ndarray:
    """Boolean (...,): all coordinates along the last axis finite and within +-MAX_COORD."""
    return (np.abs(np.asarray(points)) <= MAX_COORD).all(axis=-1)   # NaN compares False


def visible(keypoints: np.ndarray, min_score: float = 0.0) -> np.ndarray:
    """Boolean (...,) of (..., 3+) keypoints: the one rule for "this joint is there".

    x, y finite and within :data:`MAX_COORD`, score finite and strictly above
    ``min_score`` (a joint scored exactly ``min_score`` is missing). Drawing and the
    smoother use their own ``>=`` display/filter thresholds on top of the message
    convention; everything that reasons about the body uses this.
    """
    kp = np.asarray(keypoints)
    score = kp[..., 2]
    ok = coords_ok(kp[..., :2]) & np.isfinite(score)
    return ok & (np.where(ok, score, 0.0) > min_score)


def box_ok(box: np.ndarray | None) -> bool:
    """4 finite numbers within MAX_COORD with x_min <= x_max and y_min <= y_max."""
    if box is None:
        return False
    b = np.asarray(box)
    return b.shape == (4,) and bool(coords_ok(b)) and b[0] <= b[2] and b[1] <= b[3]


def keypoint_box(keypoints: np.ndarray, min_score: float = 0.05, min_joints: int = 1) -> np.ndarray | None:
    """Tight box around the keypoints :func:`visible` above ``min_score``.

    None when fewer than ``min_joints`` are (a crop wants a few joints before it trusts
    a box), and for an array that is not (N, 3+): no scores, no visible keypoint.
    """
    kp = np.asarray(keypoints)
    if kp.ndim != 2 or kp.shape[1] < 3:
        return None
    ok = visible(kp, min_score)
    if int(ok.sum()) < max(1, min_joints):
        return None
    pts = kp[ok, :2]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``boxes_a`` (N, 4) with every box in ``boxes_b`` (M, 4); 0 for empty boxes."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    return np.nan_to_num(iou, nan=0.0, posinf=0.0, neginf=0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int | None = None,
        max_candidates: int | None = None) -> np.ndarray:
    """Greedy class-agnostic NMS: indices of the kept boxes, best score first.

    A box is dropped when its IoU with a kept, better-scored box exceeds ``iou_threshold``.
    The IoU matrix of the ``max_candidates`` best boxes (all when None) is computed once;
    the greedy pass then only ORs rows, and stops as soon as ``max_keep`` boxes are kept.
    """
    scores = np.asarray(scores)
    if len(scores) == 0 or (max_keep is not None and max_keep <= 0):
        return np.zeros(0, np.intp)
    order = np.argsort(-scores, kind="stable")[:max_candidates]
    iou = iou_matrix(np.asarray(boxes)[order], np.asarray(boxes)[order])
    suppressed = np.zeros(len(order), bool)
    keep: list[int] = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        if max_keep is not None and len(keep) >= max_keep:
            break
        suppressed |= iou[i] > iou_threshold
    return order[np.asarray(keep, np.intp)]


__all__ = ["MAX_COORD", "box_ok", "coords_ok", "iou_matrix", "keypoint_box", "nms", "visible"]
