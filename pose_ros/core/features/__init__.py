"""Per-track time windows and pose features, shared by the gesture rules and the action classifiers."""
from pose_ros.core.features.pose import (
    JOINT_ANGLE_NAMES, body_centres, joint_angle_array, joint_angles, normalize_pose, torso_length, visible_mask,
)
from pose_ros.core.features.window import TrackWindow

__all__ = ["JOINT_ANGLE_NAMES", "TrackWindow", "body_centres", "joint_angle_array", "joint_angles",
           "normalize_pose", "torso_length", "visible_mask"]
