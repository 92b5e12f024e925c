"""Detector boxes whose pose was too weak to follow, and how long they are left alone.

A box the detector keeps proposing where the pose crop finds nobody clear (a lamp post, a
poster, someone mostly hidden) would otherwise cost a crop at every detection. Under a crop
budget that is the budget of the people actually followed: on PETS09 at 30 Hz with budget
0.5, 270 of 855 crops in 600 frames went to such boxes, two static spots most of them. So a
box that was weak is skipped for the next ``WEAK_SKIPS`` detections, and each time it is weak
again the wait doubles, up to ``MAX_SKIPS``. A box that turns out clear is forgotten at once,
and so is one the detector stops proposing (``FORGET_MISSES`` detections without it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_ros.core.geometry import iou_matrix

SAME_IOU = 0.5       # a detector box is the remembered one from this IoU
WEAK_SKIPS = 2       # detections a box is skipped after its first weak pose
MAX_SKIPS = 16       # the longest wait, in detections (about 5 s at the default period)
FORGET_MISSES = 3    # detections in a row without the box: it is forgotten


@dataclass
class _Box:
    box: np.ndarray     # (4,) xyxy
    skips: int          # detections still to skip
    strikes: int = 1    # weak poses so far
    misses: int = 0     # detections in a row that did not propose it


class WeakBoxes:
    """Remembers where poses were too weak to follow; decides which detector boxes to pose."""

    def __init__(self) -> None:
        self._boxes: list[_Box] = []

    def __len__(self) -> int:
        return len(self._boxes)

    def _match(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``boxes``: whether it is a remembered box, and which (best IoU)."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if not self._boxes or not len(boxes):
            return np.zeros(len(boxes), bool), np.zeros(len(boxes), int)
        iou = iou_matrix(boxes, np.stack([b.box for b in self._boxes]).astype(np.float32))
        return iou.max(axis=1) >= SAME_IOU, iou.argmax(axis=1)

    def allowed(self, boxes: np.ndarray) -> np.ndarray:
        """Mask of a detection's ``boxes`` worth a pose crop; counts the detection down for the
        remembered boxes it proposes again, and forgets those it stopped proposing."""
        hit, which = self._match(boxes)
        if not self._boxes:
            return np.ones(len(hit), bool)
        allow = ~hit | (np.array([b.skips for b in self._boxes])[which] <= 0)
        seen = set(which[hit].tolist())
        for j, b in enumerate(self._boxes):
            if j in seen:
                b.skips, b.misses = b.skips - 1, 0
            else:
                b.misses += 1
        self._boxes = [b for b in self._boxes if b.misses < FORGET_MISSES]
        return allow

    def weak(self, box: np.ndarray) -> None:
        """The pose in ``box`` was too weak: skip it for a while, longer each time."""
        hit, which = self._match(box)
        if hit[0]:
            b = self._boxes[which[0]]
            b.box, b.strikes = np.asarray(box, np.float32), b.strikes + 1
            b.skips = min(WEAK_SKIPS << (b.strikes - 1), MAX_SKIPS)
        else:
            self._boxes.append(_Box(np.asarray(box, np.float32), WEAK_SKIPS))

    def clear_at(self, box: np.ndarray) -> None:
        """A clear pose in ``box``: whatever was weak there is forgotten."""
        hit, which = self._match(box)
        if hit[0]:
            del self._boxes[which[0]]


__all__ = ["MAX_SKIPS", "WEAK_SKIPS", "WeakBoxes"]
