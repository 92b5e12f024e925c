"""Rule-based gestures and postures with hysteresis (see :mod:`.detector`)."""
from pose_ros.core.gestures.detector import GestureDetector
from pose_ros.core.gestures.hysteresis import Hysteresis
from pose_ros.core.gestures.params import GESTURE_NAMES, POSTURE_NAMES, GestureEvent, GestureParams

__all__ = ["GESTURE_NAMES", "POSTURE_NAMES", "GestureDetector", "GestureEvent", "GestureParams", "Hysteresis"]
