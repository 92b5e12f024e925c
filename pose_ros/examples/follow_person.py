"""follow_person: follow whoever waved.

A ``wave_left`` / ``wave_right`` START event on ``gestures`` makes that person the
target. Each ``skeletons`` frame with the target in it gives one ``cmd_vel`` Twist:

* angular.z turns toward them: ``-angular_gain * offset``, where offset is the box
  centre's horizontal distance from the image centre in half image widths, so a
  person on the image left (offset < 0) gives a positive angular.z (turn left);
* linear.x keeps ``target_distance``: ``linear_gain * (distance - target_distance)``,
  the distance being the median depth of the 3D keypoints when they are in the camera
  frame, else estimated from the apparent box height (``target_distance`` at
  ``target_height_fraction`` of the image height, distance ~ 1 / height).

When the target has not been seen for ``lost_timeout`` seconds (message stamps), or no
skeletons arrive for ``input_timeout`` seconds (node clock: the camera or the estimator
died), one zero Twist is published and the node waits. It never switches to someone else on its own: only a new wave makes a new
target (logged "new target <id> (was <old>)"); the old target coming back is followed again.
"""
from __future__ import annotations

import sys

import numpy as np
from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.api import (Diagnostics, Param, ParamSet, People, TrackState, box_heights, centers, depths, spin_node, stamp_to_sec,
                          to_numpy, who_made)
from pose_ros.msg import GestureArray, SkeletonArray

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
WAVES = ("wave_left", "wave_right")

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
]


class FollowPersonNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("follow_person", **kwargs)
        self.params = ParamSet(self, PARAMS)
        self.target: str | None = None
        self.last_seen = float("-inf")   # message stamp of the last frame with the target
        self.latest = float("-inf")      # newest skeleton stamp
        self.last_rx = self.get_clock().now()
        self.moving = False              # a non-zero command is in force
        self.pub_cmd = self.create_publisher(Twist, "cmd_vel", QOS)
        self.create_subscription(GestureArray, "gestures", self._on_gestures, QOS)
        self.create_subscription(SkeletonArray, "skeletons", self._on_skeletons, QOS)
        self.create_timer(0.1, self._watchdog)
        self.diagnostics = Diagnostics(self, lambda: (0, f"target {self.target or 'none'}",
                                                      [("moving", str(self.moving))]))

    def _on_gestures(self, msg: GestureArray) -> None:
        wavers = [pid for w in WAVES for pid in who_made(msg, w) if pid]
        if not wavers or wavers[-1] == self.target:
            return
        new = wavers[-1]  # several wavers in one message: the last listed wins, deterministically
        self.get_logger().info(f"new target {new} (was {self.target or 'none'})")
        self.target = new
        self.last_seen = max(self.latest, stamp_to_sec(msg.header.stamp))

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        self.last_rx = self.get_clock().now()
        people = to_numpy(msg)
        self.latest = max(self.latest, people.stamp)
        if self.target is None:
            return
        i = people.index(self.target)
        if i is not None and people.track_states[i] != TrackState.LOST:
            cmd = self.command(people, i)
            if cmd is not None:
                if not self.moving:
                    self.get_logger().info(f"following {self.target}")
                self.last_seen = people.stamp
                self.moving = True
                self.pub_cmd.publish(cmd)
                return
        if people.stamp - self.last_seen > self.params["lost_timeout"]:
            self._stop(f"target {self.target} lost for {people.stamp - self.last_seen:.1f} s")

    def command(self, people: People, i: int) -> Twist | None:
        """Twist toward person ``i``; None when their position is unknown."""
        p = self.params
        cx = centers(people)[i, 0]
        if not np.isfinite(cx) or people.width <= 0:
            return None
        offset = (cx - people.width / 2.0) / (people.width / 2.0)
        dist = depths(people)[i]
        if not np.isfinite(dist):
            frac = box_heights(people)[i] / people.height if people.height > 0 else np.nan
            dist = p["target_distance"] * p["target_height_fraction"] / frac if frac > 1e-3 else np.nan
        cmd = Twist()
        cmd.angular.z = float(np.clip(-p["angular_gain"] * offset, -p["max_angular"], p["max_angular"]))
        if np.isfinite(dist):
            cmd.linear.x = float(np.clip(p["linear_gain"] * (dist - p["target_distance"]),
                                         -p["max_linear"], p["max_linear"]))
        return cmd

    def _watchdog(self) -> None:
        silent = (self.get_clock().now() - self.last_rx).nanoseconds * 1e-9
        if silent > self.params["input_timeout"]:
            self._stop(f"no skeletons for {silent:.1f} s")

    def _stop(self, why: str) -> None:
        if self.moving:
            self.moving = False
            self.pub_cmd.publish(Twist())
            self.get_logger().info(f"stop: {why}")


def main(args: list[str] | None = None) -> int:
    return spin_node(FollowPersonNode, args)


if __name__ == "__main__":
    sys.exit(main())
