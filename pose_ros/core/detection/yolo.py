"""YOLO11n-pose: one-stage multi-person pose, opt-in (the weights are AGPL-3.0).

`make yolo` exports the official Ultralytics checkpoint once to an ONNX file with
dynamic height and width (see scripts/yolo_setup.sh); at run time only that file is
loaded, never the pickled .pt, and nothing is downloaded. The ONNX graph ends before
NMS (Ultralytics' NMS export needs torchvision), so decoding and class-agnostic NMS
happen here in numpy.

The input keeps the image's aspect: the longer side is scaled to ``input_size`` and
the shorter side padded up to a multiple of 32 (Ultralytics' "rect" letterbox, grey
114), so a 640x480 camera runs at 640x480 with no padding at all and 16:9 at 640x384.
Runs on OpenVINO or ONNX Runtime (``engine``, as for thunder) through the one engine
wrapper (:mod:`pose_ros.core.detection.runtime`); OpenVINO compiles one static-shape
model per input shape, which a camera keeps.
"""
from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection.runtime import Model
from pose_ros.core.geometry import iou_matrix, nms
from pose_ros.core.imaging.raw import as_cv2_input
from pose_ros.core.models import YOLO_LICENCE, ModelError, one_line, resolve_yolo
from pose_ros.core.skeleton import COCO17_FLIP, NUM_COCO17, Person, mask_missing

STRIDE = 32
PAD_VALUE = 114          # Ultralytics' letterbox grey
ENGINES = ("auto", "openvino", "onnxruntime")
_ROWS = 5 + 3 * NUM_COCO17   # cx, cy, w, h, person score, 17 x (x, y, score)


def input_shape(height: int, width: int, input_size: int) -> tuple[int, int]:
    """(h, w) of the network input: longer side ``input_size``, shorter side padded to a multiple of 32."""
    scale = input_size / max(height, width)
    in_h = max(STRIDE, int(np.ceil(round(height * scale) / STRIDE)) * STRIDE)
    in_w = max(STRIDE, int(np.ceil(round(width * scale) / STRIDE)) * STRIDE)
    return in_h, in_w


def letterbox_geometry(height: int, width: int, in_h: int, in_w: int) -> tuple[float, int, int, int, int]:
    """(scale, resized h, resized w, top pad, left pad) to fit an image centred into (in_h, in_w)."""
    scale = min(in_h / height, in_w / width)
    nh, nw = min(in_h, round(height * scale)), min(in_w, round(width * scale))
    return scale, nh, nw, (in_h - nh) // 2, (in_w - nw) // 2


def letterbox(rgb: np.ndarray, input_size: int,
              buffers: dict[tuple[int, int], np.ndarray] | None = None) -> tuple[np.ndarray, tuple[float, int, int]]:
    """Letterboxed (1, 3, h, w) float32 in [0, 1] and its (scale, top, left).

    With ``buffers`` (one float array per input shape, kept by the caller) the grey
    border is written once per shape and each frame writes only the image area,
    normalising while it transposes: no padded uint8 copy, no second float pass.
    """
    height, width = rgb.shape[:2]
    in_h, in_w = input_shape(height, width, input_size)
    scale, nh, nw, top, left = letterbox_geometry(height, width, in_h, in_w)
    x = None if buffers is None else buffers.get((in_h, in_w))
    if x is None:
        x = np.full((1, 3, in_h, in_w), PAD_VALUE / 255.0, np.float32)
        if buffers is not None:
            buffers[(in_h, in_w)] = x
    img = rgb
    if (nh, nw) != (height, width):
        # bilinear, as Ultralytics' own predictor (INTER_AREA costs over ten times as much here)
        img = cv2.resize(as_cv2_input(rgb), (nw, nh), interpolation=cv2.INTER_LINEAR)
    np.multiply(img.transpose(2, 0, 1), np.float32(1.0 / 255.0), out=x[0, :, top:top + nh, left:left + nw],
                casting="unsafe")
    return x, (scale, top, left)


def decode_arrays(raw: np.ndarray, scale: float, pad_top: int, pad_left: int, height: int, width: int, *,
                  min_person_score: float, iou_threshold: float,
                  max_people: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw (56, A) or (1, 56, A) model output -> (boxes (n, 4), scores (n,), keypoints (n, 17, 3)),
    in image pixels, best score first, after NMS; keypoints not yet masked.

    Rows: box centre x, y, width, height (input pixels), person score, then x, y and
    visibility score per COCO-17 keypoint (sigmoids are inside the graph).
    """
    pred = raw.reshape(_ROWS, -1)
    cand = np.flatnonzero(pred[4] > min_person_score)
    sel = pred[:, cand].T.astype(np.float32)            # (n, 56), only the candidates
    sel = sel[np.isfinite(sel).all(axis=1)]
    scores = sel[:, 4]
    boxes = np.empty((len(sel), 4), np.float32)
    boxes[:, :2] = sel[:, :2] - 0.5 * sel[:, 2:4]
    boxes[:, 2:] = sel[:, :2] + 0.5 * sel[:, 2:4]
    keep = nms(boxes, scores, iou_threshold, max_keep=max_people, max_candidates=300)
    offset = np.array([pad_left, pad_top], np.float32)
    inv = np.float32(1.0 / scale)
    boxes = ((boxes[keep].reshape(-1, 2, 2) - offset) * inv).reshape(-1, 4)
    np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
    kp = sel[keep, 5:].reshape(-1, NUM_COCO17, 3)
    kp[..., :2] = (kp[..., :2] - offset) * inv
    return boxes, scores[keep], kp


def to_people(boxes: np.ndarray, scores: np.ndarray, kp: np.ndarray, min_keypoint_score: float) -> list[Person]:
    """Person records; joints scored <= ``min_keypoint_score`` become NaN / 0 (mask_missing)."""
    return [Person(keypoints=mask_missing(kp[i], min_keypoint_score), score=float(scores[i]), box=boxes[i])
            for i in range(len(scores))]


def decode(raw: np.ndarray, scale: float, pad_top: int, pad_left: int, height: int, width: int, *,
           min_person_score: float, min_keypoint_score: float, iou_threshold: float,
           max_people: int) -> list[Person]:
    """Raw model output -> Persons in image pixels, best score first (see decode_arrays)."""
    arrays = decode_arrays(raw, scale, pad_top, pad_left, height, width, min_person_score=min_person_score,
                           iou_threshold=iou_threshold, max_people=max_people)
    return to_people(*arrays, min_keypoint_score)


def fuse_flipped(direct: tuple[np.ndarray, np.ndarray, np.ndarray], mirrored: tuple[np.ndarray, np.ndarray, np.ndarray],
                 width: int, min_iou: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average each person with its match (box IoU >= ``min_iou``) found in the mirrored image.

    Mirrored results are flipped back (x -> width - x, left/right joints swapped) first.
    People seen only in the mirrored image are dropped; unmatched ones are kept as they are.
    """
    boxes, scores, kp = (a.copy() for a in direct)
    mboxes, mscores, mkp = mirrored
    if len(scores) == 0 or len(mscores) == 0:
        return boxes, scores, kp
    back = mboxes.copy()
    back[:, 0], back[:, 2] = width - mboxes[:, 2], width - mboxes[:, 0]
    bkp = mkp[:, COCO17_FLIP].copy()
    bkp[..., 0] = width - bkp[..., 0]
    iou = iou_matrix(boxes, back)
    free = np.ones(len(back), bool)
    for i in range(len(boxes)):          # best score first, as decoded
        cand = np.where(free, iou[i], -1.0)
        j = int(np.argmax(cand))
        if cand[j] < min_iou:
            continue
        free[j] = False
        boxes[i] = 0.5 * (boxes[i] + back[j])
        kp[i] = 0.5 * (kp[i] + bkp[j])
        scores[i] = 0.5 * (scores[i] + mscores[j])
    order = np.argsort(-scores, kind="stable")
    return boxes[order], scores[order], kp[order]


class ShapeModels:
    """YOLO's raw output for any input shape, through the one engine wrapper (:mod:`runtime`).

    ONNX Runtime runs the dynamic-shape graph as it is; OpenVINO compiles one static-shape
    model per input shape on first use (a camera keeps one). Loading checks the file at
    once: ``auto`` gets OpenVINO when it loads the file (faster on this model, see
docs/benchmarks.md), else ONNX Runtime.
    """

    def __init__(self, path: str, engine: str, threads: int, first_shape: tuple[int, ...]) -> None:
        first = Model(path, engine=engine, threads=threads, input_shape=first_shape)
        self.engine, self.path, self.threads = first.engine, path, threads
        self._models: dict[tuple[int, ...], Model] = {first_shape: first}
        self._dynamic = first if first.engine == "onnxruntime" else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        model = self._dynamic or self._models.get(x.shape)
        if model is None:
            model = self._models[x.shape] = Model(self.path, self.engine, self.threads, input_shape=x.shape)
        return model.run(x)[0]

    def close(self) -> None:
        """Drop every compiled model."""
        for model in self._models.values():
            model.close()
        self._models.clear()


class YoloPoseBackend:
    """YOLO11n-pose on the CPU; see the module docstring. Opt-in: the weights are AGPL-3.0."""

    name = "yolo"
    licence = YOLO_LICENCE

    def __init__(self, input_size: int = 640, min_person_score: float = 0.25, min_keypoint_score: float = 0.05,
                 iou_threshold: float = 0.7, max_people: int = 20, num_threads: int = 2, engine: str = "auto",
                 flip: bool = False, param_prefix: str = "") -> None:
        """``flip`` also runs the mirrored image and averages matched people (twice the time);
        ``param_prefix`` is accepted like the other backends' (no model path parameter here)."""
        if input_size < STRIDE or input_size % STRIDE:
            raise BackendError(f"yolo input_size must be a positive multiple of 32, got {input_size}")
        if max_people < 1:
            raise BackendError(f"yolo max_people must be >= 1, got {max_people}")
        if engine not in ENGINES:
            raise BackendError(f"yolo engine must be one of {list(ENGINES)}, got {engine!r}")
        self.input_size = int(input_size)
        self.min_person_score = float(min_person_score)
        self.min_keypoint_score = float(min_keypoint_score)
        self.iou_threshold = float(iou_threshold)
        self.max_people = int(max_people)
        self.flip = bool(flip)
        path, self.record = resolve_yolo()
        self.model_path = path
        try:
            self._run: ShapeModels | None = ShapeModels(os.fspath(path), engine, max(1, int(num_threads)),
                                                        (1, 3, self.input_size, self.input_size))
        except ModelError as exc:
            raise ModelError(f"cannot load {path} ({one_line(exc)}); run `make yolo` again") from exc
        self.engine = self._run.engine
        self.model = f"yolo11n-pose ({path.name}, {self.engine}; weights licence {self.licence})"
        self._inputs: dict[tuple[int, int], np.ndarray] = {}
        # stated at every start-up (the node also logs ``model``): an AGPL-3.0 model is running
        logging.getLogger(__name__).info("backend yolo: %s", self.model)

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, int, int]]:
        """Raw (56, A) model output for an RGB image and the letterbox (scale, top, left)."""
        if self._run is None:
            raise BackendError("YoloPoseBackend used after close(); create a new backend")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise BackendError(f"yolo expects an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}")
        x, geometry = letterbox(rgb, self.input_size, self._inputs)
        return np.asarray(self._run(x))[0], geometry

    def _arrays(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raw, (scale, top, left) = self.run(rgb)
        return decode_arrays(raw, scale, top, left, rgb.shape[0], rgb.shape[1],
                             min_person_score=self.min_person_score, iou_threshold=self.iou_threshold,
                             max_people=self.max_people)

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (K, 4) xyxy pixels and scores (K,), best first: YOLO as a person detector
        (the thunder backend's ``yolo_boxes``)."""
        boxes, scores, _ = self._arrays(rgb)
        return boxes, scores

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """People in ``rgb`` (H, W, 3 uint8, not modified), best score first, keypoints in pixels."""
        arrays = self._arrays(rgb)
        if self.flip:
            arrays = fuse_flipped(arrays, self._arrays(rgb[:, ::-1]), rgb.shape[1])
        return to_people(*arrays, self.min_keypoint_score)

    def close(self) -> None:
        """Drop the engine's models (their memory and threads)."""
        if self._run is not None:
            self._run.close()
        self._run = None
        self._inputs.clear()


__all__ = ["ENGINES", "ShapeModels", "YoloPoseBackend", "decode", "decode_arrays", "fuse_flipped", "input_shape",
           "letterbox", "letterbox_geometry",
           "to_people"]
