"""Pose features: normalisation, joint angles, velocities and window summary vectors.

Everything here works on COCO-17 keypoint arrays, ``(17, 3)`` for one person in one
frame or ``(T, 17, 3)`` for a track over time, with x, y in pixels (y down) and a
score in the last column. A joint is *missing* when its score is <= ``min_score``
or a coordinate is not finite (or beyond ``skeleton.MAX_COORD``: a broken detection);
missing joints produce NaN, never a warning and never a division by zero. Arrays of
another shape are a ValueError. Time is always given as stamps in seconds (never
frame counts), so results do not depend on the camera rate or on dropped frames.

The per-track time window, :class:`TrackWindow`, lives in ``track_window.py`` and is
re-exported here.

No rclpy import here: the nodes, the bag tools and the benchmarks share this code.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pose_ros.core.skeleton import NUM_COCO17, Coco, coords_ok, visible
from pose_ros.core.features.window import TrackWindow

__all__ = [
    "JOINT_ANGLE_NAMES", "TrackWindow", "body_centres", "joint_angle_array", "joint_angles",
    "normalize_pose", "torso_length", "visible_mask",
]

_EPS = 1e-6
_HIPS = np.array([Coco.LEFT_HIP, Coco.RIGHT_HIP])
_SHOULDERS = np.array([Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER])

JOINT_ANGLE_NAMES: tuple[str, ...] = (
    "left_elbow", "right_elbow", "left_shoulder", "right_shoulder",
    "left_hip", "right_hip", "left_knee", "right_knee", "trunk_lean",
)


# --------------------------------------------------------------------------- helpers
def _as_batch(kp: Any) -> tuple[np.ndarray, bool]:
    """float64 (T, 17, C) copy-free view plus whether the input was a single frame."""
    a = np.asarray(kp, dtype=np.float64)
    if a.ndim not in (2, 3) or a.shape[-2] != NUM_COCO17 or a.shape[-1] < 3:
        raise ValueError(f"expected (17, C) or (T, 17, C) keypoints with C >= 3, got shape {a.shape}")
    return (a[None], True) if a.ndim == 2 else (a, False)


def visible_mask(kp: np.ndarray, min_score: float = 0.0, is_3d: bool = False) -> np.ndarray:
    """Boolean (..., 17): joint present (finite coordinates within ``MAX_COORD`` and
    score > ``min_score``).

    With ``is_3d`` the last column is z, not a score, and only the coordinates count.
    """
    kp = np.asarray(kp)
    if kp.ndim < 1 or kp.shape[-1] < 3:
        raise ValueError(f"expected (..., C) keypoints with C >= 3, got shape {kp.shape}")
    if is_3d:
        return coords_ok(kp[..., :3])
    return visible(kp, min_score)


def _masked(pts: np.ndarray, vis: np.ndarray) -> np.ndarray:
    return np.where(vis[..., None], pts, np.nan)


def _centre(pts: np.ndarray, vis: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of the visible joints ``idx`` -> (T, D); NaN where none is visible."""
    sel_v = vis[:, idx]
    cnt = sel_v.sum(axis=1)
    s = np.where(sel_v[..., None], pts[:, idx], 0.0).sum(axis=1)
    out = np.full(s.shape, np.nan)
    np.divide(s, cnt[:, None], out=out, where=cnt[:, None] > 0)
    return out


def body_centres(kp: np.ndarray, min_score: float = 0.0, is_3d: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Shoulder centre and hip centre, each (T, D) or (D,); NaN when both joints are missing.

    The centre is the mean of the *visible* joints of the pair, so one visible hip
    still gives a hip centre.
    """
    b, single = _as_batch(kp)
    d = 3 if is_3d else 2
    vis = visible_mask(b, min_score, is_3d)
    pts = _masked(b[..., :d], vis)
    sc, hc = _centre(pts, vis, _SHOULDERS), _centre(pts, vis, _HIPS)
    return (sc[0], hc[0]) if single else (sc, hc)


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(v * v, axis=-1))


def torso_length(kp: np.ndarray, min_score: float = 0.0, is_3d: bool = False) -> np.ndarray:
    """Distance shoulder centre -> hip centre, (T,) or scalar; NaN when missing or ~0."""
    sc, hc = body_centres(kp, min_score, is_3d)
    t = _norm(sc - hc)
    return np.where(t > _EPS, t, np.nan)


def _y_extent(b: np.ndarray, vis: np.ndarray) -> np.ndarray:
    y = b[..., 1]
    hi = np.where(vis, y, -np.inf).max(axis=1)
    lo = np.where(vis, y, np.inf).min(axis=1)
    return np.where(vis.any(axis=1), hi - lo, 0.0)


# ---------------------------------------------------------------------- normalisation
def normalize_pose(kp: np.ndarray, box: np.ndarray | None = None,
                   min_score: float = 0.0) -> np.ndarray:
    """Translate and scale 2D keypoints into a body-centred, size-free frame.

    ``kp`` is (17, 3) or (T, 17, 3); the result has the same shape, float64, with x, y
    replaced by ``(p - origin) / scale`` and the score kept (0 for missing joints).

    * origin: hip centre (mean of the visible hips), else shoulder centre, else the
      centroid of the visible joints;
    * scale: torso length (shoulder centre to hip centre); when it is missing, a third
      of the box height (``box`` (4,) or (T, 4) as x_min, y_min, x_max, y_max, or the
      vertical extent of the visible keypoints when no box is given); 1 as a last resort.

    Missing joints stay NaN. After normalisation a standing upright person has the hip
    centre at (0, 0) and the shoulder centre near (0, -1) (y still points down).
    """
    b, single = _as_batch(kp)
    vis = visible_mask(b, min_score)
    xy = _masked(b[..., :2], vis)
    sc = _centre(xy, vis, _SHOULDERS)
    hc = _centre(xy, vis, _HIPS)
    origin = np.where(np.isfinite(hc), hc, sc)
    cen = _centre(xy, vis, np.arange(NUM_COCO17))
    origin = np.where(np.isfinite(origin), origin, cen)

    torso = _norm(sc - hc)
    if box is not None:
        bx = np.asarray(box, dtype=np.float64).reshape(-1, 4)
        bh = np.broadcast_to(bx[:, 3] - bx[:, 1], (b.shape[0],))
    else:
        bh = _y_extent(b, vis)
    bh = bh / 3.0
    scale = np.where(np.isfinite(torso) & (torso > _EPS), torso,
                     np.where(np.isfinite(bh) & (bh > _EPS), bh, 1.0))

    out = np.empty_like(b[..., :3])
    out[..., :2] = (xy - origin[:, None, :]) / scale[:, None, None]
    out[..., 2] = np.where(vis, b[..., 2], 0.0)
    return out[0] if single else out


# ------------------------------------------------------------------------ joint angles
def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors (..., D) in [0, pi]; NaN if either is ~0 or NaN."""
    dot = np.sum(u * v, axis=-1)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = _norm(np.cross(u, v))
    ang = np.arctan2(cross, dot)
    ok = (_norm(u) > _EPS) & (_norm(v) > _EPS)        # NaN compares False -> NaN out
    return np.where(ok, ang, np.nan)


def angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at ``b`` of the triangle a-b-c (pi = straight limb)."""
    return angle_between(a - b, c - b)


def joint_angle_array(kp: np.ndarray, is_3d: bool = False,
                      min_score: float = 0.0) -> np.ndarray:
    """Joint angles in radians, (T, len(JOINT_ANGLE_NAMES)) or (len,) for one frame.

    Columns follow :data:`JOINT_ANGLE_NAMES`:

    * ``*_elbow``: angle at the elbow between upper arm and forearm (pi = straight);
    * ``*_shoulder``: angle between the upper arm (shoulder -> elbow) and the trunk
      (shoulder -> same-side hip, else shoulder centre -> hip centre): 0 arm hanging
      down, pi/2 horizontal, pi straight up;
    * ``*_hip``: angle at the hip between the same-side shoulder and knee (pi = upright);
    * ``*_knee``: angle at the knee between hip and ankle (pi = straight);
    * ``trunk_lean``: signed angle of the hip-centre -> shoulder-centre vector from the
      image vertical (up): 0 upright, +pi/2 leaning over to the image right (+x),
      -pi/2 to the image left, +-pi upside down.

    ``kp`` is 2D keypoints (x, y, score) or, with ``is_3d``, 3D points (x, y, z) with
    NaN for missing joints (camera optical frame: y down, so "vertical" is -y; the
    lean is then measured from -y in 3D and signed by x). NaN where joints are missing.
    """
    b, single = _as_batch(kp)
    d = 3 if is_3d else 2
    vis = visible_mask(b, min_score, is_3d)
    p = _masked(b[..., :d], vis)
    sc, hc = _centre(p, vis, _SHOULDERS), _centre(p, vis, _HIPS)
    trunk = hc - sc
    out = np.empty((b.shape[0], len(JOINT_ANGLE_NAMES)))
    C = Coco
    out[:, 0] = angle_at(p[:, C.LEFT_SHOULDER], p[:, C.LEFT_ELBOW], p[:, C.LEFT_WRIST])
    out[:, 1] = angle_at(p[:, C.RIGHT_SHOULDER], p[:, C.RIGHT_ELBOW], p[:, C.RIGHT_WRIST])
    for col, (sh, el, hip) in ((2, (C.LEFT_SHOULDER, C.LEFT_ELBOW, C.LEFT_HIP)),
                               (3, (C.RIGHT_SHOULDER, C.RIGHT_ELBOW, C.RIGHT_HIP))):
        down = p[:, hip] - p[:, sh]
        down = np.where(np.isfinite(down).all(axis=-1, keepdims=True), down, trunk)
        out[:, col] = angle_between(p[:, el] - p[:, sh], down)
    out[:, 4] = angle_at(p[:, C.LEFT_SHOULDER], p[:, C.LEFT_HIP], p[:, C.LEFT_KNEE])
    out[:, 5] = angle_at(p[:, C.RIGHT_SHOULDER], p[:, C.RIGHT_HIP], p[:, C.RIGHT_KNEE])
    out[:, 6] = angle_at(p[:, C.LEFT_HIP], p[:, C.LEFT_KNEE], p[:, C.LEFT_ANKLE])
    out[:, 7] = angle_at(p[:, C.RIGHT_HIP], p[:, C.RIGHT_KNEE], p[:, C.RIGHT_ANKLE])
    up = sc - hc
    up_vertical = np.zeros(d)
    up_vertical[1] = -1.0
    lean = angle_between(up, np.broadcast_to(up_vertical, up.shape))
    out[:, 8] = np.where(up[:, 0] < 0, -lean, lean)
    return out[0] if single else out


def joint_angles(kp: np.ndarray, is_3d: bool = False, min_score: float = 0.0
                 ) -> dict[str, float]:
    """Joint angles of one frame as ``{name: radians}`` (see :func:`joint_angle_array`)."""
    a = np.asarray(kp)
    if a.ndim != 2:
        raise ValueError(f"joint_angles takes one frame (17, 3), got shape {a.shape}")
    arr = joint_angle_array(a, is_3d=is_3d, min_score=min_score)
    return {n: float(v) for n, v in zip(JOINT_ANGLE_NAMES, arr)}
