"""follow_person: follow whoever waved.

Built on :class:`pose_ros.client.PoseClient`. A ``wave_left`` / ``wave_right`` START
event makes that person the target. Each ``skeletons`` frame with the target in it
gives one ``cmd_vel`` Twist (:func:`logic.follow_command`):

* angular.z turns toward them: ``-angular_gain * offset``, where offset is the box
  centre's horizontal distance from the image centre in half image widths, so a
  person on the image left (offset < 0) gives a positive angular.z (turn left);
* linear.x keeps ``target_distance``: ``linear_gain * (distance - target_distance)``,
  the distance being the median depth of the 3D keypoints when they are in the camera
  frame, else estimated from the apparent box height (``target_distance`` at
  ``target_height_fraction`` of the image height, distance ~ 1 / height).

When the target has not been seen for ``lost_timeout`` seconds (message stamps), or no
skeletons arrive for ``input_timeout`` seconds (the client's age of the data, node
clock: the camera or the estimator died), one zero Twist is published and the node
waits. It never switches to someone else on its own: only a new wave makes a new target
(logged "new target <id> (was <old>)"); the old target coming back is followed again.

With ``goal_frame`` set (e.g. ``map`` or ``odom``) it also publishes where the target
stands in that frame, as ``target_pose`` (PoseStamped, from ``PoseClient.person_pose``:
hri_bridge's ``body_<id>`` frame, which needs depth), for a navigation stack to follow.
"""
from __future__ import annotations

import sys

from geometry_msgs.msg import PoseStamped, Twist
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.api import People, stamp_to_sec
from pose_ros.client import Gesture, PoseClient
from pose_ros.examples.logic import FollowGains, Follower
from pose_ros.nodes.diagnostics import Diagnostics
from pose_ros.nodes.entry import spin_node
from pose_ros.nodes.params import Param, ParamSet

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)

PARAMS = [
    Param("target_distance", 1.5, "Distance to keep from the target, metres.", min=0.2, max=10.0),
    Param("target_height_fraction", 0.6, "Box height / image height at target_distance (used without depth).",
          min=0.05, max=1.0),
    Param("angular_gain", 1.5, "rad/s per half image width of horizontal offset.", min=0.0, max=10.0),
    Param("linear_gain", 0.5, "m/s per metre of distance error.", min=0.0, max=5.0),
    Param("max_angular", 1.0, "Largest |angular.z|, rad/s.", min=0.0, max=5.0),
    Param("max_linear", 0.5, "Largest |linear.x|, m/s (negative = backing away).", min=0.0, max=3.0),
    Param("lost_timeout", 2.0, "Seconds (message stamps) without seeing the target before stopping.",
          min=0.05, max=60.0),
    Param("input_timeout", 1.0, "Seconds (node clock) without any skeletons message before stopping.",
          min=0.05, max=60.0),
    Param("goal_frame", "", "Frame (e.g. map) in which to publish the target's body_<id> pose on target_pose "
          "(needs depth and a TF tree linking it to the camera); empty = off."),
]
GAINS = [f for f in FollowGains.__dataclass_fields__]


class FollowPersonNode(PoseClient):
    def __init__(self, **kwargs) -> None:
        super().__init__("follow_person", **kwargs)
        self.params = ParamSet(self, PARAMS)
        self.follower = Follower(self.params["lost_timeout"])
        self.pub_cmd = self.create_publisher(Twist, "cmd_vel", QOS)
        self.pub_goal = self.create_publisher(PoseStamped, "target_pose", QOS)
        self._started = self.get_clock().now()
        for wave in (Gesture.WAVE_LEFT, Gesture.WAVE_RIGHT):
            self.on_gesture(wave, self._on_wave)
        self.on_people(self._on_people)
        self.create_timer(0.1, self._watchdog)
        self.diagnostics = Diagnostics(self, lambda: (0, f"target {self.follower.target or 'none'}",
                                                      [("moving", str(self.follower.moving))]))

    def _on_wave(self, person_id: str, event, header) -> None:
        old = self.follower.waved(person_id, stamp_to_sec(header.stamp))
        if old is not None:  # several wavers in one message: the last one in the message wins
            self.get_logger().info(f"new target {person_id} (was {old or 'none'})")

    def _on_people(self, people: People) -> None:
        self.follower.lost_timeout = self.params["lost_timeout"]
        gains = FollowGains(**{k: self.params[k] for k in GAINS})
        self._act(*self.follower.frame(people, gains))
        frame, target = self.params["goal_frame"], self.follower.target
        found = self.person_pose(target, frame) if frame and target else None
        if found is not None:
            (x, y, z), (qx, qy, qz, qw) = found
            goal = PoseStamped()
            goal.header.frame_id = frame
            goal.header.stamp.sec, goal.header.stamp.nanosec = int(people.stamp), int(people.stamp % 1 * 1e9)
            goal.pose.position.x, goal.pose.position.y, goal.pose.position.z = float(x), float(y), float(z)
            o = goal.pose.orientation
            o.x, o.y, o.z, o.w = qx, qy, qz, qw
            self.pub_goal.publish(goal)

    def _act(self, what: str, cmd: tuple[float, float] | None, note: str) -> None:
        if what == "follow":
            if note == "start":
                self.get_logger().info(f"following {self.follower.target}")
            out = Twist()
            out.linear.x, out.angular.z = cmd
            self.pub_cmd.publish(out)
        elif what == "stop":
            self.pub_cmd.publish(Twist())
            self.get_logger().info(f"stop: {note}")

    def _watchdog(self) -> None:
        silent = self.age()
        if silent == float("inf"):  # nothing yet: count from the start
            silent = (self.get_clock().now() - self._started).nanoseconds * 1e-9
        if silent > self.params["input_timeout"]:
            self._act(*self.follower.stop(f"no skeletons for {silent:.1f} s"))


def main(args: list[str] | None = None) -> int:
    return spin_node(FollowPersonNode, args)


if __name__ == "__main__":
    sys.exit(main())
