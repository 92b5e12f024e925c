"""Small reaction nodes built on :class:`pose_ros.client.PoseClient`: copy one and change it.

Their decisions are plain functions in :mod:`pose_ros.examples.logic` (no rclpy).

* ``hands_up_stop``: stop the robot while someone holds both hands up.
* ``follow_person``: follow whoever waved.
* ``point_target``: a PoseStamped where someone points (needs 3D keypoints).
"""
