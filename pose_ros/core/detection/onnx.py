"""Generic top-down backend for user-supplied ONNX pose models (HRNet, ViTPose, RTMPose, ...).

Pipeline per image: person boxes -> affine crops at the model input size ->
one batched onnxruntime run (or a loop / fixed-size chunks when the model's batch
axis is static) -> heatmap or SimCC decoding -> inverse affine back to image
pixels. Geometry follows mmpose conventions, see :mod:`pose_ros.core.detection.heatmap`.

Where the boxes come from:

* ``detector=None`` (default): the whole image is one box — right for a camera
  that frames a single person, wrong for crowds.
* ``detector=callable``: ``detector(rgb) -> (boxes (N, 4) xyxy pixels, scores (N,))``;
  returning an (N, 5) array (score in the last column) or an (N, 4) array (score 1)
  also works. This is the injection point for another backend's person stage
  (e.g. MoveNet boxes): pass it here or assign ``backend.detector = fn`` later.
  Detector boxes are padded by ``box_padding`` and reported as ``Person.box``.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection.heatmap import (
    box_to_center_scale, decode_heatmaps, decode_simcc, get_affine_transform, transform_points,
)
from pose_ros.core.detection.runtime import Model
from pose_ros.core.imaging.raw import as_cv2_input
from pose_ros.core.models import ModelError, one_line
from pose_ros.core.skeleton import NUM_COCO17, Person, mask_missing

Detector = Callable[[np.ndarray], Any]

IMAGENET_MEAN = (123.675, 116.28, 103.53)   # RGB, 0-255 scale
IMAGENET_STD = (58.395, 57.12, 57.375)
DECODERS = ("heatmap", "dark", "simcc")


def normalise_boxes(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """Detector output in any of the accepted forms -> (boxes (N, 4) float32, scores (N,) float32)."""
    if result is None:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    if isinstance(result, tuple) and len(result) == 2:
        boxes = np.asarray(result[0], dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(result[1], dtype=np.float32).reshape(-1)
    else:
        arr = np.asarray(result, dtype=np.float32)
        arr = arr.reshape(-1, arr.shape[-1]) if arr.size else np.zeros((0, 4), np.float32)
        if arr.shape[1] not in (4, 5):
            raise BackendError(f"detector must return (boxes (N, 4), scores (N,)) or an (N, 5) array, "
                               f"got shape {arr.shape}")
        boxes = arr[:, :4]
        scores = arr[:, 4] if arr.shape[1] == 5 else np.ones(len(arr), np.float32)
    if len(boxes) != len(scores):
        raise BackendError(f"detector returned {len(boxes)} boxes but {len(scores)} scores")
    return boxes, scores


def _check_options(decoder: str, box_padding: float, channel_order: str) -> None:
    """Reject options no model could use, before the model is loaded."""
    if decoder not in DECODERS:
        raise BackendError(f"unknown onnx decoder {decoder!r}; choose one of {list(DECODERS)}")
    if not box_padding > 0:
        raise BackendError(f"onnx.box_padding must be > 0, got {box_padding}")
    if channel_order not in ("rgb", "bgr"):
        raise BackendError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")


class OnnxBackend:
    """Top-down pose estimation with any COCO-keypoint ONNX model on the CPU.

    Parameters (all keyword; the node maps ``onnx.*`` ROS parameters onto them):

    model_path: the .onnx file (required).
    input_size: model input (w, h); default the model's static size, else (192, 256).
    mean, std: per-channel normalisation in 0-255 scale, in ``channel_order``.
    channel_order: 'rgb' or 'bgr' — what the model was trained on.
    decoder: 'heatmap' (argmax + quarter shift), 'dark' (DARK refinement) or 'simcc' (RTMPose).
    simcc_split_ratio: SimCC bins per input pixel (RTMPose: 2.0).
    blur_kernel: DARK blur size (11 for 64x48 heatmaps, 17 for 96x72).
    box_padding: context added around each person box (mmpose uses 1.25).
    keypoint_indices: which model outputs are COCO-17 joints 0..16 (default the first 17,
        right for COCO, Halpe-26 and COCO-WholeBody-133 models).
    detector: see the module docstring.
    min_box_score, max_people: filter the detector's boxes (max_people 0 = no limit).
    intra_op_threads: ONNX Runtime CPU threads (keep small on shared CPUs); the one engine
        wrapper runs graphs sequentially, so there are no inter-op threads to set.
    """

    name = "onnx"

    def __init__(self, model_path: str | os.PathLike | None = None, *,
                 input_size: Sequence[int] | None = None,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 channel_order: str = "rgb", decoder: str = "heatmap",
                 simcc_split_ratio: float = 2.0, blur_kernel: int = 11,
                 box_padding: float = 1.25, keypoint_indices: Sequence[int] | None = None,
                 detector: Detector | None = None, min_box_score: float = 0.0,
                 max_people: int = 0, intra_op_threads: int = 2,
                 param_prefix: str = "onnx.") -> None:
        parameter = f"{param_prefix}model_path"  # only names the caller's parameter in errors
        if not model_path or not os.path.isfile(os.fspath(model_path)):
            raise ModelError(
                f"ONNX pose model not found: {str(model_path or '')!r}. Set the `{parameter}` "
                "parameter to a top-down pose model file (.onnx, COCO keypoints, e.g. an RTMPose or "
                "HRNet export), or choose another backend.")
        _check_options(decoder, box_padding, channel_order)
        self.model_path = os.fspath(model_path)
        self.model = os.path.basename(self.model_path)
        self.decoder = decoder
        self.simcc_split_ratio = float(simcc_split_ratio)
        self.blur_kernel = int(blur_kernel)
        self.box_padding = float(box_padding)
        self.detector = detector
        self.min_box_score = float(min_box_score)
        self.max_people = int(max_people)
        self._bgr = channel_order == "bgr"
        try:
            # ONNX Runtime, as before the one wrapper: it reads every user export, OpenVINO not all
            self._session: Model | None = Model(self.model_path, engine="onnxruntime",
                                                threads=max(int(intra_op_threads), 1))
        except ModelError as exc:
            raise ModelError(f"cannot load ONNX model {self.model_path!r}: {one_line(exc).rstrip('.')}. The file is "
                             f"truncated or not an ONNX model (a Git LFS pointer?): set `{parameter}` to a "
                             "complete .onnx pose model.") from exc
        self._read_input(self._session, input_size)
        self._fetch = self._pick_outputs(self._session, decoder)
        kpi = np.arange(NUM_COCO17) if keypoint_indices is None else np.asarray(keypoint_indices, np.intp)
        if kpi.shape != (NUM_COCO17,):
            raise BackendError(f"keypoint_indices must list {NUM_COCO17} indices (COCO-17 order), "
                               f"got {len(kpi)}")
        self._kpi = kpi
        mean_a = np.asarray(mean, np.float32).reshape(3)
        std_a = np.asarray(std, np.float32).reshape(3)
        if np.any(std_a == 0):
            raise BackendError("onnx.std must not contain zeros")
        # x_norm = x * (1/std) - mean/std: one multiply-add over the batch
        self._gain = (1.0 / std_a).astype(np.float32)
        self._bias = (-mean_a / std_a).astype(np.float32)

    def _read_input(self, session: Model, input_size: Sequence[int] | None) -> None:
        """Layout (NCHW/NHWC), input size, static batch and dtype from the model's one image input."""
        if len(session.input_names) != 1:
            raise BackendError(f"{self.model} has {len(session.input_names)} inputs; a top-down pose model "
                               "with one image input is expected")
        name, shape = session.input_names[0], list(session.input_shapes[0])
        if len(shape) != 4:
            raise BackendError(f"{self.model} input {name!r} has shape {shape}; expected 4-D NCHW")
        self._nhwc = shape[3] == 3 and shape[1] != 3
        hw = (shape[1], shape[2]) if self._nhwc else (shape[2], shape[3])
        static_hw = all(d is not None for d in hw)
        if input_size is not None:
            w, h = int(input_size[0]), int(input_size[1])
            if static_hw and (h, w) != (hw[0], hw[1]):
                raise BackendError(f"onnx.input_size {w}x{h} does not match the model input "
                                   f"{hw[1]}x{hw[0]} (w x h) of {self.model}; fix or unset it")
        elif static_hw:
            w, h = int(hw[1]), int(hw[0])
        else:
            w, h = 192, 256
        self.input_size = (w, h)
        self._batch = shape[0] or 0   # 0 = dynamic
        dtype = session.input_dtypes[0]
        if dtype not in (np.float32, np.float16, np.uint8):
            raise BackendError(f"{self.model} input type {dtype} is not supported "
                               "(float32, float16 or uint8)")
        self._dtype = dtype

    def _pick_outputs(self, session: Model, decoder: str) -> list[int]:
        """Indices of the outputs the decoder reads: (simcc_x, simcc_y) or the heatmaps."""
        names = session.output_names
        if decoder == "simcc":
            if len(names) < 2:
                raise BackendError(f"decoder 'simcc' needs two outputs (simcc_x, simcc_y); "
                                   f"{self.model} has {len(names)}. Use decoder 'heatmap' or 'dark'.")
            # RTMPose exports name them simcc_x / simcc_y; otherwise trust the order
            low = [n.lower() for n in names]
            ix = [i for i, n in enumerate(low) if n.endswith("x")]
            iy = [i for i, n in enumerate(low) if n.endswith("y")]
            return [ix[0], iy[0]] if len(ix) == 1 and len(iy) == 1 else [0, 1]
        if len(session.output_shapes[0]) != 4:
            raise BackendError(f"{self.model} output {names[0]!r} has shape "
                               f"{list(session.output_shapes[0])}; decoder {decoder!r} expects (N, K, h, w) "
                               "heatmaps (use decoder 'simcc' for RTMPose)")
        return [0]

    # -- boxes ---------------------------------------------------------------
    def person_boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(boxes (N, 4) xyxy, scores (N,)) to crop, from ``detector`` or the whole image.

        The whole-image box is shrunk by ``box_padding`` so that, once padded, the
        crop is exactly the image (no resolution wasted on an empty border).
        """
        if self.detector is None:
            h, w = rgb.shape[:2]
            hw, hh = 0.5 * w / self.box_padding, 0.5 * h / self.box_padding
            box = [0.5 * w - hw, 0.5 * h - hh, 0.5 * w + hw, 0.5 * h + hh]
            return np.array([box], np.float32), np.ones(1, np.float32)
        boxes, scores = normalise_boxes(self.detector(rgb))
        keep = (scores >= self.min_box_score) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        keep &= np.isfinite(boxes).all(axis=1)
        boxes, scores = boxes[keep], scores[keep]
        if self.max_people > 0 and len(scores) > self.max_people:
            order = np.argsort(-scores, kind="stable")[: self.max_people]
            boxes, scores = boxes[order], scores[order]
        return boxes, scores

    # -- inference -----------------------------------------------------------
    def _run_fetch(self, batch: np.ndarray) -> list[np.ndarray]:
        outs = self._session.run(batch)
        return [outs[i] for i in self._fetch]

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run the model on an (N, ...) batch, chunked to the model's static batch size if any."""
        if self._batch == 0 or self._batch == len(batch):
            return self._run_fetch(batch)
        chunks: list[list[np.ndarray]] = []
        n, b = len(batch), self._batch
        for start in range(0, n, b):
            part = batch[start:start + b]
            if len(part) < b:   # pad the last chunk to the static batch size
                part = np.concatenate([part, np.zeros((b - len(part),) + part.shape[1:], part.dtype)])
            chunks.append(self._run_fetch(part))
        return [np.concatenate([c[i] for c in chunks])[:n] for i in range(len(self._fetch))]

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """People in an (H, W, 3) uint8 RGB image (may be a view; not modified)."""
        if self._session is None:
            raise BackendError("OnnxBackend.infer called after close(); create a new backend")
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise BackendError(f"infer expects an (H, W, 3) RGB image, got shape {rgb.shape}")
        from_detector = self.detector is not None
        boxes, box_scores = self.person_boxes(rgb)
        if len(boxes) == 0:
            return []
        src = as_cv2_input(rgb)   # one copy at most, not one per crop
        w, h = self.input_size
        n = len(boxes)
        crops = np.empty((n, h, w, 3), np.uint8)
        inv = np.empty((n, 2, 3), np.float64)
        for i, box in enumerate(boxes):
            center, scale = box_to_center_scale(box, w / h, self.box_padding)
            m = get_affine_transform(center, scale, (w, h))
            cv2.warpAffine(src, m, (w, h), dst=crops[i], flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            inv[i] = get_affine_transform(center, scale, (w, h), inv=True)
        # reorder (and flip channels) while still uint8: 4x less memory to move than float32
        if self._bgr:
            crops = crops[..., ::-1]
        x = np.ascontiguousarray(crops if self._nhwc else crops.transpose(0, 3, 1, 2))
        if self._dtype != np.uint8:   # uint8 models normalise inside the graph
            x = x.astype(np.float32)
            shape = (3,) if self._nhwc else (3, 1, 1)
            x *= self._gain.reshape(shape)
            x += self._bias.reshape(shape)
            x = x.astype(self._dtype, copy=False)
        outs = self._run(x)

        if self.decoder == "simcc":
            kp = decode_simcc(outs[0], outs[1], self.simcc_split_ratio)          # input pixels
        else:
            hm = outs[0]
            kp = decode_heatmaps(hm, "dark" if self.decoder == "dark" else "shift", self.blur_kernel)
            kp[..., 0] *= w / hm.shape[-1]
            kp[..., 1] *= h / hm.shape[-2]
        if kp.shape[1] <= int(self._kpi.max()):
            raise BackendError(f"{self.model} outputs {kp.shape[1]} keypoints; COCO-17 needs indices "
                               f"{self._kpi.tolist()} (set onnx.keypoint_indices for other layouts)")
        kp = transform_points(kp[:, self._kpi], inv)
        np.clip(kp[..., 2], 0.0, 1.0, out=kp[..., 2])

        people: list[Person] = []
        for i in range(n):
            k = mask_missing(kp[i])
            score = float(np.mean(k[:, 2])) * float(box_scores[i])
            p = Person(keypoints=k, score=score,
                       box=boxes[i].astype(np.float32) if from_detector else None)
            if not from_detector:
                p.ensure_box()
            p.extra["box_score"] = float(box_scores[i])
            people.append(p)
        return people

    def close(self) -> None:
        """Release the engine (its memory and threads)."""
        if self._session is not None:
            self._session.close()
        self._session = None


__all__ = ["DECODERS", "IMAGENET_MEAN", "IMAGENET_STD", "OnnxBackend", "normalise_boxes"]
