"""point_target: where is someone pointing? A PoseStamped on ``pointing_target``.

On a ``point_left`` / ``point_right`` START event with a 3D ray (``has_ray``: the
skeleton had camera-frame 3D keypoints, e.g. from a depth image) it publishes, with
the header of the gesture array (camera frame, image stamp):

* position = ray origin + ``distance`` * ray direction (metres);
* orientation = the rotation taking +x onto the ray direction, so RViz's pose arrow
  lies along the arm.

Without a ray (2D only) there is nothing metric to publish: it logs, at most every
``warn_period`` seconds, that depth is needed. Rays of people whose 3D keypoints are
body-centred (FRAME_3D_BODY, seen on ``skeletons``) are not in the camera frame and
are skipped with the same kind of warning.
"""
from __future__ import annotations

import sys

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.api import (Diagnostics, Frame3D, Param, ParamSet, pointing_ray, quaternion_from_x_to, spin_node,
                          to_numpy)
from pose_ros.msg import GestureArray, SkeletonArray

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
POINTS = ("point_left", "point_right")
START = 0  # Gesture.EVENT_START

PARAMS = [
    Param("distance", 2.0, "Metres along the pointing ray at which the target is placed.", min=0.0, max=50.0),
    Param("warn_period", 10.0, "Least seconds between two 'depth is needed' warnings.", min=0.0, max=3600.0),
]


class PointTargetNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("point_target", **kwargs)
        self.params = ParamSet(self, PARAMS)
        self.frames: dict[str, int] = {}   # id -> Frame3D of their latest skeleton
        self.pub = self.create_publisher(PoseStamped, "pointing_target", QOS)
        self.create_subscription(GestureArray, "gestures", self._on_gestures, QOS)
        self.create_subscription(SkeletonArray, "skeletons", self._on_skeletons, QOS)
        self.diagnostics = Diagnostics(self, lambda: (0, "ok", []))

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        people = to_numpy(msg)
        self.frames = dict(zip(people.ids, people.frame_3d.tolist()))

    def _on_gestures(self, msg: GestureArray) -> None:
        for g in msg.gestures:
            if g.gesture not in POINTS or g.event != START:
                continue
            ray = pointing_ray(g)
            if ray is None:
                self.get_logger().warning(  # one call site per problem: rclpy throttles per site
                    f"{g.id} does {g.gesture} but there is no 3D ray: depth is needed "
                    "(a depth image for pose_estimator, or a 3D backend)", throttle_duration_sec=self._period())
                continue
            if self.frames.get(g.id) == Frame3D.BODY:
                self.get_logger().warning(
                    f"{g.id} points, but their 3D keypoints are body-centred, not in the camera frame: "
                    "use a depth image for a camera-frame ray", throttle_duration_sec=self._period())
                continue
            origin, direction = ray
            pos = origin + self.params["distance"] * direction
            out = PoseStamped(header=msg.header)
            out.pose.position.x, out.pose.position.y, out.pose.position.z = (float(v) for v in pos)
            q = out.pose.orientation
            q.x, q.y, q.z, q.w = quaternion_from_x_to(direction)
            self.pub.publish(out)
            self.get_logger().info(f"{g.id} points at ({pos[0]:.2f}, {pos[1]:.2f}, {pos[2]:.2f}) "
                                   f"in {msg.header.frame_id or '(no frame)'}")

    def _period(self) -> float:
        return max(self.params["warn_period"], 1e-3)


def main(args: list[str] | None = None) -> int:
    return spin_node(PointTargetNode, args)


if __name__ == "__main__":
    sys.exit(main())
