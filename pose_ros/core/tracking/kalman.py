"""Batched constant-velocity Kalman filter on person boxes, driven by time stamps.

State per track: ``(cx, cy, w, h, vcx, vcy, vw, vh)`` in pixels and pixels per
second. All tracks share one ``dt`` per frame, so predict and update run on
stacked ``(N, 8)`` / ``(N, 8, 8)`` arrays: 50 people cost the same handful of
numpy calls as one. Noise scales with the box height because a near person
(big box) moves and jitters more pixels than a far one.
"""
from __future__ import annotations

import numpy as np

_F_CACHE: dict[float, np.ndarray] = {}
MAX_DT = 1e6   # seconds (11 days): the longest step :func:`predict` extrapolates


def transition(dt: float) -> np.ndarray:
    """(8, 8) constant-velocity transition for ``dt`` seconds."""
    F = _F_CACHE.get(dt)
    if F is None:
        F = np.eye(8)
        F[:4, 4:] = np.eye(4) * dt
        if len(_F_CACHE) < 256:  # frame periods repeat; do not grow without bound
            _F_CACHE[dt] = F
    return F


def init_state(z: np.ndarray, meas_std: float = 0.03, vel_std: float = 1.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """State and covariance for new tracks from boxes ``z`` (N, 4) cx, cy, w, h.

    The velocity is unknown at birth, so its standard deviation is large
    (``vel_std`` box heights per second): the second measurement then sets it.
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    n = len(z)
    x = np.zeros((n, 8))
    x[:, :4] = z
    h = np.maximum(z[:, 3], 1.0)
    std = np.concatenate([np.repeat((2 * meas_std * h)[:, None], 4, axis=1),
                          np.repeat((vel_std * h)[:, None], 4, axis=1)], axis=1)
    P = np.zeros((n, 8, 8))
    idx = np.arange(8)
    P[:, idx, idx] = std ** 2
    return x, P


def predict(x: np.ndarray, P: np.ndarray, dt: float, accel_std: float = 3.0,
            size_accel_std: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Advance all tracks by ``dt`` seconds (white-noise acceleration model).

    ``accel_std`` is in box heights per second squared: people start, stop and
    turn, so the centre gets more process noise than the box size. ``dt`` must be
    finite and at most :data:`MAX_DT` (a ValueError otherwise): a longer gap is a
    new scene, not something to extrapolate (and ``dt ** 4`` would overflow).
    """
    dt = float(dt)
    if not dt <= MAX_DT:    # NaN, inf or too long (dt <= 0 predicts nothing, below)
        raise ValueError(f"prediction time step must be finite and <= {MAX_DT:g} s, got {dt}")
    if len(x) == 0 or dt <= 0.0:
        return x, P
    F = transition(dt)
    x = x @ F.T
    h = np.maximum(x[:, 3], 1.0)
    sa = np.empty((len(x), 4))
    sa[:, :2] = (accel_std * h)[:, None]
    sa[:, 2:] = (size_accel_std * h)[:, None]
    var = sa ** 2
    Q = np.zeros_like(P)
    i = np.arange(4)
    Q[:, i, i] = var * dt ** 4 / 4.0
    Q[:, i, i + 4] = Q[:, i + 4, i] = var * dt ** 3 / 2.0
    Q[:, i + 4, i + 4] = var * dt ** 2
    P = F @ P @ F.T + Q
    x[:, 2:4] = np.maximum(x[:, 2:4], 1.0)  # a box never shrinks through zero
    return x, P


def update(x: np.ndarray, P: np.ndarray, z: np.ndarray, meas_std: float = 0.03
           ) -> tuple[np.ndarray, np.ndarray]:
    """Correct tracks ``x`` with measured boxes ``z`` (N, 4), row for row."""
    if len(x) == 0:
        return x, P
    h = np.maximum(z[:, 3], 1.0)
    R = np.zeros((len(x), 4, 4))
    i = np.arange(4)
    R[:, i, i] = ((meas_std * h) ** 2)[:, None]
    S = P[:, :4, :4] + R
    PHt = P[:, :, :4]                                   # P H^T, (N, 8, 4)
    K = np.linalg.solve(S, PHt.transpose(0, 2, 1)).transpose(0, 2, 1)  # S symmetric
    innov = z - x[:, :4]
    x = x + np.einsum("nij,nj->ni", K, innov)
    P = P - K @ P[:, :4, :]
    P = 0.5 * (P + P.transpose(0, 2, 1))                # keep it symmetric
    x[:, 2:4] = np.maximum(x[:, 2:4], 1.0)
    return x, P


def xyxy_to_cxcywh(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    return np.stack([(b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2,
                     np.maximum(b[..., 2] - b[..., 0], 1.0),
                     np.maximum(b[..., 3] - b[..., 1], 1.0)], axis=-1)


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    return np.stack([b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2,
                     b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2], axis=-1)
