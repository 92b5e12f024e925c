"""Fuzz tests (hypothesis) of the image conversions: raw fields, depth and compressed payloads.

The only allowed outcomes of a conversion are an image of the documented shape and
dtype, or one :class:`ImageError` (a ValueError) with a message; never an IndexError,
cv2.error, OverflowError or numpy's own ValueError from deep inside. A message that is
well formed must always convert, and valid images must survive a round trip.
"""
from __future__ import annotations

import array

import cv2
import numpy as np
import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pose_ros.core.imaging.compressed import decode_compressed
from pose_ros.core.imaging.raw import (
    SUPPORTED_ENCODINGS, ImageError, depth_to_metres, image_to_rgb,
    keypoints_to_3d,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")   # garbage in, no numpy warnings out

BPP = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "mono16": 2, "yuv422": 2,
       "yuv422_yuy2": 2, "8uc1": 1, "8uc3": 3, "16uc1": 2, "uyvy": 2, "yuyv": 2, "yuy2": 2}
assert set(BPP) == set(SUPPORTED_ENCODINGS)
UNKNOWN = ["", " ", "rgb16", "bgr16", "32FC1", "16UC3", "8UC4", "bayer_rggb8", "nv12", "yuv420",
           "jpeg", "rgb", "mono", "8uc", "rgb8\x00", "ＲＧＢ８"]
DEPTH_BPP = {"16UC1": 2, "MONO16": 2, "32FC1": 4}
U32 = 2 ** 32 - 1


def fuzz(n: int) -> settings:
    """``n`` cases on the session profile; no "explain" phase (minutes on a failure, no gain here)."""
    return settings(max_examples=n, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])


def _casings(name: str) -> list[str]:
    return [name, name.upper(), name.title(), f" {name}\t", name.swapcase()]


encodings = st.one_of(
    st.sampled_from(SUPPORTED_ENCODINGS),
    st.sampled_from(SUPPORTED_ENCODINGS).flatmap(lambda e: st.sampled_from(_casings(e))),
    st.sampled_from(UNKNOWN),
    st.text(max_size=10),
)
sizes = st.one_of(st.integers(0, 9), st.integers(-3, 40),
                  st.sampled_from([-1, 2 ** 31 - 1, 2 ** 31, U32, 2 ** 40]))
# not what a message holds, but what a bag reader or a careless caller may pass
odd_fields = st.sampled_from([float("nan"), float("inf"), -float("inf"), None, "x", "", 2.0, np.int64(2)])


def _int(v) -> int | None:
    """The geometry field as the conversions read it (int()), None when it is no number."""
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return None


def _bytes_like(raw: bytes, kind: str):
    """The same bytes as each container the conversions accept (rclpy gives array('B'))."""
    if kind == "bytes":
        return raw
    if kind == "bytearray":
        return bytearray(raw)
    if kind == "memoryview":
        return memoryview(raw)
    if kind == "array":
        return array.array("B", raw)
    if kind == "list":
        return list(raw)
    if kind == "objects":
        return np.array(list(raw), dtype=object)
    return np.frombuffer(raw, np.uint8)


@st.composite
def raw_messages(draw, bpp_of: dict[str, int], encoding_strategy):
    """(encoding, width, height, step, is_bigendian, data) with plausible and broken geometry."""
    enc = draw(encoding_strategy)
    w, h = (draw(st.one_of(sizes, odd_fields) if draw(st.integers(0, 19)) == 0 else sizes) for _ in "wh")
    bpp = bpp_of.get(str(enc).strip().lower(), bpp_of.get(str(enc).strip().upper(), 3))
    row = max(_int(w) or 0, 0) * bpp
    step = draw(st.one_of(
        st.just(row), st.integers(row, row + 7),                   # exact, padded
        st.integers(max(row - 5, 0), row + 1),                    # too small by a few
        st.integers(0, 200), st.sampled_from([0, 1, 3, U32, 2 ** 62]),
    ))
    if draw(st.integers(0, 29)) == 0:
        step = draw(odd_fields)
    need = max(_int(step) or 0, 0) * max(_int(h) or 0, 0)
    # keep the buffers small: a truthful length only when the image is small
    if need <= 4096:
        n = draw(st.one_of(st.just(need), st.integers(max(need - 9, 0), need + 9), st.integers(0, 4096)))
    else:
        n = draw(st.integers(0, 4096))
    raw = draw(st.binary(min_size=n, max_size=n)) if n <= 64 else bytes(
        np.random.default_rng(draw(st.integers(0, 2 ** 16))).integers(0, 256, n, dtype=np.uint8))
    data = _bytes_like(raw, draw(st.sampled_from(["bytes", "bytearray", "memoryview", "array",
                                                  "list", "numpy", "objects"])))
    big = draw(st.sampled_from([False, True, 0, 1]))
    return enc, w, h, step, big, data


def _well_formed(bpp: int | None, w, h, step, data) -> bool:
    w, h, step = _int(w), _int(h), _int(step)
    if bpp is None or None in (w, h, step) or getattr(getattr(data, "dtype", None), "kind", "") == "O":
        return False
    return w > 0 and h > 0 and step >= w * bpp and len(data) >= step * h


@fuzz(700)
@given(msg=raw_messages(BPP, encodings), contiguous=st.booleans(), normalize=st.booleans())
# regressions: zero / negative sizes, a step not a multiple of the pixel size, a step too
# small, a truncated buffer, a huge step, an odd-width YUV image and a one-pixel one
@example(msg=("rgb8", 0, 0, 0, False, b""), contiguous=False, normalize=False)
@example(msg=("bgr8", -1, 2, 3, False, b"\0" * 6), contiguous=True, normalize=False)
@example(msg=("mono16", 3, 2, 7, True, b"\1" * 14), contiguous=False, normalize=True)
@example(msg=("rgba8", 4, 2, 15, False, b"\0" * 64), contiguous=True, normalize=False)
@example(msg=("bgra8", 2, 2, 8, False, b"\0" * 15), contiguous=False, normalize=False)
@example(msg=("8UC3", 1, 1, U32, False, b"\0" * 3), contiguous=False, normalize=False)
@example(msg=("yuv422", 3, 1, 6, False, b"\x80\x10" * 3), contiguous=False, normalize=False)
@example(msg=("yuyv", 1, 1, 2, False, b"\x10\x80"), contiguous=False, normalize=False)
@example(msg=("mono8", 2, 1, 2, False, [0, 256]), contiguous=False, normalize=False)
@example(msg=("mono8", 2, 1, 2, False, [-1, 0]), contiguous=False, normalize=False)
@example(msg=("", 2, 1, 2, False, b"\0\0"), contiguous=False, normalize=False)
@example(msg=("rgb8", float("nan"), 1, 3, False, b"\0" * 3), contiguous=False, normalize=False)
@example(msg=("rgb8", 1, float("inf"), 3, False, b"\0" * 3), contiguous=False, normalize=False)
@example(msg=("rgb8", 1, 1, None, False, b"\0" * 3), contiguous=False, normalize=False)
@example(msg=("rgb8", 1, 1, 3, False, np.array([1, 2, 3], object)), contiguous=False, normalize=False)
def test_raw_image_converts_or_raises_image_error(msg, contiguous, normalize):
    enc, w, h, step, big, data = msg
    bpp = BPP.get(str(enc).strip().lower())
    try:
        out = image_to_rgb(enc, w, h, step, big, data, contiguous=contiguous, normalize_mono16=normalize)
    except ImageError as exc:
        assert str(exc)
        assert not _well_formed(bpp, w, h, step, data) or any(
            not 0 <= v <= 255 for v in (data if isinstance(data, list) else ())), exc
        return
    assert _well_formed(bpp, w, h, step, data), "malformed message converted"
    assert out.shape == (_int(h), _int(w), 3) and out.dtype == np.uint8
    if contiguous:
        assert out.flags.c_contiguous


@fuzz(300)
@given(msg=raw_messages(DEPTH_BPP, st.one_of(st.sampled_from(sorted(DEPTH_BPP) + ["16uc1", "32fc1", " 32FC1"]),
                                             st.sampled_from(UNKNOWN), st.text(max_size=6))))
@example(msg=("32FC1", 1, 1, 4, False, np.array([np.nan], "<f4").tobytes()))
@example(msg=("32FC1", 2, 1, 8, True, np.array([-np.inf, 1e38], ">f4").tobytes()))
@example(msg=("16UC1", 3, 1, 5, False, b"\0" * 5))
def test_depth_converts_or_raises_image_error(msg):
    enc, w, h, step, big, data = msg
    bpp = DEPTH_BPP.get(str(enc).strip().upper())
    try:
        out = depth_to_metres(enc, w, h, step, big, data)
    except ImageError as exc:
        assert str(exc)
        assert not _well_formed(bpp, w, h, step, data) or isinstance(data, list), exc
        return
    assert _well_formed(bpp, w, h, step, data)
    assert out.shape == (_int(h), _int(w)) and out.dtype == np.float32
    with np.errstate(invalid="ignore"):
        assert np.all(np.isnan(out) | (np.isfinite(out) & (out > 0))), "missing depth must be NaN"


# ------------------------------------------------------------------------ compressed
def _encoded(seed: int, w: int, h: int, ext: str) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


@st.composite
def compressed_payloads(draw):
    """Garbage, empty, truncated or bit-flipped real jpeg/png streams, and intact ones."""
    kind = draw(st.sampled_from(["garbage", "empty", "real", "truncated", "flipped", "header"]))
    if kind == "garbage":
        return draw(st.binary(max_size=300)), None
    if kind == "empty":
        return b"", None
    w, h = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    ext = draw(st.sampled_from([".jpg", ".png"]))
    raw = _encoded(draw(st.integers(0, 1000)), w, h, ext)
    if kind == "real":
        return raw, (h, w, 3)
    if kind == "truncated":
        return raw[:draw(st.integers(0, len(raw) - 1))], None
    if kind == "header":   # a real header followed by junk
        return raw[:draw(st.integers(1, 40))] + draw(st.binary(max_size=200)), None
    buf = bytearray(raw)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(buf), None


@fuzz(400)
@given(payload=compressed_payloads(),
       fmt=st.one_of(st.sampled_from(["jpeg", "png", "rgb8; jpeg compressed bgr8", "bgr8; png compressed",
                                      "", "JPEG", "tiff"]), st.text(max_size=20)),
       container=st.sampled_from(["bytes", "bytearray", "memoryview", "array", "numpy", "list", "objects"]))
@example(payload=(b"", None), fmt="jpeg", container="bytes")
@example(payload=(b"\xff\xd8\xff", None), fmt="jpeg", container="array")
@example(payload=(b"\x89PNG\r\n\x1a\n", None), fmt="png", container="bytes")
@example(payload=(bytes(range(256)), None), fmt="jpeg", container="numpy")
@example(payload=(b"\xff\xd8", None), fmt="jpeg", container="objects")
def test_compressed_decodes_or_raises_image_error(payload, fmt, container):
    raw, shape = payload
    data = _bytes_like(raw, container)
    try:
        out = decode_compressed(fmt, data)
    except ImageError as exc:
        assert str(exc)
        assert shape is None or container == "objects" or "compresseddepth" in fmt.lower(), \
            f"intact stream rejected: {exc}"
        return
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8 and out.size > 0
    if shape is not None:
        assert out.shape == shape


# ----------------------------------------------------------------------- round trips
images = st.tuples(st.integers(1, 13), st.integers(1, 9)).flatmap(
    lambda hw: hnp.arrays(np.uint8, (hw[0], hw[1], 3)))


@fuzz(200)
@given(rgb=images, enc=st.sampled_from(["rgb8", "bgr8", "rgba8", "bgra8"]), pad=st.integers(0, 5),
       contiguous=st.booleans(), container=st.sampled_from(["bytes", "array", "numpy"]))
def test_colour_round_trip(rgb, enc, pad, contiguous, container):
    px = {"rgb8": rgb, "bgr8": rgb[..., ::-1]}.get(enc)
    if px is None:   # rgba8 / bgra8: opaque alpha after the colour channels
        px = np.concatenate([rgb if enc == "rgba8" else rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 255, np.uint8)],
                            axis=2)
    e, (h, w), step = enc, rgb.shape[:2], rgb.shape[1] * px.shape[2]
    rows = np.ascontiguousarray(px).reshape(h, step)
    padded = np.concatenate([rows, np.full((h, pad), 0xEE, np.uint8)], axis=1)
    out = image_to_rgb(e.upper() if pad % 2 else e, w, h, step + pad, False,
                       _bytes_like(padded.tobytes(), container), contiguous=contiguous)
    np.testing.assert_array_equal(out, rgb)


@fuzz(100)
@given(grey=st.tuples(st.integers(1, 13), st.integers(1, 9)).flatmap(lambda hw: hnp.arrays(np.uint8, hw)),
       enc=st.sampled_from(["mono8", "8UC1"]), pad=st.integers(0, 3))
def test_mono8_round_trip(grey, enc, pad):
    h, w = grey.shape
    rows = np.concatenate([grey, np.full((h, pad), 7, np.uint8)], axis=1)
    out = image_to_rgb(enc, w, h, w + pad, False, rows.tobytes())
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))


@fuzz(150)
@given(v=st.tuples(st.integers(1, 11), st.integers(1, 7)).flatmap(lambda hw: hnp.arrays(np.uint16, hw)),
       enc=st.sampled_from(["mono16", "16UC1"]), big=st.booleans(), pad=st.integers(0, 3),
       normalize=st.booleans())
def test_mono16_round_trip(v, enc, big, pad, normalize):
    h, w = v.shape
    rows = v.astype(">u2" if big else "<u2").view(np.uint8).reshape(h, 2 * w)
    rows = np.concatenate([rows, np.full((h, pad), 0x55, np.uint8)], axis=1)
    out = image_to_rgb(enc, w, h, 2 * w + pad, big, rows.tobytes(), normalize_mono16=normalize)
    if normalize:
        lo, hi = int(v.min()), int(v.max())
        want = np.zeros_like(v, np.uint8) if hi == lo else np.floor(
            (v.astype(np.float64) - lo) * 255.0 / (hi - lo) + 0.5).astype(np.uint8)
        assert np.abs(out[..., 0].astype(int) - want).max(initial=0) <= 1
    else:
        np.testing.assert_array_equal(out[..., 0], (v >> 8).astype(np.uint8))
    assert (out == out[..., :1]).all()
    # depth reads the same bytes as millimetres, zero = missing
    d = depth_to_metres("16UC1", w, h, 2 * w + pad, big, rows.tobytes())
    np.testing.assert_allclose(d, np.where(v == 0, np.nan, v * np.float32(0.001)), rtol=1e-6)


@fuzz(100)
@given(pairs=st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
           lambda hw: hnp.arrays(np.uint8, (hw[0], hw[1], 3), elements=st.integers(40, 215))),
       enc=st.sampled_from(["yuv422", "uyvy", "yuv422_yuy2", "yuyv", "yuy2"]), odd=st.booleans())
@example(pairs=np.full((1, 1, 3), 40, np.uint8), enc="uyvy", odd=True)   # a 1-pixel-wide image
def test_yuv422_round_trip(pairs, enc, odd):
    # colour constant over each horizontal pair, so 4:2:2 subsampling loses nothing
    rgb = np.repeat(pairs, 2, axis=1)
    uyvy = enc in ("yuv422", "uyvy")
    packed = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY if uyvy else cv2.COLOR_RGB2YUV_YUY2)
    h, w = rgb.shape[:2]
    if odd:    # odd width: drop the last pixel; the one left alone lacks half its chroma
        w -= 1
        packed = np.ascontiguousarray(packed[:, :w])
    out = image_to_rgb(enc, w, h, 2 * w, False, packed.tobytes())
    assert out.shape == (h, w, 3) and out.flags.c_contiguous
    full = w - (w % 2)      # pixels whose pair is complete
    assert np.abs(out[:, :full].astype(int) - rgb[:, :full]).max(initial=0) <= 6


@fuzz(100)
@given(rgb=images, container=st.sampled_from(["bytes", "array", "numpy"]))
def test_png_round_trip(rgb, container):
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    np.testing.assert_array_equal(decode_compressed("bgr8; png compressed bgr8",
                                                    _bytes_like(buf.tobytes(), container)), rgb)


# ------------------------------------------------------------- publishing and 3D


depth_maps = st.tuples(st.integers(1, 8), st.integers(1, 8)).flatmap(lambda hw: hnp.arrays(
    np.float32, hw, elements=st.one_of(st.floats(0.125, 10.0, width=32),
                                       st.sampled_from([0.0, -1.0, float("nan"), float("inf")]))))
kp_values = st.one_of(st.floats(-5.0, 20.0), st.sampled_from([float("nan"), float("inf"), -float("inf"),
                                                              1e308, -1e308, 1e20, 0.5]),
                      st.floats(allow_nan=True, allow_infinity=True))


@fuzz(200)
@given(kp=st.integers(0, 6).flatmap(lambda n: hnp.arrays(np.float64, (n, 3), elements=kp_values)),
       depth=depth_maps, window=st.sampled_from([1, 2, 5]),
       image_size=st.one_of(st.none(), st.tuples(st.integers(1, 40), st.integers(1, 40))),
       f=st.sampled_from([1.0, 500.0, 1e-9]))
@example(kp=np.array([[1e308, 2.0, 0.9], [2.0, -1e308, 0.9]]), depth=np.ones((4, 4), np.float32),
         window=5, image_size=None, f=500.0)
@example(kp=np.array([[2.0, 2.0, float("inf")]]), depth=np.ones((4, 4), np.float32), window=1,
         image_size=(3, 3), f=500.0)
def test_keypoints_to_3d_finite_or_nan_rows(kp, depth, window, image_size, f):
    out = keypoints_to_3d(kp, depth, f, f, 2.0, 2.0, window=window, image_size=image_size)
    assert out.shape == (len(kp), 3) and out.dtype == np.float32
    assert np.all(np.isfinite(out).all(axis=1) | np.isnan(out).all(axis=1)), out
