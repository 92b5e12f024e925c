"""point_target: where is someone pointing? A PoseStamped on ``pointing_target``.

Built on :class:`pose_ros.client.PoseClient`. On a ``point_left`` / ``point_right``
START event with a 3D ray (``has_ray``: the skeleton had camera-frame 3D keypoints,
e.g. from a depth image) it publishes, with the header of the gesture array (camera
frame, image stamp), :func:`logic.pointing_target`:

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
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.api import People, pointing_ray
from pose_ros.client import Gesture, PoseClient
from pose_ros.examples.logic import pointing_target
from pose_ros.nodes.diagnostics import Diagnostics
from pose_ros.nodes.entry import spin_node
from pose_ros.nodes.params import Param, ParamSet

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)

PARAMS = [
    Param("distance", 2.0, "Metres along the pointing ray at which the target is placed.", min=0.0, max=50.0),
    Param("warn_period", 10.0, "Least seconds between two 'depth is needed' warnings.", min=0.0, max=3600.0),
]


class PointTargetNode(PoseClient):
    def __init__(self, **kwargs) -> None:
        super().__init__("point_target", **kwargs)
        self.params = ParamSet(self, PARAMS)
        self.frames: dict[str, int] = {}   # id -> Frame3D of their latest skeleton
        self.pub = self.create_publisher(PoseStamped, "pointing_target", QOS)
        self.on_people(self._on_people)
        for point in (Gesture.POINT_LEFT, Gesture.POINT_RIGHT):
            self.on_gesture(point, self._on_point)
        self.diagnostics = Diagnostics(self, lambda: (0, "ok", []))

    def _on_people(self, people: People) -> None:
        self.frames = dict(zip(people.ids, people.frame_3d.tolist()))

    def _on_point(self, person_id: str, g, header) -> None:
        found = pointing_target(pointing_ray(g), self.frames.get(person_id), self.params["distance"])
        if found == "no_ray":
            self.get_logger().warning(  # one call site per problem: rclpy throttles per site
                f"{person_id} does {g.gesture} but there is no 3D ray: depth is needed "
                "(a depth image for pose_estimator, or a 3D backend)", throttle_duration_sec=self._period())
            return
        if found == "body_frame":
            self.get_logger().warning(
                f"{person_id} points, but their 3D keypoints are body-centred, not in the camera frame: "
                "use a depth image for a camera-frame ray", throttle_duration_sec=self._period())
            return
        pos, quat = found
        out = PoseStamped(header=header)
        out.pose.position.x, out.pose.position.y, out.pose.position.z = (float(v) for v in pos)
        q = out.pose.orientation
        q.x, q.y, q.z, q.w = quat
        self.pub.publish(out)
        self.get_logger().info(f"{person_id} points at ({pos[0]:.2f}, {pos[1]:.2f}, {pos[2]:.2f}) "
                               f"in {out.header.frame_id or '(no frame)'}")

    def _period(self) -> float:
        return max(self.params["warn_period"], 1e-3)


def main(args: list[str] | None = None) -> int:
    return spin_node(PointTargetNode, args)


if __name__ == "__main__":
    sys.exit(main())
