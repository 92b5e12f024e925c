"""Static hand signs from the MediaPipe hand landmark model, and their start/end events."""
from pose_ros.core.hands.events import HandSignEvents
from pose_ros.core.hands.models import resolve_hand_landmark
from pose_ros.core.hands.signs import HAND_SIGNS, HandSignDetector, classify_hand

__all__ = ["HAND_SIGNS", "HandSignDetector", "HandSignEvents", "classify_hand", "resolve_hand_landmark"]
