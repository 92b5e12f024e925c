"""NanoDet-m (416x416, COCO-80) as a person detector: pre-processing and box decoding.

The model is the TF.js graph of RangiLyu/nanodet (Apache-2.0) converted to ONNX by
``scripts/build_models.py``. It takes BGR, mean/std normalised, NCHW input, and the
image is squashed (not letterboxed) to 416x416, as in training. It returns, per
stride (8, 16, 32), sigmoid class scores (N, 80) and a GFL box distribution (N, 44):
four sides x 11 bins whose softmax expectation is the side's distance from the
cell centre in units of the stride. Only the person class is decoded.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.geometry import nms

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
NUM_CLASSES = 80
REG_BINS = 11
PERSON = 0
_MEAN_RGB = np.array([123.675, 116.28, 103.53], np.float32)    # the BGR training means, in RGB order
_INV_STD_RGB = 1.0 / np.array([58.395, 57.12, 57.375], np.float32)


def preprocess(rgb: np.ndarray, letterbox: bool = True, size: int = INPUT_SIZE
               ) -> tuple[np.ndarray, float, float]:
    """(1, 3, size, size) float32 BGR network input, and the x, y scales from image to input.

    ``letterbox`` keeps the aspect ratio (the image fills the top-left, the rest is the
    mean colour, i.e. zero after normalisation); otherwise the image is squashed as in
    NanoDet's own demo. On the COCO photos letterboxing found more of the annotated
    people (box IoU >= 0.5), mostly upright ones in portrait photos.
    """
    h, w = rgb.shape[:2]
    if letterbox:
        s = size / max(h, w)
        nw, nh = max(1, min(size, round(w * s))), max(1, min(size, round(h * s)))
        sx, sy = nw / w, nh / h
    else:
        nw = nh = size
        sx, sy = size / w, size / h
    interp = cv2.INTER_AREA if (sx < 0.5 or sy < 0.5) else cv2.INTER_LINEAR
    x = np.zeros((1, 3, size, size), np.float32)
    bgr = rgb[..., ::-1]
    if bgr.flags.c_contiguous:   # a camera's BGR buffer seen as RGB: resize the buffer, no copy
        small = cv2.resize(bgr, (nw, nh), interpolation=interp)
        norm = (small.astype(np.float32) - _MEAN_RGB[::-1]) * _INV_STD_RGB[::-1]
        x[0, :, :nh, :nw] = norm.transpose(2, 0, 1)
    else:
        small = cv2.resize(rgb, (nw, nh), interpolation=interp)
        norm = (small.astype(np.float32) - _MEAN_RGB) * _INV_STD_RGB
        x[0, :, :nh, :nw] = norm.transpose(2, 0, 1)[::-1]   # RGB -> BGR planes
    return x, sx, sy


def split_outputs(outputs: dict[str, np.ndarray] | list[np.ndarray], size: int = INPUT_SIZE
                  ) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(stride, class scores (N, 80), box bins (N, 44)) per level, found by shape not by name."""
    arrays = list(outputs.values()) if isinstance(outputs, dict) else list(outputs)
    levels = []
    for stride in STRIDES:
        n = (size // stride) ** 2
        cls = [a.reshape(-1, a.shape[-1]) for a in arrays if a.shape[-1] == NUM_CLASSES and a.size == n * NUM_CLASSES]
        reg = [a.reshape(-1, a.shape[-1]) for a in arrays if a.shape[-1] == 4 * REG_BINS and a.size == n * 4 * REG_BINS]
        if len(cls) != 1 or len(reg) != 1:
            raise ValueError(f"NanoDet outputs lack a unique level for stride {stride}: "
                             f"{[a.shape for a in arrays]}")
        levels.append((stride, cls[0], reg[0]))
    return levels


def decode_people(outputs: dict[str, np.ndarray] | list[np.ndarray], width: int, height: int,
                  sx: float, sy: float, min_score: float = 0.3, iou: float = 0.6, max_boxes: int = 100,
                  size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes (K, 4) xyxy in pixels of the (width x height) image and their scores (K,),
    best first; ``sx``, ``sy`` are :func:`preprocess`'s image-to-input scales."""
    all_boxes, all_scores = [], []
    for stride, cls, reg in split_outputs(outputs, size):
        score = cls[:, PERSON]
        idx = np.flatnonzero(score >= min_score)
        if idx.size == 0:
            continue
        side = size // stride
        cx = (idx % side + 0.5) * stride   # NanoDet's cell centres (GFL head: (i + 0.5) * stride)
        cy = (idx // side + 0.5) * stride
        logits = reg[idx].reshape(-1, 4, REG_BINS).astype(np.float32)
        logits -= logits.max(axis=2, keepdims=True)
        prob = np.exp(logits)
        dist = (prob @ np.arange(REG_BINS, dtype=np.float32)) / prob.sum(axis=2) * stride  # (K, 4) l t r b
        all_boxes.append(np.column_stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]]))
        all_scores.append(score[idx])
    if not all_boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    boxes = np.concatenate(all_boxes) / np.array([sx, sy, sx, sy], np.float32)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    scores = np.concatenate(all_scores).astype(np.float32)
    keep = nms(boxes, scores, iou, max_keep=max_boxes)
    return boxes[keep].astype(np.float32), scores[keep]


__all__ = ["INPUT_SIZE", "PERSON", "STRIDES", "decode_people", "preprocess", "split_outputs"]
