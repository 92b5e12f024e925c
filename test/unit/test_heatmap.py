"""Heatmap / SimCC decoding accuracy and crop geometry."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from pose_ros.core.detection.heatmap import (
    box_to_center_scale, crop_box, decode_heatmaps, decode_simcc, get_affine_transform,
    transform_points,
)


def gaussian_maps(centres: np.ndarray, h: int, w: int, sigma: float = 2.0,
                  peaks: np.ndarray | None = None) -> np.ndarray:
    """(K, h, w) Gaussians centred at sub-pixel (x, y) ``centres``, like training targets."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = centres[:, 0, None, None]
    cy = centres[:, 1, None, None]
    g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2)).astype(np.float32)
    if peaks is not None:
        g *= peaks[:, None, None]
    return g


@pytest.fixture
def centres() -> np.ndarray:
    rng = np.random.default_rng(3)
    k, h, w = 17, 64, 48
    return np.stack([rng.uniform(4, w - 5, k), rng.uniform(4, h - 5, k)], -1).astype(np.float32)


def test_dark_is_subpixel_accurate(centres):
    peaks = np.linspace(0.3, 1.0, len(centres)).astype(np.float32)
    hm = gaussian_maps(centres, 64, 48, peaks=peaks)
    out = decode_heatmaps(hm, "dark", blur_kernel=11)
    assert out.shape == (17, 3) and out.dtype == np.float32
    err = np.abs(out[:, :2] - centres)
    assert err.max() < 0.1, err.max()
    np.testing.assert_allclose(out[:, 2], hm.reshape(17, -1).max(1))   # score = raw peak


def test_shift_is_within_a_quarter_pixel(centres):
    hm = gaussian_maps(centres, 64, 48)
    out = decode_heatmaps(hm, "shift")
    err = np.abs(out[:, :2] - centres)
    assert err.max() <= 0.26, err.max()
    # and it beats plain argmax on average
    argmax = np.stack(np.unravel_index(hm.reshape(17, -1).argmax(1), (64, 48))[::-1], -1)
    assert err.mean() < np.abs(argmax - centres).mean()


@pytest.mark.parametrize("method", ["shift", "dark"])
def test_batched_and_borders(centres, method):
    hm = gaussian_maps(centres, 64, 48)
    batch = np.stack([hm, hm[::-1]])                       # (N, K, h, w)
    out = decode_heatmaps(batch, method)
    assert out.shape == (2, 17, 3)
    np.testing.assert_allclose(out[1], out[0][::-1])
    # peaks on / next to the border: no index errors, stays within the map
    edge = np.array([[0, 0], [47, 63], [1, 62], [46, 1]], np.float32)
    e = decode_heatmaps(gaussian_maps(edge, 64, 48), method)
    assert np.all((e[:, 0] >= 0) & (e[:, 0] <= 47) & (e[:, 1] >= 0) & (e[:, 1] <= 63))
    assert np.abs(e[:, :2] - edge).max() <= 1.0


def test_dark_is_stable_on_noise():
    rng = np.random.default_rng(1)
    hm = rng.random((17, 64, 48)).astype(np.float32)
    out = decode_heatmaps(hm, "dark")
    am = np.stack(np.unravel_index(hm.reshape(17, -1).argmax(1), (64, 48))[::-1], -1)
    assert np.isfinite(out).all()
    assert np.abs(out[:, :2] - am).max() <= 1.0 + 1e-6    # Newton step clamped


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown heatmap decoding method"):
        decode_heatmaps(np.zeros((1, 8, 8), np.float32), "soft-argmax")  # type: ignore[arg-type]


def test_decode_simcc():
    k, wx, wy = 17, 384, 512
    rng = np.random.default_rng(5)
    bx, by = rng.integers(10, wx - 10, k), rng.integers(10, wy - 10, k)
    xs, ys = np.arange(wx)[None], np.arange(wy)[None]
    px, py = rng.uniform(0.2, 1.0, k), rng.uniform(0.2, 1.0, k)
    sx = (px[:, None] * np.exp(-(xs - bx[:, None]) ** 2 / 18.0)).astype(np.float32)
    sy = (py[:, None] * np.exp(-(ys - by[:, None]) ** 2 / 18.0)).astype(np.float32)
    out = decode_simcc(sx, sy, split_ratio=2.0)
    assert out.shape == (k, 3)
    np.testing.assert_allclose(out[:, 0], bx / 2.0)
    np.testing.assert_allclose(out[:, 1], by / 2.0)
    np.testing.assert_allclose(out[:, 2], np.minimum(px, py), rtol=1e-6)
    batched = decode_simcc(np.stack([sx, sx]), np.stack([sy, sy]), 2.0)
    assert batched.shape == (2, k, 3)
    np.testing.assert_allclose(batched[1], out)
    with pytest.raises(ValueError, match="disagree"):
        decode_simcc(sx, sy[:5])


def test_box_to_center_scale_fixes_aspect():
    c, s = box_to_center_scale([100, 50, 220, 290], aspect=192 / 256, padding=1.25)
    np.testing.assert_allclose(c, [160, 170])
    np.testing.assert_allclose(s, [225, 300])            # tall box: width grows to 3:4
    c, s = box_to_center_scale([0, 0, 400, 100], aspect=0.75, padding=1.0)
    np.testing.assert_allclose(s, [400, 400 / 0.75])     # wide box: height grows


@pytest.mark.parametrize("rot", [0.0, 30.0, -90.0])
def test_affine_round_trip(rot):
    c, s, out = np.array([160.0, 170.0]), np.array([225.0, 300.0]), (192, 256)
    m = get_affine_transform(c, s, out, rot=rot)
    mi = get_affine_transform(c, s, out, rot=rot, inv=True)
    assert m.shape == (2, 3) and mi.shape == (2, 3)
    np.testing.assert_allclose(transform_points(c[None], m)[0], [96, 128])   # centre -> crop centre
    pts = np.random.default_rng(0).uniform(0, 400, (50, 3))
    back = transform_points(transform_points(pts, m), mi)
    np.testing.assert_allclose(back[:, :2], pts[:, :2], atol=1e-9)
    np.testing.assert_array_equal(back[:, 2], pts[:, 2])                    # scores pass through
    if rot == 0:
        np.testing.assert_allclose(m[:, :2], np.eye(2) * 192 / 225)


def test_transform_points_stacked_matrices():
    ms = np.stack([get_affine_transform([10, 10], [20, 20], (40, 40)),
                   get_affine_transform([50, 60], [80, 80], (40, 40), rot=10)])
    pts = np.random.default_rng(2).uniform(0, 100, (2, 17, 3)).astype(np.float32)
    out = transform_points(pts, ms)
    for i in range(2):
        np.testing.assert_allclose(out[i], transform_points(pts[i], ms[i]), rtol=1e-6)


def test_crop_box_maps_a_dot_and_back():
    img = np.zeros((240, 320, 3), np.uint8)
    cv2.circle(img, (201, 137), 3, (255, 255, 255), -1)
    crop, inv = crop_box(img, [150, 80, 250, 220], (96, 128))
    assert crop.shape == (128, 96, 3)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    found = transform_points(np.array([[xs.mean(), ys.mean()]]), inv)[0]
    np.testing.assert_allclose(found, [201, 137], atol=0.5)
