"""Small reaction nodes built only on :mod:`pose_ros.api`: copy one and change it.

* ``hands_up_stop``: stop the robot while someone holds both hands up.
* ``follow_person``: follow whoever waved.
* ``point_target``: a PoseStamped where someone points (needs 3D keypoints).
"""
