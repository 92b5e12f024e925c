"""Viewpoint and estimator model of :mod:`pose_ros.training.synth`.

A random pinhole camera around the person (train / test viewpoint bands), its
projection to pixels, irregular stamps, and what a pose backend adds on top: noise,
per-keypoint scores, dropouts, outliers, left/right swaps and close framing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy import radians as _D

from pose_ros.core.skeleton import COCO17_FLIP, COCO17_SIGMAS, NUM_COCO17
from pose_ros.core.skeleton import Coco as C
from pose_ros.training.body import Body, uniform_except

IMAGE_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (960, 540), (1280, 720), (1920, 1080), (848, 480))
# Held out of the training split (degrees of camera yaw around the person, 0 = in front).
HELDOUT_YAW_BANDS: tuple[tuple[float, float], ...] = ((37.5, 52.5), (127.5, 142.5), (217.5, 232.5),
                                                      (307.5, 322.5))
ELEVATION_RANGE = (-25.0, 40.0)
HELDOUT_ELEVATION = (10.0, 16.0)


def _from_bands(rng: np.random.Generator, bands: tuple[tuple[float, float], ...]) -> float:
    lengths = np.array([b - a for a, b in bands])
    k = int(rng.choice(len(bands), p=lengths / lengths.sum()))
    return float(rng.uniform(*bands[k]))


@dataclass
class Camera:
    f: float
    width: int
    height: int
    centre: np.ndarray      # (3,) world
    R: np.ndarray           # (3, 3) rows: camera x (right), y (down), z (forward) in world
    offset: np.ndarray      # (2,) pixel shift of the principal point (off-centre framing)
    yaw_deg: float
    elevation_deg: float
    pan: float = 0.0        # rad/s the camera turns about the vertical (a robot head panning)

    def project(self, pts: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
        """(T, ..., 3) world -> (T, ..., 3) u, v, depth; ``t`` (T,) seconds for a panning camera."""
        rel = pts - self.centre
        if self.pan and t is not None:
            a = self.pan * (np.asarray(t, float) - float(np.mean(t)))
            ca, sa = np.cos(a), np.sin(a)
            shape = (-1,) + (1,) * (rel.ndim - 2)
            ca, sa = ca.reshape(shape), sa.reshape(shape)
            x, y = rel[..., 0], rel[..., 1]
            rel = np.stack([ca * x + sa * y, -sa * x + ca * y, rel[..., 2]], -1)
        c = rel @ self.R.T
        d = c[..., 2]
        safe = np.where(d > 0.1, d, np.nan)
        u = self.f * c[..., 0] / safe + self.width / 2 + self.offset[0]
        v = self.f * c[..., 1] / safe + self.height / 2 + self.offset[1]
        return np.stack([u, v, d], -1)


def random_camera(rng: np.random.Generator, body: Body, target: np.ndarray, heading: float,
                  path_len: float, split: str = "train", image_size: tuple[int, int] | None = None) -> Camera:
    if image_size is None:
        image_size = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    w, h = image_size
    if split == "test":
        yaw = _from_bands(rng, HELDOUT_YAW_BANDS)
        elev = rng.uniform(*HELDOUT_ELEVATION)
    elif split == "train":
        yaw = uniform_except(rng, 0.0, 360.0, HELDOUT_YAW_BANDS)
        elev = uniform_except(rng, *ELEVATION_RANGE, (HELDOUT_ELEVATION,))
    else:
        yaw, elev = rng.uniform(0, 360), rng.uniform(*ELEVATION_RANGE)
    hfov = _D(rng.uniform(45, 100))
    f = w / 2 / math.tan(hfov / 2)
    px = math.exp(rng.uniform(math.log(60), math.log(0.92 * h)))   # person height in pixels
    dist = f * body.height / px
    if rng.random() < 0.75:  # keep most of the path in view
        dist = max(dist, 0.5 * path_len / (0.9 * math.tan(hfov / 2)))
    dist = max(dist, 1.2, 0.6 * path_len + 1.0)
    az = heading + _D(yaw)
    e = _D(elev)
    centre = target + dist * np.array([math.cos(az) * math.cos(e), math.sin(az) * math.cos(e), math.sin(e)])
    zc = target - centre
    zc /= np.linalg.norm(zc)
    xc = np.cross(zc, [0.0, 0.0, 1.0])
    xc /= np.linalg.norm(xc)
    yc = np.cross(zc, xc)
    roll = _D(rng.normal(0, 2.5))
    xr = math.cos(roll) * xc + math.sin(roll) * yc
    yr = -math.sin(roll) * xc + math.cos(roll) * yc
    offset = np.array([rng.uniform(-0.3, 0.3) * w, rng.uniform(-0.2, 0.2) * h])
    pan = _D(rng.normal(0, 8)) if rng.random() < 0.15 else 0.0
    return Camera(f, w, h, centre, np.stack([xr, yr, zc]), offset, yaw, elev, pan)


# ------------------------------------------------------------------- estimator model
_JOINT_SCORE = np.array([0.95, 0.93, 0.93, 0.85, 0.85, 0.95, 0.95, 0.85, 0.85, 0.75, 0.75,
                         0.85, 0.85, 0.82, 0.82, 0.72, 0.72])
_LIMBS = ((C.LEFT_ELBOW, C.LEFT_WRIST), (C.RIGHT_ELBOW, C.RIGHT_WRIST), (C.LEFT_KNEE, C.LEFT_ANKLE),
          (C.RIGHT_KNEE, C.RIGHT_ANKLE), (C.LEFT_WRIST,), (C.RIGHT_WRIST,), (C.LEFT_ANKLE,), (C.RIGHT_ANKLE,))


def sample_stamps(rng: np.random.Generator, duration: float, fps: float | None, jitter: bool) -> np.ndarray:
    fps = float(rng.uniform(10, 30)) if fps is None else float(fps)
    if not jitter:
        n = int(math.floor(duration * fps + 1e-6)) + 1
        return np.arange(n) / fps
    sd = rng.uniform(0.0, 0.15)
    n = int(duration * fps * 1.5) + 4
    dt = np.clip(1.0 / fps * (1 + rng.normal(0, sd, n)), 0.2 / fps, None)
    s = np.concatenate([[0.0], np.cumsum(dt)])
    s = s[s <= duration + 1e-9]
    drop = rng.random(len(s)) < rng.uniform(0.0, 0.1)
    drop[-1] = False                        # the window ends at the newest sample
    return s[~drop]


def apply_estimator(rng: np.random.Generator, uvd: np.ndarray, world: np.ndarray, cam: Camera,
               noise: bool) -> np.ndarray:
    """(T, 17, 3) pixels + scores like a pose backend reports them (NaN / 0 when missing)."""
    n = uvd.shape[0]
    uv = uvd[..., :2].copy()
    px = np.nanmedian(np.nanmax(uv[..., 1], 1) - np.nanmin(uv[..., 1], 1)) if n else 100.0
    px = max(float(px) if np.isfinite(px) else 100.0, 10.0)
    score = np.broadcast_to(_JOINT_SCORE, (n, NUM_COCO17)).copy()
    # Far side of the body and the face seen from behind score lower.
    to_cam = cam.centre[None] - world.mean(axis=1)
    to_cam /= np.linalg.norm(to_cam, axis=1, keepdims=True)
    lr = world[:, C.LEFT_SHOULDER] - world[:, C.RIGHT_SHOULDER] + world[:, C.LEFT_HIP] - world[:, C.RIGHT_HIP]
    lr /= np.maximum(np.linalg.norm(lr, axis=1, keepdims=True), 1e-6)
    side = np.sum(lr * to_cam, axis=1)                # > 0: the left side faces the camera
    face = world[:, C.NOSE] - 0.5 * (world[:, C.LEFT_EAR] + world[:, C.RIGHT_EAR])
    face /= np.maximum(np.linalg.norm(face, axis=1, keepdims=True), 1e-6)
    facing = np.sum(face * to_cam, axis=1)
    left = np.array([i for i in range(NUM_COCO17) if COCO17_FLIP[i] > i])
    right = COCO17_FLIP[left]
    if noise:
        score[:, left] *= (1 - 0.35 * np.clip(-side, 0, 1))[:, None]
        score[:, right] *= (1 - 0.35 * np.clip(side, 0, 1))[:, None]
        score[:, :3] *= (1 - 0.6 * np.clip(-facing, 0, 1))[:, None]
        quality = rng.uniform(0.55, 1.0) * np.clip(0.6 + px / 400, 0.6, 1.0)
        score = score * quality + rng.normal(0, 0.07, score.shape) + _slow_noise(rng, n, (NUM_COCO17,), 0.05)
        # position noise: white + slowly drifting, per-joint like COCO sigmas, worse for small people
        rel = rng.uniform(0.004, 0.025) * (1 + 40 / px)
        sig = (COCO17_SIGMAS / 0.079)[None, :, None] * rel * px
        uv = uv + rng.normal(0, 1, uv.shape) * sig + _slow_noise(rng, n, (NUM_COCO17, 2), 1.0) * sig
        # outliers: a joint jumps away with a low score
        out = rng.random((n, NUM_COCO17)) < rng.uniform(0, 0.015)
        uv[out] += rng.normal(0, 0.2 * px, (int(out.sum()), 2))
        score[out] = rng.uniform(0.05, 0.4, int(out.sum()))
        # left/right confusions in bursts, mostly in side views
        if rng.random() < 0.3 * float(np.mean(np.abs(side) < 0.5)) + 0.05:
            a = rng.integers(n)
            b = min(n, a + int(rng.integers(1, 6)))
            idx = np.arange(a, b)
            uv[idx] = uv[idx][:, COCO17_FLIP]
        # dropouts: single joints, and a limb missing for a while
        drop = rng.random((n, NUM_COCO17)) < rng.uniform(0.0, 0.12)
        for _ in range(int(rng.poisson(0.8))):
            limb = _LIMBS[rng.integers(len(_LIMBS))]
            a = rng.integers(n)
            drop[a:a + int(rng.integers(2, 12)), list(limb)] = True
        score[drop] = 0.0
    score = np.clip(score, 0.0, 1.0)
    outside = ~np.isfinite(uv).all(-1) | (uv[..., 0] < 0) | (uv[..., 1] < 0) | \
        (uv[..., 0] >= cam.width) | (uv[..., 1] >= cam.height)
    if noise and n and rng.random() < 0.2:
        # framed close or behind a table: everything below a fixed image line is unseen
        with np.errstate(invalid="ignore"):
            top = np.nanmedian(np.nanmin(uvd[..., 1], axis=1))
            outside |= uv[..., 1] > top + rng.uniform(0.3, 0.85) * px
    score[outside] = 0.0
    kp = np.concatenate([uv, score[..., None]], -1).astype(np.float32)
    miss = kp[..., 2] < 0.05
    kp[miss, :2] = np.nan
    kp[miss, 2] = 0.0
    return kp


def _slow_noise(rng: np.random.Generator, n: int, shape: tuple[int, ...], sd: float) -> np.ndarray:
    """AR(1) noise along the first axis (correlated over a few frames)."""
    rho = rng.uniform(0.6, 0.95)
    e = rng.normal(0, sd * math.sqrt(1 - rho * rho), (n,) + shape)
    out = np.empty_like(e)
    acc = rng.normal(0, sd, shape)
    for i in range(n):
        acc = rho * acc + e[i]
        out[i] = acc
    return out
