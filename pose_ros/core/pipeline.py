"""The per-frame pipeline: backend -> tracker -> smoother -> 3D from depth.

One object, used unchanged by the ``pose_estimator`` node, the in-process runner,
the demo, the bag tools and the benchmarks, so that what is measured is what ships.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pose_ros.core.detection import PoseBackend, VideoBackend
from pose_ros.core.skeleton import Frame3D, Person
from pose_ros.core.tracking.appearance import describe as describe_colour


@dataclass
class CameraModel:
    """Pinhole intrinsics of the colour image (from CameraInfo.k)."""

    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def guess(cls, width: int, height: int) -> "CameraModel":
        """Stand-in when no CameraInfo arrived: ~53 deg horizontal field of view."""
        return cls(fx=float(width), fy=float(width), cx=width / 2.0, cy=height / 2.0)

    @classmethod
    def from_k(cls, k) -> "CameraModel":
        """From the row-major 3x3 CameraInfo.k."""
        return cls(fx=float(k[0]), fy=float(k[4]), cx=float(k[2]), cy=float(k[5]))

    def k_matrix(self) -> list[float]:
        """Row-major 3x3 CameraInfo.k."""
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]

    def p_matrix(self) -> list[float]:
        """Row-major 3x4 CameraInfo.p of this (monocular, rectified) camera."""
        return [self.fx, 0.0, self.cx, 0.0, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0]


ATTEND_HOLD = 1.0   # s an attended track may be missing and still be looked for where it was


@dataclass
class FrameResult:
    people: list[Person]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    units: float = 0.0        # crop units a video backend spent on this frame


class PosePipeline:
    """Runs one backend and the optional temporal stages on frames in stamp order."""

    def __init__(self, backend: PoseBackend, tracking: bool = True, smoothing: bool = True,
                 velocities: bool = False, tracker_params: dict[str, Any] | None = None,
                 smoother_params: dict[str, Any] | None = None, depth_window: int = 5,
                 hand_signs: dict[str, Any] | None = None) -> None:
        self.backend = backend
        self._last_stamp = -math.inf
        self.tracker = None
        self.smoother = None
        if tracking:
            from pose_ros.core.tracking.tracker import Tracker
            self.tracker = Tracker(**(tracker_params or {}))
        if tracking and smoothing:  # smoothing needs ids to keep one filter per person
            from pose_ros.core.tracking.smoothing import SkeletonSmoother
            self.smoother = SkeletonSmoother(**(smoother_params or {}))
        self.velocities = velocities
        self.depth_window = depth_window
        self.attention: frozenset[str] = frozenset()   # track ids the robot interacts with (set_attention)
        self._last_boxes: dict[str, tuple[float, np.ndarray]] = {}   # attended track id -> (stamp, last box)
        self.hands = None
        if hand_signs is not None:  # the hand landmark model on wrist crops, per tracked person
            from pose_ros.core.hands.signs import HandSignDetector
            self.hands = HandSignDetector(**hand_signs)

    def process(self, rgb: np.ndarray, stamp: float, depth_m: np.ndarray | None = None,
                camera: CameraModel | None = None, budget: float | None = None) -> FrameResult:
        """Find, track and smooth people in one RGB frame taken at ``stamp`` seconds; a video
        backend spends at most ``budget`` crop units (None: its own ceiling)."""
        timings: dict[str, float] = {}
        if stamp < self._last_stamp:  # time went back (a bag looped): the video-mode backend starts over too
            reset = getattr(self.backend, "reset", None)
            if callable(reset):
                reset()
        self._last_stamp = stamp
        t0 = time.perf_counter()
        units = 0.0
        if isinstance(self.backend, VideoBackend):
            people = self.backend.infer_frame(rgb, stamp, budget, attend=self._attended_boxes())
            units = float(self.backend.frame_info.get("units", 0.0))
        else:
            people = self.backend.infer(rgb)
        t1 = time.perf_counter()
        timings["infer"] = t1 - t0
        for p in people:
            p.ensure_box()
        if self.tracker is not None:
            if self.tracker.appearance_weight > 0:   # clothing colour of each measured person, to re-identify
                for p in people:
                    if not p.predicted:
                        p.appearance = describe_colour(rgb, p.keypoints)
            people = self.tracker.update(people, stamp)
            if self.smoother is not None:
                people = self.smoother.apply(people, stamp, velocities=self.velocities)
        t2 = time.perf_counter()
        timings["track"] = t2 - t1
        if self.attention or self._last_boxes:
            self._remember_attended(people, stamp)
        if self.hands is not None and people:
            t_h = time.perf_counter()
            for i, signs in self.hands.detect(rgb, people).items():
                people[i].extra["hand_signs"] = signs  # {'left': (sign, conf), 'right': ...}
            timings["hands"] = time.perf_counter() - t_h
        if depth_m is not None and camera is not None:
            t_d = time.perf_counter()
            self._add_depth(people, rgb.shape[:2], depth_m, camera)
            timings["depth"] = time.perf_counter() - t_d
        return FrameResult(people, timings, units)

    def _add_depth(self, people: list[Person], image_hw: tuple[int, int], depth_m: np.ndarray,
                   camera: CameraModel) -> None:
        from pose_ros.core.imaging.raw import keypoints_to_3d
        for p in people:
            p.keypoints_3d = keypoints_to_3d(p.keypoints, depth_m, camera.fx, camera.fy, camera.cx, camera.cy,
                                             window=self.depth_window, image_size=(image_hw[1], image_hw[0]))
            p.frame_3d = Frame3D.CAMERA
            p.landmarks_3d = None  # BlazePose body-frame landmarks would mix frames

    def set_attention(self, ids) -> None:
        """The people the robot interacts with, by track id: a video backend poses them first,
        every frame its budget allows (the rest share what is left). Empty: nobody."""
        self.attention = frozenset(str(i) for i in ids)   # one swap: the worker thread reads it

    def _remember_attended(self, people: list[Person], stamp: float) -> None:
        """Attended tracks' boxes of this frame; a track missing for up to ATTEND_HOLD s keeps its last."""
        attention = self.attention
        boxes = {k: v for k, v in self._last_boxes.items() if k in attention and stamp - v[0] <= ATTEND_HOLD}
        boxes.update((p.track_id, (stamp, p.box)) for p in people if p.track_id in attention and p.box is not None)
        self._last_boxes = boxes

    def _attended_boxes(self) -> np.ndarray | None:
        boxes = [b for k, (_, b) in self._last_boxes.items() if k in self.attention]
        return np.array(boxes, np.float32).reshape(-1, 4) if boxes else None

    def warmup(self, width: int = 640, height: int = 480) -> None:
        """Run the backend once on a blank frame: the first inference allocates and is slow,
        and a slow first frame would make the node drop the second."""
        self.backend.infer(np.zeros((height, width, 3), dtype=np.uint8))

    def reset(self) -> None:
        """Forget all tracks (e.g. when a bag loops), the backend's carried people too."""
        self._last_stamp = -math.inf
        self._last_boxes = {}
        reset = getattr(self.backend, "reset", None)
        if callable(reset):
            reset()
        if self.tracker is not None:
            self.tracker.reset()
        if self.smoother is not None:
            self.smoother.reset()

    def close(self) -> None:
        self.backend.close()
