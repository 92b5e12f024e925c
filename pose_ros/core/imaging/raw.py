"""sensor_msgs/Image fields <-> numpy, without cv_bridge.

The nodes hand the raw message fields (encoding, width, height, step, is_bigendian,
data) to these functions, so the pipeline has no cv_bridge / Boost dependency and
the same code runs on bag files read without ROS.

Views and copies (what the caller gets back):

* ``image_to_rgb`` returns a zero-copy, *read-only* view of ``data`` for ``rgb8``;
  a channel-reversed (negative-stride) view for ``bgr8``/``bgra8`` and a
  channel-sliced view for ``rgba8``, unless ``contiguous=True``. Row padding
  (``step > width * bpp``) is kept in the view's row stride, never copied.
  mono/YUV encodings always produce a new C-contiguous array.
  Do not modify the result; it may alias the message buffer.
* cv2 functions accept row-strided arrays as inputs without copying, but copy
  non-contiguous pixels (reversed/sliced channels) on *every* call: use
  :func:`as_cv2_input` once before calling cv2 several times on the same image.
* ``depth_to_metres`` and ``compressed.decode_compressed`` always return new arrays.
"""
from __future__ import annotations

import array
import warnings
from typing import Union

import cv2
import numpy as np

from pose_ros.core.skeleton import visible

BufferLike = Union[bytes, bytearray, memoryview, array.array, np.ndarray]


class ImageError(ValueError):
    """An image message cannot be converted; the message says what is wrong and what to do."""


# Canonical encoding -> bytes per pixel.
_BPP: dict[str, int] = {
    "rgb8": 3,
    "bgr8": 3,
    "rgba8": 4,
    "bgra8": 4,
    "mono8": 1,
    "mono16": 2,
    "yuv422": 2,        # ROS name for UYVY (U0 Y0 V0 Y1)
    "yuv422_yuy2": 2,   # YUYV (Y0 U0 Y1 V0)
}
# Accepted spellings (lower case) -> canonical encoding.
_ALIASES: dict[str, str] = {
    **{name: name for name in _BPP},
    "8uc1": "mono8",
    "8uc3": "bgr8",
    "16uc1": "mono16",
    "uyvy": "yuv422",
    "yuyv": "yuv422_yuy2",
    "yuy2": "yuv422_yuy2",
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(sorted(_ALIASES))
DEPTH_ENCODINGS: tuple[str, ...] = ("16UC1", "32FC1")

IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV >= 4.10 decodes straight to RGB


def _canonical(encoding: str) -> str:
    enc = _ALIASES.get(str(encoding).strip().lower())
    if enc is None:
        raise ImageError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}. "
            "Configure the camera driver for one of these (rgb8 or bgr8 is cheapest), or put an "
            "image_proc/format-converting node in front of pose_estimator.")
    return enc


def byte_view(data: BufferLike) -> np.ndarray:
    """1-D uint8 view of any buffer (rclpy gives array.array('B')), copying only if it must."""
    if isinstance(data, np.ndarray):
        if data.dtype.hasobject:   # no bytes behind an array of Python objects
            raise ImageError(f"image data must be bytes-like, got a numpy array of {data.dtype}")
        arr = data if data.flags.c_contiguous else np.ascontiguousarray(data)
        return arr.reshape(-1).view(np.uint8)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:
        try:
            return np.asarray(data, dtype=np.uint8).reshape(-1)
        except (TypeError, ValueError, OverflowError) as exc:   # OverflowError: a value > 255
            raise ImageError(
                f"image data must be bytes-like (bytes, bytearray, memoryview, array.array, a "
                f"numpy array or a list of 0..255 ints), got {type(data).__name__}: {exc}") from exc


def _as_int(encoding: str, name: str, value: object) -> int:
    """A geometry field as int; a NaN, inf, None or text field is a malformed message."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError) as exc:
        raise ImageError(f"{encoding} image {name} must be an integer, got {value!r}; "
                         "the message is malformed") from exc


def _strided(encoding: str, width: int, height: int, step: int, bpp: int, data: BufferLike,
             dtype: np.dtype | str, shape_tail: tuple[int, ...]) -> np.ndarray:
    """Validate the geometry and return an (H, W, *tail) view honouring ``step`` padding."""
    width, height, step = (_as_int(encoding, n, v) for n, v in
                           (("width", width), ("height", height), ("step", step)))
    if width <= 0 or height <= 0:
        raise ImageError(f"{encoding} image has zero or negative size {width}x{height}; "
                         "the publisher sent an empty image, check the camera driver")
    row_bytes = width * bpp
    if step < row_bytes:
        raise ImageError(f"{encoding} image step {step} is smaller than width*bytes_per_pixel = "
                         f"{width}*{bpp} = {row_bytes}; the message is malformed (wrong encoding "
                         "or step set by the publisher)")
    buf = byte_view(data)
    need = step * height
    if buf.size < need:
        raise ImageError(f"{encoding} image data is truncated: {buf.size} bytes, expected "
                         f"step*height = {step}*{height} = {need}; the message is incomplete "
                         "(check the publisher, or the transport/QoS for fragmented large frames)")
    dt = np.dtype(dtype)
    strides = (step, dt.itemsize * int(np.prod(shape_tail, dtype=np.int64)))
    strides += tuple(dt.itemsize * int(np.prod(shape_tail[i + 1:], dtype=np.int64))
                     for i in range(len(shape_tail)))
    return np.ndarray((height, width, *shape_tail), dtype=dt, buffer=buf, offset=0, strides=strides)


def cv2_compatible(a: np.ndarray) -> bool:
    """True if cv2 can read ``a`` without an internal copy (row padding is fine)."""
    if a.ndim < 2 or any(s < 0 for s in a.strides):
        return False
    item = a.itemsize
    if a.ndim == 2:
        return a.shape[1] <= 1 or a.strides[1] == item
    if a.ndim == 3:
        return (a.shape[2] <= 1 or a.strides[2] == item) and a.strides[1] == item * a.shape[2] \
            and a.strides[0] >= a.strides[1] * a.shape[1]
    return a.flags.c_contiguous


def as_cv2_input(a: np.ndarray) -> np.ndarray:
    """``a`` itself if cv2 can take it as is, else one contiguous copy (instead of one per cv2 call)."""
    return a if cv2_compatible(a) else np.ascontiguousarray(a)


def _mono16_to_8(v: np.ndarray, normalize: bool) -> np.ndarray:
    if normalize:
        lo, hi = int(v.min()), int(v.max())
        if hi <= lo:
            return np.zeros(v.shape, np.uint8)
        return ((v.astype(np.float32) - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8)
    return (v >> 8).astype(np.uint8)


def _yuv422_to_rgb(v: np.ndarray, uyvy: bool) -> np.ndarray:
    """(H, W, 2) packed YUV 4:2:2 -> RGB via cv2 (BT.601, as cv2 does).

    cv2 needs an even width; for odd widths the last half macro-pixel is completed
    with the chroma of its left neighbour (one small copy, only in that rare case).
    """
    code = cv2.COLOR_YUV2RGB_UYVY if uyvy else cv2.COLOR_YUV2RGB_YUY2
    h, w = v.shape[:2]
    if w % 2 == 0:
        return cv2.cvtColor(v, code)
    padded = np.empty((h, w + 1, 2), np.uint8)
    padded[:, :w] = v
    c = 0 if uyvy else 1            # chroma byte index within a pixel
    padded[:, w, 1 - c] = v[:, w - 1, 1 - c]                       # repeat the luma
    padded[:, w, c] = v[:, w - 2, c] if w >= 2 else 128           # V of the previous pair
    # the slice would be a strided view: the module promises a C-contiguous YUV result
    return np.ascontiguousarray(cv2.cvtColor(padded, code)[:, :w])


def image_to_rgb(encoding: str, width: int, height: int, step: int, is_bigendian: bool,
                 data: BufferLike, *, contiguous: bool = False,
                 normalize_mono16: bool = False) -> np.ndarray:
    """Raw sensor_msgs/Image fields -> (H, W, 3) uint8 RGB.

    Zero-copy where the encoding allows (see the module docstring); pass
    ``contiguous=True`` when the consumer needs a C-contiguous array (e.g.
    mediapipe), which costs one fast cv2 channel swap for bgr/rgba/bgra.
    mono16 is scaled to 8 bit by dropping the low byte, or stretched min..max of
    this image with ``normalize_mono16`` (useful for 10/12-bit IR cameras).
    """
    enc = _canonical(encoding)
    bpp = _BPP[enc]
    if enc in ("rgb8", "bgr8", "rgba8", "bgra8"):
        px = _strided(enc, width, height, step, bpp, data, np.uint8, (bpp,))
        if enc == "rgb8":
            out = px
        elif enc == "bgr8":
            out = cv2.cvtColor(px, cv2.COLOR_BGR2RGB) if contiguous else px[..., ::-1]
        elif enc == "rgba8":
            out = cv2.cvtColor(px, cv2.COLOR_RGBA2RGB) if contiguous else px[..., :3]
        else:
            out = cv2.cvtColor(px, cv2.COLOR_BGRA2RGB) if contiguous else px[..., 2::-1]
        if contiguous and not out.flags.c_contiguous:
            out = np.ascontiguousarray(out)   # rgb8 with row padding
        return out
    if enc == "mono8":
        px = _strided(enc, width, height, step, bpp, data, np.uint8, ())
        return cv2.cvtColor(px, cv2.COLOR_GRAY2RGB)
    if enc == "mono16":
        px = _strided(enc, width, height, step, bpp, data, ">u2" if is_bigendian else "<u2", ())
        return cv2.cvtColor(_mono16_to_8(px, normalize_mono16), cv2.COLOR_GRAY2RGB)
    px = _strided(enc, width, height, step, bpp, data, np.uint8, (2,))
    return _yuv422_to_rgb(px, uyvy=(enc == "yuv422"))


# Largest image accepted: 16K on a side, 64 megapixels. Larger claims are
# malformed (or decompression bombs: a few hundred bytes of JPEG can claim 65535 x 65535
# pixels, 12 GB decoded), and BlazePose aborts the process on sides >= 32767.
MAX_IMAGE_SIDE = 16384
MAX_IMAGE_PIXELS = 64 * 1024 * 1024


def check_image_size(what: str, width: int, height: int) -> None:
    """ImageError for an image larger than MAX_IMAGE_SIDE / MAX_IMAGE_PIXELS."""
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise ImageError(f"{what} claims {width}x{height} pixels, more than this node accepts "
                         f"({MAX_IMAGE_SIDE} on a side, {MAX_IMAGE_PIXELS // 2**20} megapixels); the message "
                         "is malformed, or scale the camera image down")


def depth_to_metres(encoding: str, width: int, height: int, step: int, is_bigendian: bool,
                    data: BufferLike) -> np.ndarray:
    """Depth image -> new float32 (H, W) in metres; missing depth (0, NaN, inf, <0) -> NaN.

    16UC1 is millimetres (the REP 118 integer convention), 32FC1 metres.
    """
    enc = str(encoding).strip().upper()
    if enc in ("16UC1", "MONO16"):
        px = _strided(enc, width, height, step, 2, data, ">u2" if is_bigendian else "<u2", ())
        out = px.astype(np.float32)
        out *= np.float32(0.001)
        out[px == 0] = np.nan
        return out
    if enc == "32FC1":
        px = _strided(enc, width, height, step, 4, data, ">f4" if is_bigendian else "<f4", ())
        out = px.astype(np.float32)   # always a native-order copy, safe to modify
        with np.errstate(invalid="ignore"):
            out[~(np.isfinite(out) & (out > 0))] = np.nan
        return out
    raise ImageError(f"unsupported depth encoding {encoding!r}; supported: {', '.join(DEPTH_ENCODINGS)} "
                     "(16UC1 millimetres, 32FC1 metres). Use the depth camera's aligned depth topic.")


def keypoints_to_3d(keypoints: np.ndarray, depth_m: np.ndarray, fx: float, fy: float,
                    cx: float, cy: float, window: int = 5,
                    image_size: tuple[int, int] | None = None, min_score: float = 0.0) -> np.ndarray:
    """Back-project 2D keypoints to (N, 3) float32 metres in the camera optical frame.

    ``keypoints`` is (N, 3) x, y (colour-image pixels) + score; ``fx..cy`` are the
    colour camera's intrinsics (CameraInfo K); ``depth_m`` is depth registered to
    the colour camera (e.g. aligned_depth_to_color), possibly at another resolution:
    pass the colour ``image_size`` (width, height) and the keypoints are scaled to
    depth pixels for the lookup only. Depth is the median of the valid pixels in a
    ``window`` x ``window`` patch (odd; even is rounded up), which rejects holes and
    single-pixel noise at joint edges. Rows are NaN where the keypoint is missing
    (score <= ``min_score`` or NaN, or coordinates beyond ``skeleton.MAX_COORD``) or no
    depth in the patch is valid.
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    depth = np.asarray(depth_m)
    if depth.ndim != 2:
        raise ImageError(f"depth must be (H, W), got shape {depth.shape}")
    out = np.full((kp.shape[0], 3), np.nan, np.float32)
    with np.errstate(invalid="ignore"):
        ok = visible(kp, min_score)
    if not ok.any():
        return out
    u, v = kp[ok, 0], kp[ok, 1]
    hd, wd = depth.shape
    if image_size is not None and (int(image_size[0]), int(image_size[1])) != (wd, hd):
        sx, sy = wd / float(image_size[0]), hd / float(image_size[1])
        ud, vd = (u + 0.5) * sx - 0.5, (v + 0.5) * sy - 0.5   # pixel-centre convention
    else:
        ud, vd = u, v
    r = max(int(window), 1) // 2
    offs = np.arange(-r, r + 1)
    xs = np.rint(ud).astype(np.intp)[:, None, None] + offs[None, None, :]
    ys = np.rint(vd).astype(np.intp)[:, None, None] + offs[None, :, None]
    xs, ys = np.broadcast_arrays(xs, ys)
    inside = (xs >= 0) & (xs < wd) & (ys >= 0) & (ys < hd)
    vals = depth[np.clip(ys, 0, hd - 1), np.clip(xs, 0, wd - 1)].astype(np.float32)
    with np.errstate(invalid="ignore"):
        vals[~inside | ~(vals > 0)] = np.nan   # also rejects NaN/0 in metre maps not built here
    vals = vals.reshape(vals.shape[0], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN patch -> NaN, on purpose
        z = np.nanmedian(vals, axis=1)
    pts = np.empty((u.shape[0], 3), np.float32)
    pts[:, 0] = (u - cx) * z / fx
    pts[:, 1] = (v - cy) * z / fy
    pts[:, 2] = z
    pts[~np.isfinite(z)] = np.nan
    out[ok] = pts
    return out


__all__ = [
    "BufferLike", "DEPTH_ENCODINGS", "ImageError", "SUPPORTED_ENCODINGS", "as_cv2_input",
    "check_image_size", "cv2_compatible", "depth_to_metres", "image_to_rgb", "keypoints_to_3d",
    "letterbox",
]


def letterbox(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Fit ``img`` (any channel order) into width x height keeping its aspect ratio; pad black.

    The benchmarks feed every backend the same 640x480 frames made this way.
    """
    h, w = img.shape[:2]
    s = min(width / w, height / h)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    out = np.zeros((height, width) + img.shape[2:], dtype=img.dtype)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA).reshape(
        (nh, nw) + img.shape[2:])
    return out
