"""Raw image fields <-> numpy: every encoding, odd sizes, padding, endianness, errors, depth, 3D."""
from __future__ import annotations

import array

import cv2
import numpy as np
import pytest

from pose_ros.core.imaging.compressed import decode_compressed
from pose_ros.core.imaging.raw import (
    ImageError, as_cv2_input, cv2_compatible, depth_to_metres, image_to_rgb,
    keypoints_to_3d,
)

SIZES = [(5, 3), (7, 4), (8, 2), (1, 1)]   # (w, h), odd widths on purpose
PADS = [0, 3]                               # extra bytes per row
FILL = 0xAB                                 # padding garbage: must never show up in the output


def pack(rows: np.ndarray, pad: int) -> tuple[bytes, int]:
    """(H, row_bytes) uint8 -> message bytes with ``pad`` garbage bytes per row, and the step."""
    h, rb = rows.shape
    out = np.full((h, rb + pad), FILL, np.uint8)
    out[:, :rb] = rows
    return out.tobytes(), rb + pad


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.mark.parametrize("w,h", SIZES)
@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("encoding,order", [
    ("rgb8", [0, 1, 2]), ("bgr8", [2, 1, 0]), ("8UC3", [2, 1, 0]),
    ("rgba8", [0, 1, 2, None]), ("bgra8", [2, 1, 0, None]),
])
@pytest.mark.parametrize("contiguous", [False, True])
def test_colour_encodings(rng, w, h, pad, encoding, order, contiguous):
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    chans = [rgb[..., c] if c is not None else np.full((h, w), 77, np.uint8) for c in order]
    data, step = pack(np.stack(chans, -1).reshape(h, -1), pad)
    out = image_to_rgb(encoding, w, h, step, False, data, contiguous=contiguous)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)
    if contiguous:
        assert out.flags.c_contiguous


def test_rgb8_is_zero_copy_view():
    w, h, step = 5, 3, 16
    buf = bytearray(range(step * h))
    out = image_to_rgb("rgb8", w, h, step, False, buf)
    assert np.shares_memory(out, np.frombuffer(buf, np.uint8))
    assert out.strides == (step, 3, 1)
    assert cv2_compatible(out)           # row padding is fine for cv2
    bgr = image_to_rgb("bgr8", w, h, step, False, buf)
    assert np.shares_memory(bgr, np.frombuffer(buf, np.uint8))
    assert not cv2_compatible(bgr)       # reversed channels: cv2 would copy per call
    fixed = as_cv2_input(bgr)
    assert cv2_compatible(fixed) and np.array_equal(fixed, bgr)
    assert not image_to_rgb("rgb8", w, h, step, False, bytes(buf)).flags.writeable


def test_accepts_rclpy_array_and_numpy():
    rgb = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    arr = array.array("B", rgb.tobytes())          # what rclpy puts in Image.data
    np.testing.assert_array_equal(image_to_rgb("rgb8", 3, 4, 9, False, arr), rgb)
    np.testing.assert_array_equal(image_to_rgb("rgb8", 3, 4, 9, False, memoryview(arr)), rgb)
    np.testing.assert_array_equal(image_to_rgb("rgb8", 3, 4, 9, False, rgb), rgb)


@pytest.mark.parametrize("w,h", SIZES)
@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("encoding", ["mono8", "8UC1"])
def test_mono8(rng, w, h, pad, encoding):
    g = rng.integers(0, 256, (h, w), dtype=np.uint8)
    data, step = pack(g, pad)
    out = image_to_rgb(encoding, w, h, step, False, data)
    np.testing.assert_array_equal(out, np.repeat(g[..., None], 3, axis=2))


@pytest.mark.parametrize("w,h", SIZES)
@pytest.mark.parametrize("pad", [0, 2, 3])
@pytest.mark.parametrize("bigendian", [False, True])
def test_mono16_endianness(rng, w, h, pad, bigendian):
    v = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    raw = v.astype(">u2" if bigendian else "<u2").view(np.uint8).reshape(h, -1)
    data, step = pack(raw, pad)
    out = image_to_rgb("mono16", w, h, step, bigendian, data)
    np.testing.assert_array_equal(out[..., 0], (v >> 8).astype(np.uint8))
    assert (out == out[..., :1]).all()
    norm = image_to_rgb("mono16", w, h, step, bigendian, data, normalize_mono16=True)
    if v.max() > v.min():
        assert norm[..., 0][v == v.max()].min() == 255 and norm[..., 0][v == v.min()].max() == 0


def _yuv_pairs(rng, w, h, uyvy):
    """Random packed YUV 4:2:2 bytes (H, 2W) for an even or odd width."""
    raw = rng.integers(16, 236, (h, w, 2), dtype=np.uint8)
    return raw.reshape(h, -1)


@pytest.mark.parametrize("w,h", [(6, 3), (8, 4), (5, 3), (7, 4)])
@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("encoding,code,uyvy", [
    ("yuv422", cv2.COLOR_YUV2RGB_UYVY, True), ("uyvy", cv2.COLOR_YUV2RGB_UYVY, True),
    ("yuv422_yuy2", cv2.COLOR_YUV2RGB_YUY2, False), ("yuyv", cv2.COLOR_YUV2RGB_YUY2, False),
])
def test_yuv422_against_cv2(rng, w, h, pad, encoding, code, uyvy):
    raw = _yuv_pairs(rng, w, h, uyvy)
    data, step = pack(raw, pad)
    out = image_to_rgb(encoding, w, h, step, False, data)
    assert out.shape == (h, w, 3)
    even = w - (w % 2)
    ref = cv2.cvtColor(np.ascontiguousarray(raw.reshape(h, w, 2)[:, :even]), code)
    np.testing.assert_array_equal(out[:, :even], ref)
    if w % 2:   # last pixel: its own luma, chroma of the last complete pair
        last = raw.reshape(h, w, 2)[:, even - 2:even].copy()
        luma = 1 if uyvy else 0
        last[:, 0, luma] = raw.reshape(h, w, 2)[:, w - 1, luma]
        last[:, 1, luma] = raw.reshape(h, w, 2)[:, w - 1, luma]
        if uyvy:   # U of the pair comes from the last (even) pixel itself
            last[:, 0, 0] = raw.reshape(h, w, 2)[:, w - 1, 0]
        else:
            last[:, 0, 1] = raw.reshape(h, w, 2)[:, w - 1, 1]
        np.testing.assert_array_equal(out[:, w - 1], cv2.cvtColor(last, code)[:, 0])


@pytest.mark.parametrize("encoding,to_code", [
    ("yuv422", cv2.COLOR_RGB2YUV_UYVY), ("yuv422_yuy2", cv2.COLOR_RGB2YUV_YUY2)])
def test_yuv422_round_trip(rng, encoding, to_code):
    # colour constant over each horizontal pair, so 4:2:2 subsampling loses nothing
    rgb = np.repeat(rng.integers(40, 216, (6, 4, 3), dtype=np.uint8), 2, axis=1)
    packed = cv2.cvtColor(rgb, to_code)
    assert packed.shape == (6, 8, 2)
    out = image_to_rgb(encoding, 8, 6, 16, False, packed.tobytes())
    assert np.abs(out.astype(int) - rgb).max() <= 6


def test_bgr_to_image_msg_round_trip(rng):
    """What the nodes publish (annotated image) reads back as the same pixels, header kept."""
    from std_msgs.msg import Header

    from pose_ros.nodes.conversions import bgr_to_image_msg, image_msg_to_rgb
    bgr = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    for src in (bgr, np.ascontiguousarray(bgr[:, ::-1])[:, ::-1]):    # contiguous and a strided view
        msg = bgr_to_image_msg(src, header)
        assert (msg.encoding, msg.height, msg.width, msg.step) == ("bgr8", 7, 5, 15)
        assert (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec) == ("cam", 12, 345)
        np.testing.assert_array_equal(image_msg_to_rgb(msg), bgr[..., ::-1])


def test_errors_are_clear():
    good = bytes(5 * 3 * 3)
    with pytest.raises(ImageError, match="unsupported image encoding 'bayer_rggb8'.*rgb8"):
        image_to_rgb("bayer_rggb8", 5, 3, 15, False, good)
    with pytest.raises(ImageError, match="truncated.*44 bytes.*45"):
        image_to_rgb("rgb8", 5, 3, 15, False, good[:-1])
    with pytest.raises(ImageError, match="step 14 is smaller than"):
        image_to_rgb("rgb8", 5, 3, 14, False, good)
    with pytest.raises(ImageError, match="zero or negative size"):
        image_to_rgb("rgb8", 0, 3, 15, False, good)
    with pytest.raises(ImageError, match="zero or negative size"):
        image_to_rgb("mono8", 5, 0, 5, False, b"")
    with pytest.raises(ImageError, match="bytes-like"):
        image_to_rgb("mono8", 2, 1, 2, False, object())
    assert issubclass(ImageError, ValueError)


def test_compressed_round_trip_and_garbage(rng):
    yy, xx = np.mgrid[0:48, 0:64]
    rgb = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)   # smooth: jpeg-friendly
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, png = cv2.imencode(".png", bgr)
    assert ok
    out = decode_compressed("rgb8; png compressed bgr8", png.tobytes())
    np.testing.assert_array_equal(out, rgb)
    ok, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    out = decode_compressed("jpeg", array.array("B", jpg.tobytes()))
    assert out.shape == rgb.shape and out.flags.c_contiguous
    assert np.abs(out.astype(int) - rgb).mean() < 3.0
    # mono jpeg decodes to 3-channel RGB as well
    ok, gjpg = cv2.imencode(".jpg", rgb[..., 0])
    assert decode_compressed("mono8; jpeg compressed mono8", gjpg).shape == (48, 64, 3)
    with pytest.raises(ImageError, match="neither jpeg nor png"):
        decode_compressed("jpeg", rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(ImageError, match="not a complete jpeg"):
        decode_compressed("jpeg", jpg.tobytes()[:20])
    with pytest.raises(ImageError, match="truncated"):
        decode_compressed("jpeg", jpg.tobytes()[:-40])
    with pytest.raises(ImageError, match="truncated"):
        decode_compressed("png", png.tobytes()[:-20])
    with pytest.raises(ImageError, match="empty"):
        decode_compressed("jpeg", b"")
    with pytest.raises(ImageError, match="compressedDepth"):
        decode_compressed("16UC1; compressedDepth png", png.tobytes())


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("pad", [0, 2])
def test_depth_16uc1(bigendian, pad):
    mm = np.array([[0, 1000, 2500], [65535, 1, 0]], np.uint16)
    raw = mm.astype(">u2" if bigendian else "<u2").view(np.uint8).reshape(2, -1)
    data, step = pack(raw, pad)
    d = depth_to_metres("16UC1", 3, 2, step, bigendian, data)
    assert d.dtype == np.float32 and d.shape == (2, 3)
    np.testing.assert_allclose(d, [[np.nan, 1.0, 2.5], [65.535, 0.001, np.nan]], rtol=1e-6)


@pytest.mark.parametrize("bigendian", [False, True])
def test_depth_32fc1(bigendian):
    m = np.array([[1.5, 0.0, np.nan], [np.inf, -2.0, 3.25]], np.float32)
    raw = m.astype(">f4" if bigendian else "<f4").view(np.uint8).reshape(2, -1)
    data, step = pack(raw, 4)
    d = depth_to_metres("32FC1", 3, 2, step, bigendian, data)
    np.testing.assert_array_equal(d, np.array([[1.5, np.nan, np.nan], [np.nan, np.nan, 3.25]], np.float32))
    d[0, 0] = 9.0   # always a private copy
    with pytest.raises(ImageError, match="unsupported depth encoding 'rgb8'"):
        depth_to_metres("rgb8", 3, 2, 9, False, bytes(18))
    with pytest.raises(ImageError, match="truncated"):
        depth_to_metres("32FC1", 3, 2, 12, False, bytes(20))


FX, FY, CX, CY = 500.0, 400.0, 320.0, 240.0


def test_keypoints_to_3d_back_projection():
    depth = np.full((480, 640), 2.0, np.float32)
    depth[100:140, 100:140] = np.nan            # a hole bigger than the window
    depth[341, 421] = 9.0                       # single-pixel outlier next to a joint
    depth[339, 419] = np.nan
    kp = np.array([
        [420.0, 340.0, 0.9],     # -> (0.4, 0.5, 2.0), median ignores the outlier and the NaN
        [320.0, 240.0, 0.8],     # principal point -> (0, 0, 2)
        [120.0, 120.0, 0.9],     # in the hole -> NaN
        [200.0, 200.0, 0.0],     # missing joint (score 0) -> NaN
        [np.nan, np.nan, 0.0],   # missing joint (NaN) -> NaN
        [0.4, 479.4, 0.5],       # corner: window partly outside the image
        [5000.0, 10.0, 0.9],     # outside the image -> NaN
    ])
    p = keypoints_to_3d(kp, depth, FX, FY, CX, CY, window=5)
    assert p.shape == (7, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p[0], [0.4, 0.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(p[1], [0.0, 0.0, 2.0], atol=1e-7)
    assert np.isnan(p[2:5]).all() and np.isnan(p[6]).all()
    np.testing.assert_allclose(p[5], [(0.4 - CX) * 2 / FX, (479.4 - CY) * 2 / FY, 2.0], rtol=1e-6)


def test_keypoints_to_3d_depth_at_other_resolution():
    # depth registered to colour but at half resolution; a step edge tells if scaling is right
    depth = np.full((240, 320), 1.0, np.float32)
    depth[:, 160:] = 3.0
    kp = np.array([[100.0, 200.0, 1.0], [500.0, 200.0, 1.0]])
    p = keypoints_to_3d(kp, depth, FX, FY, CX, CY, window=3, image_size=(640, 480))
    np.testing.assert_allclose(p[:, 2], [1.0, 3.0])
    np.testing.assert_allclose(p[1, :2], [(500 - CX) * 3 / FX, (200 - CY) * 3 / FY], rtol=1e-6)
    # without image_size the lookup would land on the wrong side of the edge
    q = keypoints_to_3d(kp, depth, FX, FY, CX, CY, window=3)
    assert q[0, 2] == 1.0 and np.isnan(q[1]).all()


def test_keypoints_to_3d_from_message_fields():
    mm = np.full((6, 8), 1500, np.uint16)
    mm[0, :] = 0
    d = depth_to_metres("16UC1", 8, 6, 16, False, mm.tobytes())
    p = keypoints_to_3d(np.array([[4.0, 3.0, 1.0], [4.0, 0.0, 1.0]]), d, 10.0, 10.0, 4.0, 3.0, window=1)
    np.testing.assert_allclose(p[0], [0.0, 0.0, 1.5], rtol=1e-6)
    assert np.isnan(p[1]).all()
