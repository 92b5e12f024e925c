"""Multi-person top-down pose: NanoDet person boxes -> MoveNet Thunder per person.

Both models are permissively licensed (Apache-2.0 upstream) and are converted to
ONNX at setup time (``scripts/build_models.py``); they run on OpenVINO where it is
installed, else on ONNX Runtime (:mod:`pose_ros.core.detection.runtime`).

Single image (``detect_every=1``, the default, and the path every accuracy number
comes from): the detector finds person boxes; each box becomes a square crop with a
margin (:mod:`~pose_ros.core.detection.crops`), Thunder finds 17 joints in it, and
optionally a mirrored crop (``flip``) and a second crop re-centred on the first
pose (``refine``) are averaged in. Skeletons that land on one body are merged by OKS.
``yolo_boxes`` (opt-in: AGPL-3.0 weights, installed by ``make yolo``) adds the person
boxes of YOLO11n-pose that no NanoDet box already covers: two detectors miss fewer
people than one (coco-val-mini AP 0.49 -> 0.51), at the cost of one YOLO run per
detection.

Video (``detect_every=k > 1``): the detector, the costliest stage, runs on every
k-th frame only, and whenever a person was lost. In between, each person is cropped
around the pose found in the previous frame, the "region from the previous pose"
trick of BlazePose and MoveNet; a person whose pose turns weak (mean joint score
below ``min_track_score``) or slides onto another followed body is dropped and
triggers a detection on the next frame; people whose pose is that weak when
detected are reported but not followed. With ``detect_async`` the periodic
detections run on a worker thread instead
(:mod:`~pose_ros.core.detection.background`) and add the people they find that
nobody followed yet (see :func:`newcomers`); only a frame with nobody to follow
waits for the detector. That state lives in the backend: :meth:`reset` forgets it
(call it between unrelated images or after a seek).
"""
from __future__ import annotations

import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection import crops, nanodet
from pose_ros.core.detection.runtime import Model
from pose_ros.core.models import resolve_converted
from pose_ros.core.tracking.similarity import iou_matrix, oks
from pose_ros.core.skeleton import Person, mask_missing

THUNDER_FILE = "movenet-thunder-v4.onnx"
NANODET_FILE = "nanodet-m-416.onnx"
POSE_MODELS = {"thunder": ("movenet-thunder-v4.onnx", 256), "lightning": ("movenet-lightning-v4.onnx", 192)}
_SEGMENT_PER_BOX = 0.53     # COCO person segment area / box area: the OKS scale of a box
_SAME_BODY_OKS = 0.6        # two skeletons this alike are one person seen twice
_SAME_BOX_IOU = 0.7         # a YOLO box this close to a NanoDet box adds nothing
# A background detection's box is a newcomer unless it overlaps a followed person's box
# this much. People standing close together overlap by 0.3-0.5, so a lower bar refused
# the one nobody followed; a box that does hold a followed person gives a pose that
# repeats it, and merge_same_body drops that copy (PETS09, bench/tracking.py over ten
# runs with pixel noise: mean IDF1 0.730 -> 0.761 with the merge rule in _follow;
# 0.4-0.6 all helped, 0.7 let in more duplicates and did worse).
_NEWCOMER_IOU = 0.5


def person_score(box_score: float, kp: np.ndarray) -> float:
    """Ranking score: detector confidence times the mean of the 17 joint scores.

    The box score alone ranks a clear box with a confused pose too high, the joint
    scores alone trust a pose found in a box with nobody in it.
    """
    return float(box_score) * float(np.mean(kp[:, 2]))


def merge_same_body(people: list[tuple], min_joint: float = 0.3) -> list[tuple]:
    """Drop a (score, keypoints, box, ...) whose pose repeats a better one (OKS >= 0.6), best first."""
    people = sorted(people, key=lambda p: -p[0])
    kept: list[tuple] = []
    for p in people:
        box = p[2]
        area = _SEGMENT_PER_BOX * max(float((box[2] - box[0]) * (box[3] - box[1])), 1.0)
        if all(not (oks(p[1], k[1], area, min_joint) >= _SAME_BODY_OKS) for k in kept):
            kept.append(p)
    return kept


def newcomers(boxes: np.ndarray, held: np.ndarray, same_iou: float = _NEWCOMER_IOU) -> np.ndarray:
    """Mask of the detector ``boxes`` (K, 4) that overlap none of the ``held`` boxes by ``same_iou``."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    held = np.asarray(held, np.float32).reshape(-1, 4)
    if not len(held):
        return np.ones(len(boxes), bool)
    return iou_matrix(boxes, held).max(axis=1) < same_iou


def add_boxes(boxes: np.ndarray, scores: np.ndarray, extra: np.ndarray, extra_scores: np.ndarray,
              same_iou: float = _SAME_BOX_IOU) -> tuple[np.ndarray, np.ndarray]:
    """``boxes`` plus the ``extra`` boxes (a second detector's) that overlap none of them by
    ``same_iou`` or more; all sorted by score, best first."""
    extra = np.asarray(extra, np.float32).reshape(-1, 4)
    extra_scores = np.asarray(extra_scores, np.float32).reshape(-1)
    new = newcomers(extra, boxes, same_iou)
    extra, extra_scores = extra[new], extra_scores[new]
    all_boxes = np.concatenate([np.asarray(boxes, np.float32).reshape(-1, 4), extra])
    all_scores = np.concatenate([np.asarray(scores, np.float32).reshape(-1), extra_scores])
    order = np.argsort(-all_scores, kind="stable")
    return all_boxes[order], all_scores[order]


class ThunderBackend:
    """NanoDet + MoveNet Thunder, top-down, any number of people; see the module docstring."""

    name = "thunder"

    def __init__(self, detector_model_path: str = "", pose_model_path: str = "", pose_model: str = "thunder",
                 engine: str = "auto",
                 num_threads: int = 2, max_people: int = 0, min_box_score: float = 0.2,
                 nms_iou: float = 0.6, crop_margin: float = 0.1, flip: bool = False,
                 refine: bool = False, min_keypoint_score: float = 0.0, detect_every: int = 10,
                 min_track_score: float = 0.25, detect_async: bool = True, yolo_boxes: bool = False,
                 param_prefix: str = "") -> None:
        """Defaults are the node's (config/pose.yaml), so benches measure what ships; ``max_people``
        0 means no bound; ``param_prefix`` only names parameters in errors."""
        if detect_every < 1:
            raise BackendError(f"detect_every must be >= 1, got {detect_every}")
        if crop_margin < 0:
            raise BackendError(f"crop_margin must be >= 0, got {crop_margin}")
        if pose_model not in POSE_MODELS:
            raise BackendError(f"pose_model must be one of {sorted(POSE_MODELS)}, got {pose_model!r}")
        pose_file, self.crop_size = POSE_MODELS[pose_model]
        det_path = resolve_converted(NANODET_FILE, detector_model_path, f"{param_prefix}detector_model_path")
        pose_path = resolve_converted(pose_file, pose_model_path, f"{param_prefix}pose_model_path")
        self.detector = Model(det_path, engine=engine, threads=num_threads)
        self.pose_model = Model(pose_path, engine=engine, threads=num_threads)
        self.model = (f"nanodet-m-416 + movenet-{pose_model}-v4 ({self.detector.engine}/"
                      f"{self.pose_model.engine})")
        self._yolo = None
        if yolo_boxes:
            from pose_ros.core.detection.yolo import YoloPoseBackend
            self._yolo = YoloPoseBackend(num_threads=num_threads)
            self.model += f" + yolo11n-pose boxes (weights licence {self._yolo.licence})"
        self.max_people = int(max_people)
        self.min_box_score = float(min_box_score)
        self.nms_iou = float(nms_iou)
        self.crop_margin = float(crop_margin)
        self.flip = bool(flip)
        self.refine = bool(refine)
        self.min_keypoint_score = float(min_keypoint_score)
        self.detect_every = int(detect_every)
        self.min_track_score = float(min_track_score)
        self.stats = {"frames": 0, "detections": 0, "crops": 0}
        self._background = None
        if detect_async and detect_every > 1:
            from pose_ros.core.detection.background import BackgroundDetector
            self._background = BackgroundDetector(self.detect)
        self.reset()
        # A dry run now: a model that cannot run fails at start-up, not at the first frame.
        self.detect(np.zeros((480, 640, 3), np.uint8))
        self.pose(np.zeros((self.crop_size, self.crop_size, 3), np.uint8), np.array([0, 0, 99, 99], np.float32))

    # -- stages ----------------------------------------------------------------------------
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (K, 4) xyxy pixels and scores (K,), best first."""
        self.stats["detections"] += 1
        x, sx, sy = nanodet.preprocess(rgb)
        boxes, scores = nanodet.decode_people(self.detector.run(x), rgb.shape[1], rgb.shape[0], sx, sy,
                                              self.min_box_score, self.nms_iou)
        if self._yolo is None:
            return boxes, scores
        return add_boxes(boxes, scores, *self._yolo.boxes(rgb))

    def _thunder(self, crop: np.ndarray) -> np.ndarray:
        """(17, 3) y, x (crop-normalised), score for one square uint8 RGB crop."""
        self.stats["crops"] += 1
        x = crop[np.newaxis].astype(np.int32)
        return self.pose_model.run(x)[0].reshape(-1, 3)[:17].astype(np.float32)

    def pose(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(17, 3) keypoints (x, y pixels, score) of the person in ``box``."""
        square = crops.square_around(box, self.crop_margin)
        crop = crops.cut(rgb, square, self.crop_size)
        yxs = self._thunder(crop)
        if self.flip:
            yxs = crops.merge_flip(yxs, crops.unflip(self._thunder(np.ascontiguousarray(crop[:, ::-1]))))
        kp = crops.to_image(yxs, square)
        if self.refine:
            again = crops.pose_box(kp, 0.3, 6)
            if again is not None:
                square2 = crops.square_around(again, self.crop_margin)
                kp2 = crops.to_image(self._thunder(crops.cut(rgb, square2, self.crop_size)), square2)
                kp = crops.to_image(crops.merge_flip(
                    np.column_stack([kp[:, 1], kp[:, 0], kp[:, 2]]),
                    np.column_stack([kp2[:, 1], kp2[:, 0], kp2[:, 2]])), np.array([0.5, 0.5, 1.0]))
        return kp

    # -- frames ----------------------------------------------------------------------------
    # A found person is (score, keypoints (17, 3), box, detector score): the detector's
    # score is kept so that a person followed without the detector is scored alike.
    def _people(self, found: list[tuple]) -> list[Person]:
        return [Person(keypoints=mask_missing(f[1].copy(), self.min_keypoint_score), score=f[0], box=f[2])
                for f in found]

    def _from_boxes(self, rgb: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> list[tuple]:
        limit = self.max_people if self.max_people > 0 else len(boxes)
        found = []
        for box, s in zip(boxes[:limit], scores[:limit]):
            kp = self.pose(rgb, box)
            found.append((person_score(s, kp), kp, box, float(s)))
        return merge_same_body(found)

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """People in ``rgb`` (H, W, 3 uint8), best score first, keypoints in pixels."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        self.stats["frames"] += 1
        due = self._since_detection + 1 >= self.detect_every
        if self._background is not None and self._tracks:
            found = self._follow_async(rgb, due)
        elif due or not self._tracks or self._lost:
            if self._background is not None:
                self._background.wait()   # one detector, one thread at a time; its result is stale
            found = self._from_boxes(rgb, *self.detect(rgb))
            self._since_detection = 0
        else:
            found = self._follow(rgb)
            self._since_detection += 1
        if self.detect_every > 1:  # follow only clear poses: a weak one would be "lost" at once
            self._tracks = [f for f in found if float(np.mean(f[1][:, 2])) >= self.min_track_score]
        return self._people(found)

    def _follow(self, rgb: np.ndarray) -> list[tuple]:
        """Re-crop every tracked person around last frame's pose; a weak pose is dropped and
        makes the next frame run the detector (the person may have left, or be elsewhere),
        and so does a pose that lands on someone else's body (merged away by OKS)."""
        found = []
        self._lost = False
        for _, kp, box, box_score in self._tracks:
            roi = crops.pose_box(kp, 0.3, 6)
            roi = box if roi is None else roi
            new = self.pose(rgb, roi)
            if float(np.mean(new[:, 2])) < self.min_track_score:
                self._lost = True
                continue
            new_box = crops.person_box(new, 0.3, 6)   # reported: as annotators box people
            found.append((person_score(box_score, new), new, roi if new_box is None else new_box, box_score))
        kept = merge_same_body(found)
        if len(kept) < len(found):   # two crops slid onto one body: the other person is unfollowed now
            self._lost = True
        return kept

    def _follow_async(self, rgb: np.ndarray, due: bool) -> list[tuple]:
        """Follow the tracked people; add the newcomers of the last background detection
        (boxes that overlap no followed person), and start the next one when due."""
        found = self._follow(rgb)
        done = self._background.poll()
        if done is not None:
            boxes, scores = done[1]
            new = newcomers(boxes, np.array([f[2] for f in found], np.float32))
            if new.any():
                found = merge_same_body(found + self._from_boxes(rgb, boxes[new], scores[new]))
            if self.max_people > 0:
                found = found[: self.max_people]
        self._since_detection += 1
        if (due or self._lost) and self._background.submit(self.stats["frames"], rgb):
            self._since_detection = 0
        return found

    def reset(self) -> None:
        """Forget the people carried between frames (video mode); the next frame runs the detector."""
        if getattr(self, "_background", None) is not None:
            self._background.wait()
        self._tracks: list[tuple] = []
        self._since_detection = 0
        self._lost = False

    def close(self) -> None:
        """Release both models (and stop the detector thread)."""
        if self._background is not None:
            self._background.close()
            self._background = None
        self.detector.close()
        self.pose_model.close()
        if self._yolo is not None:
            self._yolo.close()
        self.reset()


__all__ = ["NANODET_FILE", "POSE_MODELS", "THUNDER_FILE", "ThunderBackend", "add_boxes", "merge_same_body",
           "newcomers", "person_score"]
