"""Multi-person top-down pose: NanoDet person boxes -> MoveNet Thunder per person.

Both models are permissively licensed (Apache-2.0 upstream) and are converted to
ONNX at setup time (``scripts/build_models.py``); they run on OpenVINO where it is
installed, else on ONNX Runtime (:mod:`pose_ros.core.detection.runtime`).

Single image (:meth:`ThunderBackend.infer`, the path every accuracy number comes
from): the detector finds person boxes; each box becomes a square crop with a margin
(:mod:`~pose_ros.core.detection.crops`), Thunder finds 17 joints in it, and
optionally a mirrored crop (``flip``) and a second crop re-centred on the first pose
(``refine``) are averaged in. Skeletons that land on one body are merged by OKS.
``yolo_boxes`` (opt-in: AGPL-3.0 weights, installed by ``make yolo``) adds the person
boxes of YOLO11n-pose that no NanoDet box already covers: two detectors miss fewer
people than one, at the cost of one YOLO run per detection.

Video (:meth:`ThunderBackend.infer_frame`, what the pipeline calls with each frame's
stamp and crop budget): people are followed from their previous pose, the "region
from the previous pose" trick of BlazePose and MoveNet, under a per-frame budget of
crops; whoever gets no crop is predicted (:mod:`~pose_ros.core.detection.follow`).
The detector runs every ``detect_period`` s on a worker thread and its result counts
``detect_latency`` s later (:class:`~pose_ros.core.detection.background.DetectionClock`),
so a replay gives the same answer on any machine. That state lives in the backend:
:meth:`reset` forgets it (call it after a seek); the first frame after it detects inline.
"""
from __future__ import annotations

import math
import time

import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection import crops, nanodet
from pose_ros.core.detection.background import DetectionClock
from pose_ros.core.detection.follow import Found, VideoFollower, merge_same_body, newcomers, person_score
from pose_ros.core.detection.runtime import Model
from pose_ros.core.models import resolve_converted
from pose_ros.core.skeleton import Person, mask_missing

THUNDER_FILE = "movenet-thunder-v4.onnx"
NANODET_FILE = "nanodet-m-416.onnx"
POSE_MODELS = {"thunder": ("movenet-thunder-v4.onnx", 256), "lightning": ("movenet-lightning-v4.onnx", 192)}
# A Lightning crop costs about a third of a Thunder crop (bench/raw_models.py); a fixed
# number, not a measured one, so that a budget buys the same crops on every machine.
LIGHTNING_COST = 0.35
_SAME_BOX_IOU = 0.7         # a YOLO box this close to a NanoDet box adds nothing


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
                 engine: str = "auto", num_threads: int = 1, detector_threads: int = 1, max_people: int = 0,
                 min_box_score: float = 0.2, nms_iou: float = 0.6, crop_margin: float = 0.1, flip: bool = False,
                 refine: bool = False, min_keypoint_score: float = 0.0, detect_period: float = 0.3,
                 detect_latency: float = 0.1, detect_async: bool = True, min_track_score: float = 0.25,
                 crop_budget: float = 0.0, adaptive_budget: bool = True, max_pose_age: float = 0.5,
                 priority_people: int = 2, small_person_height: float = 200.0, yolo_boxes: bool = False,
                 param_prefix: str = "") -> None:
        """``max_people`` 0 means no bound, ``crop_budget`` 0 no ceiling (everyone posed every
        frame unless the node lowers it); ``param_prefix`` only names parameters in errors.
        ``adaptive_budget`` is the node's to apply; it is kept here beside the ceiling."""
        if crop_margin < 0:
            raise BackendError(f"crop_margin must be >= 0, got {crop_margin}")
        if pose_model not in POSE_MODELS:
            raise BackendError(f"pose_model must be one of {sorted(POSE_MODELS)}, got {pose_model!r}")
        if not (detect_period >= 0 and detect_latency >= 0 and crop_budget >= 0 and max_pose_age > 0):
            raise BackendError("detect_period, detect_latency, crop_budget >= 0 and max_pose_age > 0 needed")
        pose_file, self.crop_size = POSE_MODELS[pose_model]
        det_path = resolve_converted(NANODET_FILE, detector_model_path, f"{param_prefix}detector_model_path")
        pose_path = resolve_converted(pose_file, pose_model_path, f"{param_prefix}pose_model_path")
        self.detector = Model(det_path, engine=engine, threads=detector_threads)
        self.pose_model = Model(pose_path, engine=engine, threads=num_threads)
        self.small_model = None   # Lightning for small people, when asked and the main model is Thunder
        if small_person_height > 0 and pose_model == "thunder":
            file, size = POSE_MODELS["lightning"]
            self.small_model = (Model(resolve_converted(file), engine=engine, threads=num_threads), size)
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
        self.crop_budget = math.inf if crop_budget == 0 else float(crop_budget)
        self.adaptive_budget = bool(adaptive_budget)
        self.stats = {"frames": 0, "detections": 0, "crops": 0}
        self._crop_s = 0.0
        self.video = VideoFollower(
            self._pose_for, self._first_in_video,
            DetectionClock(self.detect, detect_period, detect_latency, detect_async),
            min_track_score=min_track_score, max_pose_age=max_pose_age, priority_people=priority_people,
            small_height=small_person_height if self.small_model is not None else 0.0,
            small_cost=LIGHTNING_COST, max_people=self.max_people)
        # A dry run now: a model that cannot run fails at start-up, not at the first frame.
        self.detect(np.zeros((480, 640, 3), np.uint8))
        self.pose(np.zeros((self.crop_size, self.crop_size, 3), np.uint8), np.array([0, 0, 99, 99], np.float32))
        if self.small_model is not None:
            self._pose_for(np.zeros((99, 99, 3), np.uint8), np.array([0, 0, 99, 99], np.float32), True)

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

    def _run(self, model: Model, crop: np.ndarray) -> np.ndarray:
        """(17, 3) y, x (crop-normalised), score for one square uint8 RGB crop."""
        self.stats["crops"] += 1
        t0 = time.perf_counter()
        out = model.run(crop[np.newaxis].astype(np.int32))[0].reshape(-1, 3)[:17].astype(np.float32)
        self._crop_s += time.perf_counter() - t0   # what a crop unit costs here (the node's budget)
        return out

    def pose(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(17, 3) keypoints (x, y pixels, score) of the person in ``box``."""
        square = crops.square_around(box, self.crop_margin)
        crop = crops.cut(rgb, square, self.crop_size)
        yxs = self._run(self.pose_model, crop)
        if self.flip:
            yxs = crops.merge_flip(yxs, crops.unflip(self._run(self.pose_model, np.ascontiguousarray(crop[:, ::-1]))))
        kp = crops.to_image(yxs, square)
        if self.refine:
            again = crops.pose_box(kp, 0.3, 6)
            if again is not None:
                kp2 = self._one_crop(self.pose_model, self.crop_size, rgb, again)
                kp = crops.to_image(crops.merge_flip(
                    np.column_stack([kp[:, 1], kp[:, 0], kp[:, 2]]),
                    np.column_stack([kp2[:, 1], kp2[:, 0], kp2[:, 2]])), np.array([0.5, 0.5, 1.0]))
        return kp

    def _pose_for(self, rgb: np.ndarray, box: np.ndarray, small: bool) -> np.ndarray:
        """A followed person's pose: one Lightning crop for a small person (when enabled), else :meth:`pose`."""
        if not small or self.small_model is None:
            return self.pose(rgb, box)
        model, size = self.small_model
        return self._one_crop(model, size, rgb, box)

    def _one_crop(self, model: Model, size: int, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(17, 3) keypoints in image pixels from one square crop around ``box``."""
        square = crops.square_around(box, self.crop_margin)
        return crops.to_image(self._run(model, crops.cut(rgb, square, size)), square)

    # -- frames ----------------------------------------------------------------------------
    def _people(self, found: list[Found]) -> list[Person]:
        return [Person(keypoints=mask_missing(f.kp.copy(), self.min_keypoint_score), score=f.score, box=f.box,
                       predicted=f.predicted, pose_age=f.age, follow=f.handle)
                for f in found]

    def _first(self, rgb: np.ndarray, small_height: float = 0.0) -> list[Found]:
        """Detect and pose everyone (best boxes first, at most ``max_people``), duplicates merged;
        boxes shorter than ``small_height`` get the cheap crop of video mode."""
        boxes, scores = self.detect(rgb)
        limit = self.max_people if self.max_people > 0 else len(boxes)
        found = []
        for box, s in zip(boxes[:limit], scores[:limit]):
            kp = self._pose_for(rgb, box, float(box[3] - box[1]) < small_height)
            found.append(Found(person_score(s, kp), kp, box, float(s)))
        return merge_same_body(found)

    def _first_in_video(self, rgb: np.ndarray) -> list[Found]:
        """The first frame of a video (or of an empty scene): everyone, small people with the
        crop they will be followed with. With a Thunder crop each, PETS09's first frame (11
        boxes, mostly clutter) took 230 ms, and beside a busy core over two frame intervals
        at 7 Hz: the node dropped the second frame, and a track's start is where ids are won."""
        return self._first(rgb, self.video.small_height)

    @staticmethod
    def _check(rgb: np.ndarray) -> None:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """People in one image (H, W, 3 uint8 RGB), best score first, keypoints in pixels.
        Stateless: every person the detector finds gets a crop."""
        self._check(rgb)
        self.stats["frames"] += 1
        return self._people(self._first(rgb))

    def infer_frame(self, rgb: np.ndarray, stamp: float, budget: float | None = None,
                    attend: np.ndarray | None = None) -> list[Person]:
        """People in a video frame stamped ``stamp`` (s), at most ``budget`` crop units spent
        (None: ``crop_budget``); people not posed are predicted (``Person.predicted``).
        ``attend``: (K, 4) last boxes of the people the robot interacts with, posed first.

        A budget below the ceiling means the node is behind its camera: then a late
        detection is not waited for either (at the ceiling it is, so that replays are exact)."""
        self._check(rgb)
        self.stats["frames"] += 1
        self._crop_s = 0.0
        budget = self.crop_budget if budget is None else budget
        return self._people(self.video.frame(rgb, float(stamp), budget, wait=budget >= self.crop_budget,
                                             attend=attend))

    @property
    def frame_info(self) -> dict[str, float]:
        """The last video frame: people posed and predicted, crop units spent, seconds in crops and
        waiting on the detector."""
        return {**self.video.last, "crop_s": self._crop_s}

    def reset(self) -> None:
        """Forget the people carried between frames; the next frame detects inline."""
        self.video.reset()

    def close(self) -> None:
        """Release the models (and stop the detector thread)."""
        self.video.reset()
        self.video.clock.close()
        self.detector.close()
        self.pose_model.close()
        if self.small_model is not None:
            self.small_model[0].close()
        if self._yolo is not None:
            self._yolo.close()


__all__ = ["LIGHTNING_COST", "NANODET_FILE", "POSE_MODELS", "THUNDER_FILE", "ThunderBackend", "add_boxes"]
