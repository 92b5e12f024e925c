"""Pure-Python core of pose_ros: no rclpy import anywhere below here."""
