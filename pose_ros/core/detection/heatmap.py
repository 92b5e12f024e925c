"""Decoding for top-down pose models: heatmaps (shift / DARK), SimCC, and crop geometry.

Coordinate conventions follow mmpose (non-UDP), because that is how the public
top-down ONNX models (HRNet, ViTPose, RTMPose) were trained; using anything else
shifts every keypoint by a constant offset:

* crop: ``p_in = s * R(rot) * (p_img - center) + (in_w / 2, in_h / 2)`` with
  ``s = in_w / scale_w`` (isotropic; ``box_to_center_scale`` fixes the aspect ratio);
* heatmap -> input: ``p_in = p_hm * (in_w / hm_w, in_h / hm_h)`` (stride 4 usually);
* SimCC -> input: ``p_in = bin / split_ratio``.

All decoders accept an optional leading batch axis: (..., K, h, w) -> (..., K, 3).
"""
from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

HeatmapMethod = Literal["shift", "dark"]


def _argmax_2d(hm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer peak (x, y) and peak value of each (h, w) map in a (K, h, w) stack."""
    k, h, w = hm.shape
    flat = hm.reshape(k, h * w)
    idx = flat.argmax(axis=1)
    vals = flat[np.arange(k), idx]
    y, x = np.divmod(idx, w)
    return x, y, vals


def gaussian_blur_heatmaps(hm: np.ndarray, kernel: int) -> np.ndarray:
    """Blur each map (zero border) and rescale it to its original maximum, as DARK requires.

    The blur makes the log-heatmap locally quadratic even for noisy network
    outputs; keeping the maximum keeps scores comparable. ``kernel`` should match
    the training sigma (mmpose: 11 for sigma 2 on 64x48, 17 for sigma 3).
    """
    kernel = int(kernel) | 1   # cv2 needs an odd size
    k, h, w = hm.shape
    orig_max = hm.reshape(k, -1).max(axis=1)
    stack = np.ascontiguousarray(hm.transpose(1, 2, 0), dtype=np.float32)
    if k <= 512:   # cv2 blurs all channels in one call (CV_CN_MAX = 512)
        blurred = cv2.GaussianBlur(stack, (kernel, kernel), 0, borderType=cv2.BORDER_CONSTANT)
        if blurred.ndim == 2:
            blurred = blurred[..., None]
        blurred = blurred.transpose(2, 0, 1)
    else:
        blurred = np.stack([cv2.GaussianBlur(np.ascontiguousarray(m), (kernel, kernel), 0,
                                             borderType=cv2.BORDER_CONSTANT) for m in hm])
    new_max = blurred.reshape(k, -1).max(axis=1)
    gain = np.where(new_max > 0, orig_max / np.where(new_max > 0, new_max, 1.0), 1.0)
    return blurred * gain[:, None, None].astype(np.float32)


def decode_heatmaps(heatmaps: np.ndarray, method: HeatmapMethod = "shift",
                    blur_kernel: int = 11) -> np.ndarray:
    """(..., K, h, w) heatmaps -> (..., K, 3): x, y in heatmap pixels + peak value.

    ``shift``: argmax moved a quarter pixel toward the higher neighbour (the
    classic HRNet/SimpleBaseline decoder, error up to ~0.25 px).
    ``dark``: Distribution-Aware coordinate Representation (Zhang et al. 2020):
    blur, log, then one Newton step of the 2nd-order Taylor expansion at the argmax
    — exact for Gaussian-shaped peaks away from the border. The Newton offset is
    clamped to +-1 px so a non-concave (noisy) patch cannot throw a joint away.
    """
    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim < 3:
        raise ValueError(f"heatmaps must be (..., K, h, w), got shape {hm.shape}")
    lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
    hm = hm.reshape(-1, h, w)
    k = hm.shape[0]
    x, y, vals = _argmax_2d(hm)
    ks = np.arange(k)
    xf, yf = x.astype(np.float32), y.astype(np.float32)
    if method == "shift":
        xi = (x > 0) & (x < w - 1)
        yi = (y > 0) & (y < h - 1)
        dx = hm[ks, y, np.minimum(x + 1, w - 1)] - hm[ks, y, np.maximum(x - 1, 0)]
        dy = hm[ks, np.minimum(y + 1, h - 1), x] - hm[ks, np.maximum(y - 1, 0), x]
        xf += 0.25 * np.sign(dx) * xi
        yf += 0.25 * np.sign(dy) * yi
    elif method == "dark":
        lg = np.log(np.maximum(gaussian_blur_heatmaps(hm, blur_kernel), 1e-10))
        ok = (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2)
        xc, yc = np.clip(x, 2, w - 3), np.clip(y, 2, h - 3)
        if w >= 5 and h >= 5 and ok.any():
            def at(dy_: int, dx_: int) -> np.ndarray:
                return lg[ks, yc + dy_, xc + dx_].astype(np.float64)
            c = at(0, 0)
            gx = 0.5 * (at(0, 1) - at(0, -1))
            gy = 0.5 * (at(1, 0) - at(-1, 0))
            hxx = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
            hyy = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
            hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
            det = hxx * hyy - hxy * hxy
            good = ok & (np.abs(det) > 1e-12)
            safe = np.where(good, det, 1.0)
            # offset = -H^-1 g, with the 2x2 inverse written out (vectorised over K)
            ox = -(hyy * gx - hxy * gy) / safe
            oy = -(-hxy * gx + hxx * gy) / safe
            xf += np.where(good, np.clip(ox, -1.0, 1.0), 0.0).astype(np.float32)
            yf += np.where(good, np.clip(oy, -1.0, 1.0), 0.0).astype(np.float32)
    else:
        raise ValueError(f"unknown heatmap decoding method {method!r}; use 'shift' or 'dark'")
    out = np.stack([xf, yf, vals.astype(np.float32)], axis=-1)
    return out.reshape(*lead, 3)


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = 2.0) -> np.ndarray:
    """RTMPose SimCC vectors (..., K, Wx), (..., K, Wy) -> (..., K, 3): x, y in input pixels + score.

    Score is the smaller of the two peak values (as mmpose does): a joint is only
    as certain as its less certain axis. Scores are raw model values (RTMPose's
    are roughly in [0, 1]); callers clip.
    """
    sx = np.asarray(simcc_x, dtype=np.float32)
    sy = np.asarray(simcc_y, dtype=np.float32)
    if sx.shape[:-1] != sy.shape[:-1]:
        raise ValueError(f"simcc_x {sx.shape} and simcc_y {sy.shape} disagree on (..., K)")
    ix, iy = sx.argmax(axis=-1), sy.argmax(axis=-1)
    vx = np.take_along_axis(sx, ix[..., None], axis=-1)[..., 0]
    vy = np.take_along_axis(sy, iy[..., None], axis=-1)[..., 0]
    r = np.float32(split_ratio)
    return np.stack([ix.astype(np.float32) / r, iy.astype(np.float32) / r, np.minimum(vx, vy)],
                    axis=-1)


def box_to_center_scale(box: np.ndarray, aspect: float, padding: float = 1.25
                        ) -> tuple[np.ndarray, np.ndarray]:
    """xyxy box -> (center (2,), scale (2,) = crop w, h in image pixels) at the model's aspect (w/h).

    The box is padded (context helps the model) and then grown along one axis so
    the crop has the model input's aspect ratio and the person is not distorted.
    """
    b = np.asarray(box, dtype=np.float64).reshape(4)
    center = np.array([(b[0] + b[2]) * 0.5, (b[1] + b[3]) * 0.5])
    w, h = (b[2] - b[0]) * padding, (b[3] - b[1]) * padding
    if w > h * aspect:
        h = w / aspect
    else:
        w = h * aspect
    return center, np.array([w, h])


def get_affine_transform(center: np.ndarray, scale: np.ndarray, output_size: tuple[int, int],
                         rot: float = 0.0, inv: bool = False) -> np.ndarray:
    """2x3 matrix image -> crop (or crop -> image with ``inv``) for a (w, h) ``output_size``.

    ``p_out = s R(rot) (p - center) + output_size / 2`` with ``s = out_w / scale_w``
    and ``rot`` in degrees (counter-clockwise in standard axes). Built in closed
    form, so the inverse is exact rather than a numerically re-solved 3-point fit.
    """
    cx, cy = float(center[0]), float(center[1])
    s = float(output_size[0]) / float(scale[0])
    ox, oy = float(output_size[0]) * 0.5, float(output_size[1]) * 0.5
    t = math.radians(rot)
    c, sn = math.cos(t), math.sin(t)
    if not inv:
        a = np.array([[c, -sn], [sn, c]]) * s
        return np.hstack([a, (np.array([ox, oy]) - a @ np.array([cx, cy]))[:, None]])
    a = np.array([[c, sn], [-sn, c]]) / s
    return np.hstack([a, (np.array([cx, cy]) - a @ np.array([ox, oy]))[:, None]])


def transform_points(pts: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine (or a stack (..., 2, 3) broadcast against pts (..., N, >=2)) to x, y.

    Extra columns (scores) are passed through unchanged; returns a new float array.
    """
    p = np.asarray(pts)
    out = p.astype(np.result_type(p.dtype, np.float32), copy=True)
    m = np.asarray(m, dtype=np.float64)
    xy = p[..., :2].astype(np.float64)
    lin = np.einsum("...ij,...nj->...ni", m[..., :2], xy) if m.ndim > 2 else xy @ m[:, :2].T
    trans = m[..., None, :, 2] if m.ndim > 2 else m[:, 2]
    out[..., :2] = lin + trans
    return out


def crop_box(image: np.ndarray, box: np.ndarray, output_size: tuple[int, int],
             padding: float = 1.25, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Warp the (padded, aspect-fixed) ``box`` of ``image`` to ``output_size`` (w, h).

    Returns (crop, inverse 2x3 matrix crop -> image). ``out`` lets callers warp
    straight into a slot of a preallocated batch (no extra copy).
    """
    ow, oh = int(output_size[0]), int(output_size[1])
    center, scale = box_to_center_scale(box, ow / oh, padding)
    m = get_affine_transform(center, scale, (ow, oh))
    crop = cv2.warpAffine(image, m, (ow, oh), dst=out, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, get_affine_transform(center, scale, (ow, oh), inv=True)


__all__ = [
    "HeatmapMethod", "box_to_center_scale", "crop_box", "decode_heatmaps", "decode_simcc",
    "gaussian_blur_heatmaps", "get_affine_transform", "transform_points",
]
