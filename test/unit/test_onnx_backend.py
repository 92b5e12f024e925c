"""OnnxBackend end to end with tiny torch models exported to ONNX inside the test.

Expected image coordinates are computed here by hand from the mmpose crop
convention (not with pose_ros.core.detection.heatmap), so a wrong transform cannot agree
with itself.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pose_ros.core.detection import BackendError, PoseBackend, create_backend

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from pose_ros.core.detection.onnx import OnnxBackend

IN_W, IN_H = 192, 256
HM_W, HM_H = IN_W // 4, IN_H // 4
K = 17
rng = np.random.default_rng(42)
HM_PEAKS = np.stack([rng.uniform(6, HM_W - 7, K), rng.uniform(6, HM_H - 7, K)], -1)   # heatmap px
HM_SCORES = np.linspace(0.5, 0.95, K)
SIMCC_BINS = np.stack([rng.integers(20, 2 * IN_W - 20, K), rng.integers(20, 2 * IN_H - 20, K)], -1)


def expected_image_xy(p_in: np.ndarray, box, padding: float = 1.25) -> np.ndarray:
    """Model-input pixels -> image pixels for a crop of ``box`` (mmpose convention, by hand)."""
    x0, y0, x1, y1 = box
    bw, bh = (x1 - x0) * padding, (y1 - y0) * padding
    if bw > bh * IN_W / IN_H:
        bh = bw * IN_H / IN_W
    else:
        bw = bh * IN_W / IN_H
    s = IN_W / bw
    return (p_in - [IN_W / 2, IN_H / 2]) / s + [(x0 + x1) / 2, (y0 + y1) / 2]


def _gauss(centres: np.ndarray, h: int, w: int, sigma: float = 2.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-((xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2)
                  / (2 * sigma ** 2))


def _export(model, path, outputs, dynamic_batch=True):
    model.eval()
    axes = {"input": {0: "batch"}, **{o: {0: "batch"} for o in outputs}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # legacy exporter: no onnxscript needed
        torch.onnx.export(model, (torch.zeros(1, 3, IN_H, IN_W),), str(path), dynamo=False,
                          opset_version=17, input_names=["input"], output_names=list(outputs),
                          dynamic_axes=axes)
    return str(path)


class ConstHeatmaps(torch.nn.Module):
    """A real conv net output (times 0) plus fixed Gaussians: known answers, real graph."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, K, 4, stride=4)
        hm = _gauss(HM_PEAKS, HM_H, HM_W) * HM_SCORES[:, None, None]
        self.register_buffer("hm", torch.tensor(hm[None], dtype=torch.float32))

    def forward(self, x):
        return self.conv(x) * 0.0 + self.hm


class RedBlob(torch.nn.Module):
    """Heatmaps that follow the image: red channel sampled every 4th input pixel.

    Checks the crop warp itself (not only the inverse transform): a red blob drawn
    in the image must come back at its image position.
    """

    def forward(self, x):
        red = torch.relu(x[:, 0:1] + 2.1)        # ImageNet-normalised red 0 -> ~0, 255 -> ~4.3
        return red[:, :, ::4, ::4].repeat(1, K, 1, 1)


class ConstSimcc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 8, stride=8)
        bx = torch.arange(2 * IN_W, dtype=torch.float32)[None]
        by = torch.arange(2 * IN_H, dtype=torch.float32)[None]
        cx = torch.tensor(SIMCC_BINS[:, 0:1], dtype=torch.float32)
        cy = torch.tensor(SIMCC_BINS[:, 1:2], dtype=torch.float32)
        self.register_buffer("sx", (0.9 * torch.exp(-(bx - cx) ** 2 / 8.0))[None])
        self.register_buffer("sy", (0.7 * torch.exp(-(by - cy) ** 2 / 8.0))[None])

    def forward(self, x):
        z = self.conv(x).mean(dim=(1, 2, 3)).reshape(-1, 1, 1) * 0.0
        return self.sx + z, self.sy + z


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_models")
    torch.manual_seed(0)
    with torch.no_grad():
        return {
            "const": _export(ConstHeatmaps(), d / "const.onnx", ["heatmaps"]),
            "const_b1": _export(ConstHeatmaps(), d / "const_b1.onnx", ["heatmaps"], dynamic_batch=False),
            "blob": _export(RedBlob(), d / "blob.onnx", ["heatmaps"]),
            "simcc": _export(ConstSimcc(), d / "simcc.onnx", ["simcc_x", "simcc_y"]),
        }


BOXES = np.array([[100, 50, 220, 290], [300, 120, 380, 200], [10.5, 20.25, 90.75, 230.5]], np.float32)
BOX_SCORES = np.array([0.9, 0.6, 0.8], np.float32)


def detector(rgb):
    return BOXES, BOX_SCORES


@pytest.mark.parametrize("decoder,tol", [("dark", 0.3), ("heatmap", 1.5)])
@pytest.mark.parametrize("model_key", ["const", "const_b1"])
def test_heatmap_model_maps_back_to_image(models, decoder, tol, model_key):
    be = OnnxBackend(model_path=models[model_key], decoder=decoder, detector=detector)
    assert isinstance(be, PoseBackend) and be.name == "onnx" and be.model.endswith(".onnx")
    assert be.input_size == (IN_W, IN_H)
    people = be.infer(np.zeros((320, 480, 3), np.uint8))
    assert len(people) == len(BOXES)
    for p, box, bs in zip(people, BOXES, BOX_SCORES):
        assert p.keypoints.shape == (17, 3) and p.keypoints.dtype == np.float32
        want = expected_image_xy(HM_PEAKS * 4.0, box)
        err = np.abs(p.keypoints[:, :2] - want).max()
        assert err < tol, (decoder, err)
        peak = (_gauss(HM_PEAKS, HM_H, HM_W) * HM_SCORES[:, None, None]).reshape(K, -1).max(1)
        np.testing.assert_allclose(p.keypoints[:, 2], peak, rtol=1e-5)   # sampled peak value
        np.testing.assert_allclose(p.score, p.keypoints[:, 2].mean() * bs, rtol=1e-5)
        np.testing.assert_array_equal(p.box, box)
    be.close()


def test_crop_geometry_with_image_driven_model(models):
    h, w = 300, 420
    yy, xx = np.mgrid[0:h, 0:w]
    target = np.array([251.3, 142.7])
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (255 * np.exp(-((xx - target[0]) ** 2 + (yy - target[1]) ** 2) / (2 * 9.0 ** 2)))
    box = np.array([[190, 60, 300, 260]], np.float32)
    be = OnnxBackend(model_path=models["blob"], decoder="dark", detector=lambda _: (box, [1.0]))
    (p,) = be.infer(img)
    assert np.abs(p.keypoints[:, :2] - target).max() < 0.3
    # the whole image as the box (no detector); also via a channel-reversed view input
    be.detector = None
    (q,) = be.infer(img[..., ::-1].copy()[..., ::-1])
    assert np.abs(q.keypoints[:, :2] - target).max() < 0.3
    assert q.box is not None   # filled from the keypoints


def test_simcc_model(models):
    be = create_backend("onnx", model_path=models["simcc"], decoder="simcc", detector=detector)
    people = be.infer(np.zeros((320, 480, 3), np.uint8))
    assert len(people) == 3
    for p, box in zip(people, BOXES):
        want = expected_image_xy(SIMCC_BINS / 2.0, box)
        assert np.abs(p.keypoints[:, :2] - want).max() < 1e-3
        np.testing.assert_allclose(p.keypoints[:, 2], 0.7, atol=1e-5)   # min of the two axes
    be.close()
    with pytest.raises(BackendError, match="after close"):
        be.infer(np.zeros((8, 8, 3), np.uint8))


def test_filters_empty_and_bad_detections(models):
    be = OnnxBackend(model_path=models["const"], detector=lambda _: np.zeros((0, 5)))
    assert be.infer(np.zeros((64, 64, 3), np.uint8)) == []
    dets = np.array([[0, 0, 50, 80, 0.9], [10, 10, 5, 40, 0.99], [0, 0, 30, 30, 0.05],
                     [5, 5, 60, 90, 0.7]], np.float32)
    be = OnnxBackend(model_path=models["const"], detector=lambda _: dets, min_box_score=0.1,
                     max_people=1)
    (p,) = be.infer(np.zeros((100, 100, 3), np.uint8))
    np.testing.assert_array_equal(p.box, dets[0, :4])


def test_errors(models, tmp_path):
    with pytest.raises(BackendError, match="onnx.model_path"):
        OnnxBackend(model_path=str(tmp_path / "nope.onnx"))
    with pytest.raises(BackendError, match="onnx.model_path"):
        create_backend("onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(BackendError, match="cannot load ONNX model"):
        OnnxBackend(model_path=str(bad))
    with pytest.raises(BackendError, match="simcc"):
        OnnxBackend(model_path=models["simcc"], decoder="heatmap")
    with pytest.raises(BackendError, match="two outputs"):
        OnnxBackend(model_path=models["const"], decoder="simcc")
    with pytest.raises(BackendError, match="does not match the model input"):
        OnnxBackend(model_path=models["const"], input_size=(256, 192))
    with pytest.raises(BackendError, match="unknown onnx decoder"):
        OnnxBackend(model_path=models["const"], decoder="argmax")
