"""How alike two people are: keypoint OKS and body shape, vectorised over pairs.

The tracker's association costs (tracker.py) are built from these and from box IoU
(core/geometry.py, re-exported here); they know nothing about tracks or time.
"""
from __future__ import annotations

import numpy as np

from pose_ros.core.geometry import iou_matrix as iou_matrix
from pose_ros.core.skeleton import COCO17_SIGMAS, NUM_COCO17

_OKS_K2 = (2.0 * COCO17_SIGMAS) ** 2
# Body-shape descriptor: symmetric limb pairs, averaged over the sides seen, so a
# person turning round (left/right swap) keeps the same descriptor.
_SHAPE_LIMBS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((5, 6),), ((11, 12),),                 # shoulder width, hip width
    ((5, 7), (6, 8)), ((7, 9), (8, 10)),    # upper arm, forearm
    ((11, 13), (12, 14)), ((13, 15), (14, 16)),  # thigh, shin
)


def oks(kp_a: np.ndarray, kp_b: np.ndarray, area: np.ndarray | float,
        min_score: float = 0.1) -> np.ndarray:
    """Object keypoint similarity of (..., 17, 3) keypoint sets, broadcast over leading axes.

    ``area`` (pixels^2, broadcast to the leading shape) sets the scale, as in COCO.
    Only joints seen in both sets count, so a half-visible person is compared on
    what is there. NaN where no joint is shared: "no evidence", not "dissimilar".
    For an (N, M) matrix pass ``kp_a[:, None]`` and ``kp_b[None]``.
    """
    a = np.asarray(kp_a, dtype=np.float64)
    b = np.asarray(kp_b, dtype=np.float64)
    d2 = np.sum((a[..., :2] - b[..., :2]) ** 2, axis=-1)
    ok = (a[..., 2] > min_score) & (b[..., 2] > min_score) & np.isfinite(d2)
    s2 = np.maximum(np.asarray(area, dtype=np.float64), 1.0)[..., None]
    e = np.where(ok, np.exp(-np.where(ok, d2, 0.0) / (2.0 * s2 * _OKS_K2)), 0.0)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, e.sum(axis=-1) / n, np.nan)


def body_shape(keypoints: np.ndarray, min_score: float = 0.2) -> np.ndarray:
    """(N, 6) limb lengths divided by torso length from (N, 17, 3) keypoints; NaN if unseen.

    Ratios do not depend on distance to the camera, so they help tell two people
    apart when position alone cannot (re-identification after an occlusion).
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, NUM_COCO17, 3)
    xy = np.where((kp[..., 2:] > min_score) & np.isfinite(kp[..., :2]), kp[..., :2], np.nan)

    def seg(pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
        lens = np.stack([np.linalg.norm(xy[:, i] - xy[:, j], axis=-1) for i, j in pairs], axis=1)
        n = np.isfinite(lens).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, np.nansum(lens, axis=1) / n, np.nan)

    torso = seg(((5, 11), (6, 12)))
    desc = np.stack([seg(p) for p in _SHAPE_LIMBS], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(torso[:, None] > 1.0, desc / torso[:, None], np.nan)


def shape_similarity(sa: np.ndarray, sb: np.ndarray, scale: float = 0.1,
                     min_shared: int = 2) -> np.ndarray:
    """(N, M) similarity in (0, 1] of shape descriptors; NaN with fewer than ``min_shared`` limbs."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.abs(np.log(sa[:, None, :] / sb[None, :, :]))
    ok = np.isfinite(lr)
    n = ok.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(ok, lr, 0.0).sum(axis=2) / n
    return np.where(n >= min_shared, np.exp(-d / scale), np.nan)
