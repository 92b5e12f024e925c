"""hands_up_stop: stop the robot while anyone holds both hands up.

Subscribes ``gestures`` (primary: ``hands_up_both`` START/END events) and ``skeletons``
(message time, and optionally the raw "both wrists above the nose" test). While
someone's hands are up it publishes a zero ``cmd_vel`` Twist and ``estop`` = true at
``rate`` Hz; ``estop`` keeps going at ``rate`` Hz when released (false), so a robot
watchdog can tell "released" from "this node died". The stop is released once nobody
has had their hands up for ``release_delay`` seconds of *message* time (header stamps),
so a brief drop of the gesture does not let the robot move, and bag replay behaves the
same as live.
"""
from __future__ import annotations

import sys

from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from std_msgs.msg import Bool

from pose_ros.api import (Diagnostics, GestureTracker, Param, ParamSet, hands_above_head, spin_node, stamp_to_sec,
                          to_numpy)
from pose_ros.msg import GestureArray, SkeletonArray

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
GESTURE = "hands_up_both"

PARAMS = [
    Param("release_delay", 1.0, "Seconds (message stamps) without raised hands before the stop is released.",
          min=0.0, max=60.0),
    Param("rate", 10.0, "Hz at which estop (and, while stopped, the zero cmd_vel) is published.",
          min=0.5, max=100.0),
    Param("use_skeletons", False, "Also stop when a skeleton has both wrists above the nose "
          "(for graphs without action_classifier)."),
]


class HandsUpStopNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("hands_up_stop", **kwargs)
        self.params = ParamSet(self, PARAMS, on_change=self._on_params)
        self.gestures = GestureTracker()
        self.raised_skel: set[str] = set()    # from skeletons (use_skeletons)
        self.stopped = False
        self.latest = float("-inf")           # newest message stamp seen
        self.last_raised = float("-inf")      # stamp when someone last had hands up
        self.pub_cmd = self.create_publisher(Twist, "cmd_vel", QOS)
        self.pub_estop = self.create_publisher(Bool, "estop", QOS)
        self.create_subscription(GestureArray, "gestures", self._on_gestures, QOS)
        self.create_subscription(SkeletonArray, "skeletons", self._on_skeletons, QOS)
        self.timer = self.create_timer(1.0 / self.params["rate"], self._publish_state)
        self.diagnostics = Diagnostics(self, lambda: (0, "stopped" if self.stopped else "clear",
                                                      [("raised hands", ", ".join(sorted(self.raised())) or "-")]))

    def _on_params(self, new: dict) -> str | None:
        if "rate" in new:
            self.timer.cancel()
            self.timer = self.create_timer(1.0 / new["rate"], self._publish_state)
        return None

    def raised(self) -> set[str]:
        return set(self.gestures.people_with(GESTURE)) | self.raised_skel

    def _on_gestures(self, msg: GestureArray) -> None:
        before = self.raised()
        self.gestures.update(msg)
        self._step(stamp_to_sec(msg.header.stamp), before)

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        before = self.raised()
        if self.params["use_skeletons"]:
            people = to_numpy(msg)
            self.raised_skel = {pid for pid, up in zip(people.ids, hands_above_head(people)) if up}
        self._step(stamp_to_sec(msg.header.stamp), before)

    def _step(self, stamp: float, before: set[str]) -> None:
        """Update the stop after new evidence at message time ``stamp``."""
        self.latest = max(self.latest, stamp)
        now = self.raised()
        if now:
            self.last_raised = self.latest
            for pid in sorted(now - before):
                self.get_logger().info(f"STOP: person {pid or '(untracked)'} raised both hands")
            if not self.stopped:
                self.stopped = True
                self._publish_state()
        elif before:
            self.last_raised = stamp  # the END event's stamp is when the hands went down
        if self.stopped and not now and self.latest - self.last_raised >= self.params["release_delay"]:
            self.stopped = False
            self.get_logger().info("released: no raised hands for "
                                   f"{self.latest - self.last_raised:.2f} s")
            self._publish_state()

    def _publish_state(self) -> None:
        if self.stopped:
            self.pub_cmd.publish(Twist())
        self.pub_estop.publish(Bool(data=self.stopped))


def main(args: list[str] | None = None) -> int:
    return spin_node(HandsUpStopNode, args)


if __name__ == "__main__":
    sys.exit(main())
