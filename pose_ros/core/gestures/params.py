"""Gesture names, the event record and the rule thresholds of :mod:`pose_ros.core.gestures.detector`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["GESTURE_NAMES", "POSTURE_NAMES", "GestureEvent", "GestureParams"]

POSTURE_NAMES: tuple[str, ...] = ("standing", "sitting", "crouching", "lying")
GESTURE_NAMES: tuple[str, ...] = (
    "hand_up_left", "hand_up_right", "hands_up_both", "wave_left", "wave_right",
    "point_left", "point_right", "arms_crossed", "t_pose",
) + POSTURE_NAMES + ("fall",)
POINTING = ("point_left", "point_right")
ARM_GESTURES = ("hand_up_left", "hand_up_right", "hands_up_both", "wave_left", "wave_right",
                 "point_left", "point_right", "arms_crossed", "t_pose")
NAN = float("nan")


@dataclass
class GestureEvent:
    """Start or end of one gesture of one track (maps onto pose_ros/Gesture)."""

    START: ClassVar[str] = "start"
    END: ClassVar[str] = "end"

    track_id: str
    gesture: str
    event: str                       # 'start' | 'end'
    confidence: float
    direction: float = NAN          # image-plane angle, rad (0 = +x, pi/2 = +y down)
    ray_origin: np.ndarray | None = None      # (3,) in the skeleton's 3D frame
    ray_direction: np.ndarray | None = None   # (3,) unit vector
    window_start: float = 0.0        # seconds
    window_end: float = 0.0


@dataclass
class GestureParams:
    """Thresholds of the rules; distances in torso lengths, angles in radians, times in s."""

    window: float = 2.0
    on_threshold: float = 0.6
    off_threshold: float = 0.4
    min_duration: float = 0.2
    release_duration: float = 0.3
    min_keypoint_score: float = 0.2
    hand_up_margin: float = 0.1
    wave_min_freq: float = 0.8
    wave_max_freq: float = 4.0
    wave_min_amplitude: float = 0.12
    wave_min_crossings: int = 3
    point_min_elbow_angle: float = math.radians(150.0)
    point_min_extension: float = 0.7
    point_max_elevation: float = math.radians(40.0)
    tpose_max_elevation: float = math.radians(20.0)
    lying_angle: float = math.radians(50.0)
    standing_min_leg: float = 1.2
    crouch_max_leg: float = 0.65
    sitting_max_thigh: float = 0.5
    posture_min_duration: float = 0.5
    posture_switch_margin: float = 0.2
    fall_upright_angle: float = math.radians(30.0)
    fall_lying_angle: float = math.radians(60.0)
    fall_max_duration: float = 1.0
    fall_min_drop: float = 0.3

    def validate(self) -> "GestureParams":
        if not 0.0 <= self.off_threshold <= self.on_threshold <= 1.0:
            raise ValueError("need 0 <= off_threshold <= on_threshold <= 1")
        for name in ("min_duration", "release_duration", "posture_min_duration"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0 < self.wave_min_freq < self.wave_max_freq:
            raise ValueError("need 0 < wave_min_freq < wave_max_freq")
        if self.window < max(self.fall_max_duration, 1.0 / self.wave_min_freq):
            raise ValueError("window must cover fall_max_duration and one wave period "
                             "at wave_min_freq")
        if not self.fall_upright_angle < self.fall_lying_angle:
            raise ValueError("need fall_upright_angle < fall_lying_angle")
        if self.wave_min_crossings < 2:
            raise ValueError("wave_min_crossings must be >= 2")
        return self
