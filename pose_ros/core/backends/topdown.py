"""Top-down BlazePose: MoveNet finds the people, BlazePose GHUM full refines each one.

MediaPipe's own pose solution tracks a single person; this backend keeps its
landmark model (33 points plus metric 3D "world" landmarks) but feeds it one crop
per person found by MoveNet MultiPose, so several people get BlazePose quality
and 3D. Both models run on ``ai_edge_litert`` from files inside installed wheels.

The crop imitates what the BlazePose landmark model was trained on: a square
centred on the hip midpoint, rotated so that hips -> shoulders points up, with the
body filling about 1/1.25 of it. When hips or shoulders are not seen, an
axis-aligned square around the MoveNet box is used instead. The model's two
auxiliary landmarks (hip centre and body-scale point) give a better crop; with
``refine=True`` a second pass runs on that crop, as MediaPipe does when tracking.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.backends.base import BackendError
from pose_ros.core.backends.movenet import MoveNetBackend
from pose_ros.core.models import resolve_blazepose_landmark
from pose_ros.core.skeleton import (
    BLAZEPOSE33_TO_COCO17, NUM_BLAZEPOSE33, Coco, Frame3D, Person, mask_missing)

CROP = 256                 # landmark model input side
_NUM_LM = 39               # 33 body + 2 auxiliary (ROI) + 4 unused
_AUX_CENTER, _AUX_SCALE = 33, 34
_ROI_SCALE = 1.25          # MediaPipe pose ROI enlargement
_HEATMAP_KERNEL = 7        # MediaPipe RefineLandmarksFromHeatmapCalculator settings
_HEATMAP_MIN_CONF = 0.5


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def crop_matrix(center: np.ndarray, up: np.ndarray, side: float) -> np.ndarray:
    """2x3 affine from crop pixels (CROP x CROP) to image pixels.

    ``up`` is the image direction that becomes crop "up"; the crop keeps the
    image's handedness (no mirroring).
    """
    up = np.asarray(up, dtype=np.float64)
    norm = float(np.hypot(*up))
    down = -up / norm if norm > 1e-6 else np.array([0.0, 1.0])
    right = np.array([down[1], -down[0]])
    s = side / CROP
    a = np.column_stack([right * s, down * s])
    t = np.asarray(center, dtype=np.float64) - a @ np.array([CROP / 2, CROP / 2])
    return np.column_stack([a, t])


def roi_from_keypoints(kp: np.ndarray, box: np.ndarray | None, min_score: float = 0.2
                       ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(centre, up, side) of the BlazePose crop from COCO-17 keypoints, or None if unusable.

    Centre is the hip midpoint and the radius the farthest seen joint from it, as in
    BlazePose's "Vitruvian" alignment (then x1.25 like MediaPipe). The model's own
    alignment landmarks put the radius ~1.2x farther, but on the eval photos a radius
    of 1.0x scored as well or better (noisy: few photos), so the tighter crop stays.
    The torso bound keeps the crop sane when only the trunk is seen.
    """
    seen = kp[:, 2] > min_score
    hips, shoulders = [Coco.LEFT_HIP, Coco.RIGHT_HIP], [Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER]
    if seen[hips].all() and seen[shoulders].any():
        center = kp[hips, :2].mean(axis=0)
        top = kp[[j for j in shoulders if seen[j]], :2].mean(axis=0)
        pts = kp[seen, :2]
        radius = float(np.max(np.hypot(*(pts - center).T)))
        radius = max(radius, 1.5 * float(np.hypot(*(top - center))))
        return center, top - center, 2.0 * radius * _ROI_SCALE
    if box is None:
        return None
    center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    side = max(box[2] - box[0], box[3] - box[1]) * _ROI_SCALE
    return center, np.array([0.0, -1.0]), float(side)


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Sharpen landmarks (crop-normalised xy) with the model's heatmap, as MediaPipe does."""
    hm_h, hm_w, _ = heatmap.shape
    out = xy.copy()
    off = (_HEATMAP_KERNEL - 1) // 2
    for i in range(min(len(xy), heatmap.shape[2])):
        col, row = int(np.floor(xy[i, 0] * hm_w)), int(np.floor(xy[i, 1] * hm_h))
        if not (0 <= col < hm_w and 0 <= row < hm_h):
            continue
        r0, r1 = max(0, row - off), min(hm_h, row + off + 1)
        c0, c1 = max(0, col - off), min(hm_w, col + off + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i])
        total = float(conf.sum())
        if conf.max() >= _HEATMAP_MIN_CONF and total > 0:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = float((cols * conf).sum()) / hm_w / total
            out[i, 1] = float((rows * conf).sum()) / hm_h / total
    return out


class TopDownBackend:
    """MoveNet boxes + BlazePose landmarks per person; 33 landmarks and metric 3D."""

    name = "topdown"

    def __init__(self, movenet_model_path: str = "", landmark_model_path: str = "",
                 max_people: int = 6, min_person_score: float = 0.2, num_threads: int = 2,
                 movenet_input_size: int = 384, min_pose_flag: float = 0.5,
                 min_keypoint_score: float = 0.0, refine: bool = False, movenet_tiles: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise BackendError("ai_edge_litert is missing; run `pip install ai-edge-litert` "
                               "(or `make setup`)") from exc
        self.detector = MoveNetBackend(model_path=movenet_model_path, input_size=movenet_input_size,
                                       min_person_score=min_person_score, num_threads=num_threads,
                                       tiles=movenet_tiles)
        self.landmark_path = resolve_blazepose_landmark(landmark_model_path,
                                                        parameter="landmark_model_path")
        self.model = f"{self.detector.model} + blazepose ({self.landmark_path.name})"
        self.max_people = int(max_people)
        self.min_pose_flag = float(min_pose_flag)
        self.min_keypoint_score = float(min_keypoint_score)
        self.refine = bool(refine)
        try:
            self._lm = Interpreter(model_path=str(self.landmark_path), num_threads=int(num_threads))
            self._lm.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"cannot load {self.landmark_path} with LiteRT: {exc}") from exc
        inp = self._lm.get_input_details()[0]
        if tuple(inp["shape"]) != (1, CROP, CROP, 3) or np.dtype(inp["dtype"]) != np.float32:
            raise BackendError(f"{self.landmark_path}: expected a float32 (1, {CROP}, {CROP}, 3) "
                               f"input, got {inp['dtype']} {tuple(inp['shape'])}")
        self._lm_input = inp["index"]
        self._out = self._identify_outputs(self._lm.get_output_details())

    def _identify_outputs(self, details: list[dict]) -> dict[str, int]:
        """Name the landmark model outputs by shape (tensor names differ between exports)."""
        out: dict[str, int] = {}
        for d in details:
            shape = tuple(int(v) for v in d["shape"])
            size = int(np.prod(shape))
            if len(shape) == 2 and size == _NUM_LM * 5:
                out["landmarks"] = d["index"]
            elif len(shape) == 2 and size == _NUM_LM * 3:
                out["world"] = d["index"]
            elif size == 1:
                out["flag"] = d["index"]
            elif len(shape) == 4 and shape[-1] == _NUM_LM:
                out["heatmap"] = d["index"]
        missing = {"landmarks", "world", "flag"} - out.keys()
        if missing:
            raise BackendError(f"{self.landmark_path} lacks outputs {sorted(missing)}; "
                               "expected BlazePose GHUM pose_landmark_full.tflite")
        return out

    def _landmarks(self, rgb: np.ndarray, m: np.ndarray) -> dict[str, np.ndarray | float]:
        """Run the landmark model on the crop given by ``m`` (crop -> image affine)."""
        crop = cv2.warpAffine(rgb, m, (CROP, CROP), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        self._lm.set_tensor(self._lm_input, (crop.astype(np.float32) * (1.0 / 255.0))[np.newaxis])
        self._lm.invoke()
        raw = self._lm.get_tensor(self._out["landmarks"]).reshape(_NUM_LM, 5)
        flag = float(self._lm.get_tensor(self._out["flag"]).reshape(-1)[0])
        world = self._lm.get_tensor(self._out["world"]).reshape(_NUM_LM, 3).astype(np.float64)
        xy = raw[:, :2].astype(np.float64) / CROP
        if "heatmap" in self._out:
            xy = refine_from_heatmap(xy, self._lm.get_tensor(self._out["heatmap"])[0])
        img_xy = (m[:, :2] @ (xy * CROP).T).T + m[:, 2]
        # World landmarks come in crop axes; rotate back to camera-aligned axes (no scale).
        rot = m[:, :2] / np.hypot(*m[:, 0])
        world[:, :2] = world[:, :2] @ rot.T
        return {"xy": img_xy, "vis": _sigmoid(raw[:, 3]), "pres": _sigmoid(raw[:, 4]),
                "flag": flag, "world": world}

    def _aux_roi(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Crop from the model's own alignment landmarks (MediaPipe's tracking ROI)."""
        center, scale_pt = xy[_AUX_CENTER], xy[_AUX_SCALE]
        radius = float(np.hypot(*(scale_pt - center)))
        return center, scale_pt - center, 2.0 * radius * _ROI_SCALE

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """People in ``rgb``: COCO-17 keypoints, 33 landmarks and body-frame 3D per person."""
        found = self.detector.infer(rgb)[: self.max_people]
        people: list[Person] = []
        for det in found:
            roi = roi_from_keypoints(det.keypoints, det.box)
            if roi is None:
                continue
            res = self._landmarks(rgb, crop_matrix(*roi))
            if self.refine:
                res = self._landmarks(rgb, crop_matrix(*self._aux_roi(res["xy"])))
            if res["flag"] < self.min_pose_flag:
                continue
            n = NUM_BLAZEPOSE33
            lm = np.column_stack([res["xy"][:n], res["vis"][:n]]).astype(np.float32)
            lm = mask_missing(lm, self.min_keypoint_score)
            world = res["world"][:n].astype(np.float32)
            world[np.isnan(lm[:, 0])] = np.nan
            kp = lm[BLAZEPOSE33_TO_COCO17]
            people.append(Person(
                keypoints=kp, score=float(det.score * res["flag"]), box=det.box,
                landmarks=lm, landmarks_3d=world, keypoints_3d=world[BLAZEPOSE33_TO_COCO17].copy(),
                frame_3d=Frame3D.BODY,
                extra={"pose_flag": res["flag"], "presence": res["pres"][:n].astype(np.float32),
                       "movenet_keypoints": det.keypoints}))
        return people

    def close(self) -> None:
        """Drop both interpreters."""
        self.detector.close()
        self._lm = None  # type: ignore[assignment]


__all__ = ["TopDownBackend", "crop_matrix", "refine_from_heatmap", "roi_from_keypoints"]
