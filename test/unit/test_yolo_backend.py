"""The opt-in YOLO11n-pose backend: letterbox, decode and NMS in pure numpy (always run),
model file errors, and the real model on a demo frame (only after `make yolo`: the
weights are AGPL-3.0 and never installed by default)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CLIP_PERSON_REGION, read_demo_rgb

from pose_ros.core.detection import BackendError, PoseBackend, create_backend
from pose_ros.core.detection.yolo import (
    PAD_VALUE,
    decode,
    fuse_flipped,
    input_shape,
    letterbox,
    letterbox_geometry,
)
from pose_ros.core.models import (
    YOLO_ONNX,
    YOLO_SIDECAR,
    ModelError,
    resolve_yolo,
    sha256_file,
    yolo_dir,
)

DECODE = {"min_person_score": 0.25, "min_keypoint_score": 0.3, "iou_threshold": 0.7, "max_people": 20}


def raw_output(people: list[tuple[tuple[float, float, float, float], float, float]], anchors: int = 50) -> np.ndarray:
    """A (56, anchors) model output: each entry is ((cx, cy, w, h), score, keypoint score);
    keypoints spread over the box, in network input pixels. Other anchors score 0."""
    raw = np.zeros((56, anchors), np.float32)
    for i, ((cx, cy, w, h), score, kscore) in enumerate(people):
        raw[:5, i] = cx, cy, w, h, score
        kp = np.stack([np.linspace(cx - w / 2, cx + w / 2, 17), np.linspace(cy - h / 2, cy + h / 2, 17),
                       np.full(17, kscore)], axis=1)
        raw[5:, i] = kp.reshape(-1)
    return raw


# -- geometry ----------------------------------------------------------------

def test_input_shape_keeps_aspect_with_stride_32():
    assert input_shape(480, 640, 640) == (480, 640)       # VGA: no padding at all
    assert input_shape(994, 1768, 640) == (384, 640)      # 16:9 -> 360 padded to 384
    assert input_shape(640, 427, 640) == (640, 448)       # portrait
    assert input_shape(720, 1280, 960) == (544, 960)


def test_letterbox_places_image_centred_on_grey():
    rgb = np.full((360, 640, 3), 255, np.uint8)
    rgb[0, 0] = (10, 20, 30)
    buffers: dict = {}
    x, (scale, top, left) = letterbox(rgb, 640, buffers)
    assert x.shape == (1, 3, 384, 640) and x.dtype == np.float32
    assert (scale, top, left) == (1.0, 12, 0)
    assert np.allclose(x[0, :, :12], PAD_VALUE / 255) and np.allclose(x[0, :, 372:], PAD_VALUE / 255)
    assert np.allclose(x[0, :, 12, 0], np.array([10, 20, 30]) / 255)     # RGB order kept, scaled to 0..1
    assert np.allclose(x[0, :, 13:372], 1.0)
    # the per-shape buffer is reused, its border stays grey, the image area is rewritten
    x2, _ = letterbox(np.zeros_like(rgb), 640, buffers)
    assert x2 is x and np.allclose(x2[0, :, :12], PAD_VALUE / 255) and np.allclose(x2[0, :, 12:372], 0.0)


def test_letterbox_resizes_large_images_and_accepts_views():
    rgb = np.random.default_rng(0).integers(0, 255, (994, 1768, 3), np.uint8)
    x, (scale, top, left) = letterbox(rgb[:, ::-1], 640)       # a negative-stride view
    assert x.shape == (1, 3, 384, 640)
    assert scale == pytest.approx(640 / 1768) and left == 0 and top == (384 - round(994 * scale)) // 2
    assert letterbox_geometry(994, 1768, 384, 640)[1:] == (360, 640, 12, 0)


# -- NMS and decode ----------------------------------------------------------

def test_decode_maps_to_image_pixels_sorted_and_suppressed():
    # image 1768x994 letterboxed to 640x384: scale 640/1768, 12 px grey bars top and bottom
    scale, top, left = 640 / 1768, 12, 0
    raw = raw_output([((100, 200, 40, 120), 0.6, 0.9),
                      ((102, 201, 40, 120), 0.8, 0.9),        # duplicate of the first, better
                      ((400, 150, 50, 100), 0.7, 0.1),        # joints scored below min_keypoint_score
                      ((500, 100, 50, 100), 0.1, 0.9)])       # below min_person_score
    people = decode(raw, scale, top, left, 994, 1768, **DECODE)
    assert [round(p.score, 2) for p in people] == [0.8, 0.7]
    best = people[0]
    assert best.box == pytest.approx([(82 - left) / scale, (141 - top) / scale, (122 - left) / scale,
                                      (261 - top) / scale], rel=1e-5)
    assert best.keypoints.shape == (17, 3) and best.keypoints.dtype == np.float32
    assert best.keypoints[0, :2] == pytest.approx([82 / scale, (141 - top) / scale], rel=1e-5)
    assert np.allclose(best.keypoints[:, 2], 0.9)
    masked = people[1].keypoints
    assert np.isnan(masked[:, :2]).all() and (masked[:, 2] == 0).all()     # mask_missing semantics


def test_decode_limits_people_clips_boxes_and_drops_non_finite():
    raw = raw_output([((30 + 60 * i, 100, 40, 80), 0.5 + 0.01 * i, 0.9) for i in range(8)]
                     + [((5, 5, 40, 40), 0.99, 0.9)])           # box beyond the top-left corner
    raw[0, 8] = np.nan                                          # ... with a NaN centre: dropped
    people = decode(raw, 1.0, 0, 0, 480, 640, **{**DECODE, "max_people": 3})
    assert len(people) == 3 and [round(p.score, 2) for p in people] == [0.57, 0.56, 0.55]
    raw[0, 8] = 5
    top = decode(raw, 1.0, 0, 0, 480, 640, **DECODE)[0]
    assert top.score == pytest.approx(0.99) and top.box.tolist() == [0, 0, 25, 25]
    assert decode(np.zeros((1, 56, 10), np.float32), 1.0, 0, 0, 480, 640, **DECODE) == []


def test_flip_fusion_mirrors_back_swaps_sides_and_averages():
    width = 100
    boxes = np.array([[10, 10, 30, 60], [60, 10, 80, 60]], np.float32)
    scores = np.array([0.9, 0.6], np.float32)
    kp = np.zeros((2, 17, 3), np.float32)
    kp[..., 0], kp[..., 1], kp[..., 2] = 20, 30, 0.8
    kp[0, 5, 0], kp[0, 6, 0] = 24, 16                  # person 0: left shoulder at x 24, right at 16
    # person 0 as the mirrored image shows it: x -> 100 - x, and its left shoulder is the model's "right"
    mkp = kp[:1].copy()
    mkp[..., 0] = width - kp[:1, :, 0]
    mkp[0, 5, 0], mkp[0, 6, 0] = width - 16 + 2, width - 24 + 2    # 2 px off, to see the average
    mkp[..., 2] = 0.6
    mboxes = np.array([[70, 10, 90, 60]], np.float32)
    out_boxes, out_scores, out_kp = fuse_flipped((boxes, scores, kp), (mboxes, np.array([0.7], np.float32), mkp),
                                                 width)
    assert out_scores.tolist() == pytest.approx([0.8, 0.6])      # matched: averaged; unmatched: as it was
    assert out_boxes[0].tolist() == [10, 10, 30, 60]
    assert out_kp[0, 5, 0] == pytest.approx(23) and out_kp[0, 6, 0] == pytest.approx(15)
    assert out_kp[0, 0, 2] == pytest.approx(0.7) and (out_kp[1] == kp[1]).all()
    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 17, 3), np.float32))
    assert fuse_flipped((boxes, scores, kp), empty, width)[1].tolist() == scores.tolist()


def test_options_are_checked():
    with pytest.raises(BackendError, match="engine"):
        create_backend("yolo", engine="tensorrt")
    with pytest.raises(BackendError, match="multiple of 32"):
        create_backend("yolo", input_size=650)


# -- model files -------------------------------------------------------------

def test_missing_model_says_make_yolo(tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_ROS_CACHE", str(tmp_path))
    with pytest.raises(ModelError) as err:
        create_backend("yolo")
    msg = str(err.value)
    assert "make yolo" in msg and YOLO_ONNX in msg and "AGPL-3.0" in msg and "\n" not in msg


def test_corrupt_model_says_make_yolo(tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_ROS_CACHE", str(tmp_path))
    folder = yolo_dir()
    folder.mkdir(parents=True)
    (folder / YOLO_ONNX).write_bytes(b"not an onnx model")
    (folder / YOLO_SIDECAR).write_text(json.dumps({"onnx_sha256": "0" * 64}))
    with pytest.raises(ModelError, match=r"corrupt or replaced.*make yolo"):
        resolve_yolo()
    # checksum consistent but the bytes are no model: the runtime's load error, same advice
    (folder / YOLO_SIDECAR).write_text(json.dumps({"onnx_sha256": sha256_file(folder / YOLO_ONNX)}))
    for engine in ("onnxruntime", "openvino"):
        with pytest.raises(ModelError, match=r"cannot load .*yolo11n-pose.onnx.*make yolo"):
            create_backend("yolo", engine=engine)


# -- the real model (opt-in) -------------------------------------------------

@pytest.fixture(scope="module")
def installed() -> None:
    if not (yolo_dir() / YOLO_ONNX).exists() and not (yolo_dir() / YOLO_SIDECAR).exists():
        pytest.skip("YOLO11n-pose is opt-in (AGPL-3.0 weights) and not installed: run `make yolo`")
    resolve_yolo()   # installed but damaged: fail, do not skip


@pytest.mark.parametrize("engine", ["openvino", "onnxruntime"])
def test_real_model_finds_the_person_on_the_box(installed, engine):
    rgb = read_demo_rgb(0)
    backend = create_backend("yolo", engine=engine)
    assert backend.engine == engine
    assert isinstance(backend, PoseBackend) and backend.name == "yolo"
    assert "AGPL-3.0" in backend.model and backend.licence.startswith("AGPL-3.0")
    people = backend.infer(rgb)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = CLIP_PERSON_REGION
    on_box = [p for p in people if x0 <= (p.box[0] + p.box[2]) / 2 / w <= x1
              and y0 <= (p.box[1] + p.box[3]) / 2 / h <= y1]
    assert on_box and on_box[0].score > 0.5
    kp = on_box[0].keypoints
    seen = kp[:, 2] > 0
    assert seen.sum() >= 12
    inside = (kp[seen, 0] >= on_box[0].box[0] - 20) & (kp[seen, 0] <= on_box[0].box[2] + 20)
    assert inside.all()
    assert np.isnan(kp[~seen, :2]).all()
    # the same frame as a 4:3 crop and as a view: another input shape, same person
    again = backend.infer(rgb[:, : h * 4 // 3])
    assert any(abs(p.box[0] - on_box[0].box[0]) < 10 for p in again)
    backend.close()
    with pytest.raises(BackendError, match="close"):
        backend.infer(rgb)


# -- YOLO boxes for the thunder backend (thunder.yolo_boxes) -------------------

def test_add_boxes_keeps_only_new_people_sorted_by_score():
    from pose_ros.core.detection.thunder import add_boxes
    nanodet = np.array([[0, 0, 100, 200], [300, 0, 400, 200]], np.float32)
    yolo = np.array([[2, 3, 101, 198],      # the first person again: adds nothing
                     [600, 0, 700, 200],    # someone NanoDet missed
                     [300, 100, 400, 300]], np.float32)   # overlaps the second by IoU 1/3: a new box
    boxes, scores = add_boxes(nanodet, np.array([0.9, 0.4]), yolo, np.array([0.95, 0.6, 0.3]))
    assert boxes.dtype == np.float32 and scores.tolist() == pytest.approx([0.9, 0.6, 0.4, 0.3])
    assert boxes[1].tolist() == [600, 0, 700, 200] and boxes[3].tolist() == [300, 100, 400, 300]
    # either detector alone
    b, s = add_boxes(np.zeros((0, 4)), np.zeros(0), yolo[:1], np.array([0.5]))
    assert b.shape == (1, 4) and s.tolist() == [0.5]
    b, s = add_boxes(nanodet, np.array([0.9, 0.4]), np.zeros((0, 4)), np.zeros(0))
    assert b.shape == (2, 4)


def test_thunder_with_yolo_boxes_finds_the_person(installed):
    rgb = read_demo_rgb(0)
    backend = create_backend("thunder", yolo_boxes=True, detect_every=1)
    assert "yolo11n-pose boxes" in backend.model and "AGPL-3.0" in backend.model
    people = backend.infer(rgb)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = CLIP_PERSON_REGION
    assert any(x0 <= np.nanmean(p.keypoints[:, 0]) / w <= x1 and y0 <= np.nanmean(p.keypoints[:, 1]) / h <= y1
               and p.score > 0.3 for p in people)
    backend.close()


def test_thunder_yolo_boxes_without_make_yolo_says_so(tmp_path, monkeypatch):
    """thunder.yolo_boxes on a machine without `make yolo`: the one-line model error (exit 2 in the node)."""
    import pose_ros.core.models as models
    monkeypatch.setattr(models, "yolo_dir", lambda: tmp_path / "nothing-here")
    with pytest.raises(ModelError) as err:
        create_backend("thunder", yolo_boxes=True)
    msg = str(err.value)
    assert "make yolo" in msg and YOLO_ONNX in msg and "AGPL-3.0" in msg and "\n" not in msg
