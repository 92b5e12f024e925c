"""Publish a known SkeletonArray with two people on /roundtrip until a subscriber has it."""
import math
import sys
import time

import rclpy
from geometry_msgs.msg import Point, Vector3
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray


def make() -> SkeletonArray:
    msg = SkeletonArray(image_width=640, image_height=480)
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = 12, 345, "cam_optical"
    for i, pid in enumerate(("a3f", "7c1")):
        s = Skeleton(header=msg.header, id=pid, track_state=Skeleton.STATE_TRACKED, score=0.5 + 0.25 * i,
                     x_min=10.0 + i, y_min=20.0, x_max=110.0, y_max=220.0 + i, format=Skeleton.FORMAT_COCO_17)
        s.keypoints = [Keypoint(x=float(100 * i + k), y=float(2 * k), score=k / 17.0) for k in range(17)]
        s.keypoints[3] = Keypoint(x=math.nan, y=math.nan, score=0.0)
        s.frame_3d = Skeleton.FRAME_3D_CAMERA
        s.keypoints_3d = [Point(x=0.1 * k, y=-0.1 * k, z=2.0 + i) for k in range(17)]
        s.velocities = [Vector3(x=1.0 * k, y=0.5, z=0.0) for k in range(17)]
        msg.skeletons.append(s)
    return msg


def main() -> int:
    rclpy.init()
    node = rclpy.create_node("roundtrip_publisher")
    qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
    pub = node.create_publisher(SkeletonArray, "/roundtrip", qos)
    end = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 20)
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    while time.monotonic() < end:
        pub.publish(make())
        time.sleep(0.2)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
