"""One person followed between pose crops: where they are now, and how that estimate is kept up.

A followed person's pose is measured only when the crop budget reaches them
(:mod:`~pose_ros.core.detection.crop_plan`); in between it is moved by a velocity
averaged over the measurements. The detector, which runs every few tenths of a second
on the other core, sees everyone at once: a followed person it finds is *located*
(:meth:`Followed.located`), their position and velocity corrected by the box without a
crop. Without that, a velocity that was a little off carried a prediction off its
person, the box it left behind counted as a newcomer, and the person got a second
crop, a second track and a new id (PETS09 at 30 Hz under a tight budget, docs/benchmarks.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pose_ros.core.tracking.assignment import assign

# A person is "approaching" when their box height grows: rate in 1/s; this boost makes a
# person growing by 50 % per second count as twice their height.
_APPROACH_GAIN = 2.0
_MAX_SPEED_HEIGHTS = 1.5     # velocity clamp: body heights per second (a brisk walk is under one)
# Velocity is averaged over about this many seconds: between two crops a frame apart a
# small person's box moves by keypoint noise, which divided by 33 ms is a sprint.
VELOCITY_TIME = 0.5
# The detector's box is that followed person's when their centres lie within this share
# of the box height (and the heights within LOCATE_RATIO): a third of a height missed a
# prediction that had drifted a body width, a whole height confused neighbours.
LOCATE_GATE = 0.5
LOCATE_RATIO = 1.6


def _centre(box: np.ndarray) -> np.ndarray:
    """(2,) centre of an xyxy box."""
    return (box[:2] + box[2:]) / 2.0


def locate(then: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (person, box) of the followed people's boxes at the detection's frame ``then``
    (N, 4) and the detector's ``boxes`` (K, 4): the optimal assignment by centre distance,
    within LOCATE_GATE of the taller box's height, heights within LOCATE_RATIO."""
    c1 = (then[:, None, :2] + then[:, None, 2:]) / 2.0
    c2 = (boxes[None, :, :2] + boxes[None, :, 2:]) / 2.0
    h1 = np.maximum(then[:, None, 3] - then[:, None, 1], 1.0)
    h2 = np.maximum(boxes[None, :, 3] - boxes[None, :, 1], 1.0)
    d = np.linalg.norm(c1 - c2, axis=2) / (LOCATE_GATE * np.maximum(h1, h2))
    ratio = np.maximum(h1, h2) / np.minimum(h1, h2)
    sim = np.where(ratio <= LOCATE_RATIO, 1.0 - d, -1.0)
    return assign(sim, 1e-6)


@dataclass(eq=False)
class Followed:
    """One person followed between crops: the last measured pose, moved by the detector's fixes."""

    kp: np.ndarray                  # (17, 3) x, y pixels, score
    box: np.ndarray                 # (4,) reported box, xyxy pixels
    box_score: float                # detector score the person was found with
    stamp: float                    # when kp was measured (image stamp, s)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))   # box centre, px/s
    growth: float = 0.0             # relative box-height change per second (approaching > 0)
    handle: int = -1                # the same number while this person is followed (Person.follow)
    carried: bool = False           # the last report was a prediction
    fixes: int = 0                  # measurements since the first (the velocity average's count)

    def age(self, stamp: float) -> float:
        return max(0.0, stamp - self.stamp)

    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    def importance(self) -> float:
        """Nearer (taller) people matter more, approaching ones more still."""
        return self.height() * (1.0 + _APPROACH_GAIN * min(max(self.growth, 0.0), 1.0))

    def shift(self, stamp: float) -> np.ndarray:
        """(2,) pixels the person moved from the last measurement to ``stamp`` (constant velocity)."""
        return self.velocity * self.age(stamp)

    def box_at(self, stamp: float) -> np.ndarray:
        """The box moved to ``stamp``."""
        d = self.shift(stamp)
        return self.box + np.concatenate([d, d]).astype(np.float32)

    def predicted(self, stamp: float) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints and box moved to ``stamp``."""
        kp = self.kp.copy()
        kp[:, :2] += self.shift(stamp).astype(np.float32)
        return kp, self.box_at(stamp)

    def located(self, box: np.ndarray, when: float) -> "Followed":
        """This person's box found by the detector at ``when`` (pose not measured since): the
        pose is moved there and the velocity corrected by the miss, damped (box centres are noisy)."""
        c_det = _centre(box)
        miss = c_det - _centre(self.box_at(when))
        gap = max(when - self.stamp, 0.0)
        dv = miss / (gap + VELOCITY_TIME)
        limit = _MAX_SPEED_HEIGHTS * max(self.height(), 1.0)
        velocity = np.clip(self.velocity + dv, -limit, limit)
        shift = (c_det - _centre(self.box) - velocity * gap).astype(np.float32)
        kp = self.kp.copy()
        kp[:, :2] += shift
        return Followed(kp, self.box + np.concatenate([shift, shift]), self.box_score, self.stamp,
                        np.asarray(velocity, np.float64), self.growth, self.handle, self.carried, self.fixes)

    def measured(self, kp: np.ndarray, box: np.ndarray, stamp: float) -> "Followed":
        """This person measured again at ``stamp``: velocity and growth updated."""
        dt = stamp - self.stamp
        velocity, growth = self.velocity, self.growth
        if dt > 1e-6:
            limit = _MAX_SPEED_HEIGHTS * max(float(box[3] - box[1]), 1.0)
            v = np.clip((_centre(box) - _centre(self.box)) / dt, -limit, limit)
            # while few measurements are in, the newest weighs 1/2, 1/3, ... (an average started
            # at zero left a newcomer's prediction behind them for a second), then exponential
            a = max(dt / (dt + VELOCITY_TIME), 1.0 / (self.fixes + 2))
            velocity = np.clip(a * v + (1 - a) * self.velocity, -limit, limit)
            g = (float(box[3] - box[1]) / max(self.height(), 1.0) - 1.0) / dt
            growth = a * g + (1 - a) * self.growth
        return Followed(kp, box, self.box_score, stamp, np.asarray(velocity, np.float64), float(growth), self.handle,
                        fixes=self.fixes + 1)


__all__ = ["LOCATE_GATE", "VELOCITY_TIME", "Followed", "locate"]
