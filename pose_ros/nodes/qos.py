"""The QoS profiles every pose_ros node uses, in a module of their own.

Kept apart from the nodes so that a node (or a test, a bench, the demo) can take them
without importing another node and the model code behind it.
"""
from __future__ import annotations

from rclpy.qos import QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data

# Outputs (skeletons, actions, gestures, markers...): reliable, depth 10 (DESIGN.md)
OUT_QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE, history=QoSHistoryPolicy.KEEP_LAST)


def image_qos(reliability: str) -> QoSProfile:
    """Sensor-data QoS (best effort, depth 1) unless the user asks for reliable."""
    if reliability == "reliable":
        return QoSProfile(depth=1, reliability=QoSReliabilityPolicy.RELIABLE, history=QoSHistoryPolicy.KEEP_LAST)
    return QoSProfile(depth=1, reliability=qos_profile_sensor_data.reliability,
                      history=QoSHistoryPolicy.KEEP_LAST)


__all__ = ["OUT_QOS", "image_qos"]
