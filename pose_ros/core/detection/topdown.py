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

The landmark model is a single-person model, so its result is checked against
MoveNet's before it replaces it. Every person MoveNet found is reported; one whose
landmark pass is not trusted keeps MoveNet's COCO-17 keypoints and box (no 33
landmarks, no 3D; ``extra["source"] == "movenet"``; with ``keep_movenet=False``
such people are dropped instead). "Same person" below is COCO's criterion, OKS >= 0.5
over the joints both skeletons see. A landmark result is not trusted when

- the landmark model's pose flag is below ``min_pose_flag`` (it sees no person in
  the crop, e.g. someone cut by the image border or mostly hidden);
- it is not the same person as the MoveNet skeleton it was cropped from: the model
  followed a neighbour in the crop or lost the body;
- two people MoveNet tells apart get the same landmark skeleton: with two bodies in
  one crop, as with a dancing couple, the model locks onto the more prominent one
  or joins limbs of both, so neither result can be trusted;
- the person is beyond the first ``max_people``, which get a landmark pass each.

So topdown reports exactly the people MoveNet reports; the landmark model only
refines them. People MoveNet merges (a couple it sees as one) stay merged: the
BlazePose person detector (``pose_detection.tflite``) was tried on such a couple
and also reports one person, with a box over both heads.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection.quiet import native_stderr_filtered
from pose_ros.core.detection.movenet import MoveNetBackend
from pose_ros.core.models import ModelError, load_error, resolve_blazepose_landmark
from pose_ros.core.skeleton import (
    BLAZEPOSE33_TO_COCO17, COCO17_SIGMAS, NUM_BLAZEPOSE33, Coco, Frame3D, Person, mask_missing)

CROP = 256                 # landmark model input side
_NUM_LM = 39               # 33 body + 2 auxiliary (ROI) + 4 unused
_AUX_CENTER, _AUX_SCALE = 33, 34
_ROI_SCALE = 1.25          # MediaPipe pose ROI enlargement
_HEATMAP_KERNEL = 7        # MediaPipe RefineLandmarksFromHeatmapCalculator settings
_HEATMAP_MIN_CONF = 0.5
SAME_PERSON_OKS = 0.5      # COCO's "same person" OKS, used to compare two skeletons
_VET_MIN_SCORE = 0.3       # joints below this score do not take part in that comparison
_VET_MIN_JOINTS = 4        # fewer shared joints than this is no evidence either way
_SEGMENT_PER_BOX = 0.53    # COCO person segment area / box area, the OKS scale


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


def skeleton_oks(a: np.ndarray, b: np.ndarray, box_a: np.ndarray, box_b: np.ndarray | None = None
                 ) -> float:
    """OKS of two COCO-17 skeletons over the joints both see (score > 0.3); NaN if under 4.

    The object area is 0.53 of the box area (of the geometric mean of both boxes when two
    are given), COCO's usual segment-to-box ratio, so OKS >= 0.5 reads as COCO's "same
    person" at its loosest matching threshold.
    """
    seen = ((a[:, 2] > _VET_MIN_SCORE) & (b[:, 2] > _VET_MIN_SCORE)
            & np.isfinite(a[:, :2]).all(axis=1) & np.isfinite(b[:, :2]).all(axis=1))
    if int(seen.sum()) < _VET_MIN_JOINTS:
        return float("nan")
    box_b = box_a if box_b is None else box_b
    area = _SEGMENT_PER_BOX * np.sqrt(max(float((box_a[2] - box_a[0]) * (box_a[3] - box_a[1])), 1.0)
                                      * max(float((box_b[2] - box_b[0]) * (box_b[3] - box_b[1])), 1.0))
    d2 = np.sum((np.asarray(a[seen, :2], np.float64) - np.asarray(b[seen, :2], np.float64)) ** 2, axis=1)
    return float(np.mean(np.exp(-d2 / (2.0 * area * (2.0 * COCO17_SIGMAS[seen]) ** 2))))


def trusted_landmarks(movenet_kp: list[np.ndarray], landmark_kp: list[np.ndarray | None],
                      flags: list[float], boxes: list[np.ndarray], min_pose_flag: float
                      ) -> list[bool]:
    """Per person, whether the landmark result may replace MoveNet's keypoints.

    ``landmark_kp[i]`` (COCO-17 from the landmark model) is None when person ``i`` got
    no landmark pass. A result is refused when

    - its pose flag is below ``min_pose_flag``;
    - it is not the same person as MoveNet's skeleton it was cropped from (OKS < 0.5
      over the joints both see): the model followed someone else or lost the body;
    - it is the same person as the landmark result of another MoveNet person whose
      MoveNet skeleton is not this one's: the model saw one body where MoveNet saw two
      (it locked onto the more prominent one or joined limbs of both), so both results
      are refused.
    """
    seen = [lm is not None and f >= min_pose_flag for lm, f in zip(landmark_kp, flags)]
    ok = list(seen)
    for i, lm in enumerate(landmark_kp):
        if ok[i] and skeleton_oks(lm, movenet_kp[i], boxes[i]) < SAME_PERSON_OKS:  # NaN: no evidence
            ok[i] = False
    n = len(ok)
    for i in range(n):
        for j in range(i + 1, n):
            if not (seen[i] and seen[j]):  # a result under the pose flag says nothing
                continue
            one_landmark_body = skeleton_oks(landmark_kp[i], landmark_kp[j], boxes[i], boxes[j])
            one_movenet_body = skeleton_oks(movenet_kp[i], movenet_kp[j], boxes[i], boxes[j])
            if one_landmark_body >= SAME_PERSON_OKS and not one_movenet_body >= SAME_PERSON_OKS:
                ok[i] = ok[j] = False  # NaN for MoveNet (nothing shared) counts as two people
    return ok


class TopDownBackend:
    """MoveNet boxes + BlazePose landmarks per person; 33 landmarks and metric 3D."""

    name = "topdown"

    def __init__(self, movenet_model_path: str = "", landmark_model_path: str = "",
                 max_people: int = 6, min_person_score: float = 0.2, num_threads: int = 2,
                 movenet_input_size: int = 384, min_pose_flag: float = 0.5,
                 min_keypoint_score: float = 0.0, refine: bool = False, movenet_tiles: int = 1,
                 keep_movenet: bool = True, param_prefix: str = "") -> None:
        """``param_prefix`` (e.g. ``topdown.``) only names the caller's parameters in errors."""
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise BackendError("ai_edge_litert is missing; run `pip install ai-edge-litert` "
                               "(or `make setup`)") from exc
        self.detector = MoveNetBackend(model_path=movenet_model_path, input_size=movenet_input_size,
                                       min_person_score=min_person_score, num_threads=num_threads,
                                       tiles=movenet_tiles,
                                       model_parameter=f"{param_prefix}movenet_model_path")
        parameter = f"{param_prefix}landmark_model_path"
        self.landmark_path = resolve_blazepose_landmark(landmark_model_path, parameter=parameter)
        self.model = f"{self.detector.model} + blazepose ({self.landmark_path.name})"
        self.max_people = int(max_people)
        self.min_pose_flag = float(min_pose_flag)
        self.min_keypoint_score = float(min_keypoint_score)
        self.refine = bool(refine)
        self.keep_movenet = bool(keep_movenet)
        self._parameter = parameter
        try:
            with native_stderr_filtered():  # TFLite's XNNPACK line
                self._lm = Interpreter(model_path=str(self.landmark_path), num_threads=int(num_threads))
                self._lm.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise load_error(self.landmark_path, parameter, exc) from exc
        inp = self._lm.get_input_details()[0]
        if tuple(inp["shape"]) != (1, CROP, CROP, 3) or np.dtype(inp["dtype"]) != np.float32:
            raise ModelError(f"model file {str(self.landmark_path)!r}: expected a float32 (1, {CROP}, {CROP}, 3) "
                             f"input, got {inp['dtype']} {tuple(inp['shape'])}; set {parameter} to a BlazePose "
                             "pose_landmark_full.tflite, or to '' to use the packaged default")
        self._lm_input = inp["index"]
        self._out = self._identify_outputs(self._lm.get_output_details())
        try:  # a dry inference now: a model that cannot run fails at start-up, not at the first person
            self._landmarks(np.zeros((CROP, CROP, 3), np.uint8), crop_matrix(np.array([CROP / 2, CROP / 2]),
                                                                              np.array([0.0, -1.0]), CROP))
        except (ValueError, RuntimeError, IndexError) as exc:
            raise load_error(self.landmark_path, parameter, exc) from exc

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
            raise ModelError(f"model file {str(self.landmark_path)!r} lacks outputs {sorted(missing)}, so it is "
                             f"not BlazePose GHUM pose_landmark_full.tflite: set {self._parameter} to that "
                             "model, or to '' to use the packaged default")
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
        """People in ``rgb``: COCO-17 keypoints, and 33 landmarks and body-frame 3D for each
        person whose landmark pass is trusted (see the module docstring)."""
        found = self.detector.infer(rgb)
        results: list[dict | None] = []
        for det in found[: self.max_people]:
            roi = roi_from_keypoints(det.keypoints, det.box)
            res = None if roi is None else self._landmarks(rgb, crop_matrix(*roi))
            if res is not None and self.refine:
                res = self._landmarks(rgb, crop_matrix(*self._aux_roi(res["xy"])))
            results.append(res)
        results += [None] * (len(found) - len(results))
        n = NUM_BLAZEPOSE33
        lms = [None if r is None else mask_missing(
                   np.column_stack([r["xy"][:n], r["vis"][:n]]), self.min_keypoint_score)
               for r in results]
        flags = [0.0 if r is None else float(r["flag"]) for r in results]
        trusted = trusted_landmarks([d.keypoints for d in found],
                                    [None if lm is None else lm[BLAZEPOSE33_TO_COCO17] for lm in lms],
                                    flags, [d.box for d in found], self.min_pose_flag)
        people: list[Person] = []
        for det, res, lm, use in zip(found, results, lms, trusted):
            if not use:
                if self.keep_movenet:
                    extra = {"source": "movenet"}
                    if res is not None:
                        extra["pose_flag"] = float(res["flag"])
                    people.append(Person(keypoints=det.keypoints, score=float(det.score),
                                         box=det.box, extra=extra))
                continue
            world = res["world"][:n].astype(np.float32)
            world[np.isnan(lm[:, 0])] = np.nan
            people.append(Person(
                keypoints=lm[BLAZEPOSE33_TO_COCO17], score=float(det.score * res["flag"]), box=det.box,
                landmarks=lm, landmarks_3d=world, keypoints_3d=world[BLAZEPOSE33_TO_COCO17].copy(),
                frame_3d=Frame3D.BODY,
                extra={"source": "landmarks", "pose_flag": float(res["flag"]),
                       "presence": res["pres"][:n].astype(np.float32),
                       "movenet_keypoints": det.keypoints}))
        return people

    def close(self) -> None:
        """Drop both interpreters."""
        self.detector.close()
        self._lm = None  # type: ignore[assignment]


__all__ = ["SAME_PERSON_OKS", "TopDownBackend", "crop_matrix", "refine_from_heatmap", "roi_from_keypoints",
           "skeleton_oks", "trusted_landmarks"]
