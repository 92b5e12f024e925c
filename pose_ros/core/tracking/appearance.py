"""Clothing colour: what tells two people apart after one was hidden, when place, size and
body shape do not (PETS09: walkers crossing behind each other at 80 px, whose limb ratios are
noise). A colour histogram of the torso and one of the thighs, cut where the keypoints put
them; compared by the Bhattacharyya coefficient. Pure numpy / OpenCV, no ROS.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.geometry import visible
from pose_ros.core.skeleton import Coco

BINS = (6, 3, 3)              # HSV bins per region: coarse, a small person's torso is a few hundred pixels
SIZE = int(np.prod(BINS))     # per region; a descriptor is two regions
MIN_SIDE = 4                  # px: a region narrower or shorter carries no colour worth comparing
# The same person across frames mostly scores above COLOUR_SAME, two people mostly below COLOUR_OTHER.
COLOUR_SAME, COLOUR_OTHER = 0.8, 0.5
_KEEP = 0.8                   # a track's running descriptor: this much of the old, the rest of the new
_L = (Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER, Coco.LEFT_HIP, Coco.RIGHT_HIP, Coco.LEFT_KNEE, Coco.RIGHT_KNEE)


def _region_hist(rgb: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray | None:
    h, w = rgb.shape[:2]
    xa, xb = int(max(np.floor(x0), 0)), int(min(np.ceil(x1), w))
    ya, yb = int(max(np.floor(y0), 0)), int(min(np.ceil(y1), h))
    if xb - xa < MIN_SIDE or yb - ya < MIN_SIDE:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb[ya:yb, xa:xb]), cv2.COLOR_RGB2HSV)   # a small copy
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(BINS), [0, 180, 0, 256, 0, 256]).ravel()
    return hist / max(float(hist.sum()), 1.0)


def describe(rgb: np.ndarray, keypoints: np.ndarray, min_score: float = 0.3) -> np.ndarray | None:
    """(2 * SIZE,) float32: torso and thigh colour histograms (each sums to 1; NaN for a region
    the keypoints do not show), or None when neither shows. ``rgb`` is the frame (H, W, 3)."""
    kp = np.asarray(keypoints, np.float64)
    ok = visible(kp, min_score)
    ls, rs, lh, rh, lk, rk = _L
    out = np.full(2 * SIZE, np.nan, np.float32)
    if not (ok[ls] and ok[rs] and (ok[lh] or ok[rh])):
        return None
    sx = np.sort(kp[[ls, rs], 0])
    hips = [i for i in (lh, rh) if ok[i]]
    sy, hy = kp[[ls, rs], 1].mean(), kp[hips, 1].mean()
    width, torso = sx[1] - sx[0], hy - sy
    if width <= 0 or torso <= 0:
        return None
    # the torso between the shoulders, from a fifth below them to just above the hips (no
    # background beside the arms, no head); the thighs from the hips down a torso's half
    t = _region_hist(rgb, sx[0] + 0.15 * width, sy + 0.2 * torso, sx[1] - 0.15 * width, hy - 0.05 * torso)
    if t is not None:
        out[:SIZE] = t
    knees = [i for i in (lk, rk) if ok[i]]
    bottom = kp[knees, 1].mean() if knees else hy + 0.5 * torso
    g = _region_hist(rgb, sx[0] + 0.1 * width, hy + 0.1 * torso, sx[1] - 0.1 * width, min(bottom, hy + 0.6 * torso))
    if g is not None:
        out[SIZE:] = g
    return None if np.isnan(out).all() else out


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) Bhattacharyya coefficient in [0, 1] of descriptors (N, 2 * SIZE) and (M, 2 * SIZE),
    averaged over the regions both show; NaN where they share none."""
    a = np.asarray(a, np.float64).reshape(len(a), 2, SIZE)
    b = np.asarray(b, np.float64).reshape(len(b), 2, SIZE)
    bc = np.einsum("nrk,mrk->nmr", np.sqrt(np.nan_to_num(a)), np.sqrt(np.nan_to_num(b)))
    shown = np.isfinite(a[:, None, :, 0]) & np.isfinite(b[None, :, :, 0])
    n = shown.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(shown, bc, 0.0).sum(axis=2) / n, np.nan)


def factor(tracks: list[np.ndarray | None], people: np.ndarray, weight: float) -> np.ndarray:
    """(len(tracks), len(people)) in [1 - weight, 1], what a match similarity is multiplied by:
    1 for clothes alike (coefficient >= COLOUR_SAME), falling to 1 - weight at COLOUR_OTHER;
    1 where either has no colour (a predicted person, no torso in view, no image)."""
    nan = np.full(2 * SIZE, np.nan)
    mine = np.stack([t if t is not None else nan for t in tracks]) if len(tracks) else np.zeros((0, 2 * SIZE))
    bc = similarity(mine, people)
    alike = np.clip((bc - COLOUR_OTHER) / (COLOUR_SAME - COLOUR_OTHER), 0.0, 1.0)
    return np.where(np.isnan(bc), 1.0, 1.0 - weight + weight * alike)


def blend(old: np.ndarray | None, new: np.ndarray | None) -> np.ndarray | None:
    """A track's colour after one more measured look (regions unseen so far are taken as they come)."""
    if new is None:
        return old
    new = np.asarray(new, np.float32)
    if old is None:
        return new.copy()
    return np.where(np.isnan(old), new, np.where(np.isnan(new), old, _KEEP * old + (1 - _KEEP) * new))


__all__ = ["BINS", "COLOUR_OTHER", "COLOUR_SAME", "SIZE", "blend", "describe", "factor", "similarity"]
