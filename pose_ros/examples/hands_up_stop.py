"""hands_up_stop: stop the robot while anyone holds both hands up.

Built on :class:`pose_ros.client.PoseClient`: ``hands_up_both`` START/END events on
``gestures`` (and, with ``use_skeletons``, the raw "both wrists above the nose" test on
``skeletons``). While someone's hands are up it publishes a zero ``cmd_vel`` Twist and
``estop`` = true at ``rate`` Hz; ``estop`` keeps going at ``rate`` Hz when released
(false), so a robot watchdog can tell "released" from "this node died". The stop is
released once nobody has had their hands up for ``release_delay`` seconds of *message*
time (header stamps), so a brief drop of the gesture does not let the robot move, and
bag replay behaves the same as live. The decision is :class:`logic.StopLatch`.
"""
from __future__ import annotations

import sys

from geometry_msgs.msg import Twist
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from std_msgs.msg import Bool

from pose_ros.api import People, stamp_to_sec, hands_above_head
from pose_ros.client import Gesture, PoseClient
from pose_ros.examples.logic import StopLatch
from pose_ros.nodes.diagnostics import Diagnostics
from pose_ros.nodes.entry import spin_node
from pose_ros.nodes.params import Param, ParamSet

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)

PARAMS = [
    Param("release_delay", 1.0, "Seconds (message stamps) without raised hands before the stop is released.",
          min=0.0, max=60.0),
    Param("rate", 10.0, "Hz at which estop (and, while stopped, the zero cmd_vel) is published.",
          min=0.5, max=100.0),
    Param("use_skeletons", False, "Also stop when a skeleton has both wrists above the nose "
          "(for graphs without action_classifier)."),
]


class HandsUpStopNode(PoseClient):
    def __init__(self, **kwargs) -> None:
        super().__init__("hands_up_stop", **kwargs)
        self.params = ParamSet(self, PARAMS, on_change=self._on_params)
        self.latch = StopLatch(self.params["release_delay"])
        self.raised_skel: set[str] = set()    # from skeletons (use_skeletons)
        self.pub_cmd = self.create_publisher(Twist, "cmd_vel", QOS)
        self.pub_estop = self.create_publisher(Bool, "estop", QOS)
        self.on_gesture(Gesture.HANDS_UP_BOTH, self._on_event)
        self.on_gesture(Gesture.HANDS_UP_BOTH, self._on_event, end=True)
        self.on_people(self._on_people)
        self.timer = self.create_timer(1.0 / self.params["rate"], self._publish_state)
        self.diagnostics = Diagnostics(self, lambda: (0, "stopped" if self.latch.stopped else "clear",
                                                      [("raised hands", ", ".join(sorted(self.raised())) or "-")]))

    def _on_params(self, new: dict) -> str | None:
        if "rate" in new:
            self.timer.cancel()
            self.timer = self.create_timer(1.0 / new["rate"], self._publish_state)
        if "release_delay" in new:
            self.latch.release_delay = new["release_delay"]
        return None

    def raised(self) -> set[str]:
        return set(self.doing(Gesture.HANDS_UP_BOTH)) | self.raised_skel

    def _on_event(self, person_id: str, event, header) -> None:
        self._step(stamp_to_sec(header.stamp))

    def _on_people(self, people: People) -> None:
        if self.params["use_skeletons"]:
            self.raised_skel = {pid for pid, up in zip(people.ids, hands_above_head(people)) if up}
        self._step(people.stamp)

    def _step(self, stamp: float) -> None:
        was = self.latch.stopped
        newly, released = self.latch.update(stamp, self.raised())
        for pid in newly:
            self.get_logger().info(f"STOP: person {pid or '(untracked)'} raised both hands")
        if released:
            self.get_logger().info(f"released: no raised hands for {self.latch.latest - self.latch.last_raised:.2f} s")
        if self.latch.stopped != was:
            self._publish_state()

    def _publish_state(self) -> None:
        if self.latch.stopped:
            self.pub_cmd.publish(Twist())
        self.pub_estop.publish(Bool(data=self.latch.stopped))


def main(args: list[str] | None = None) -> int:
    return spin_node(HandsUpStopNode, args)


if __name__ == "__main__":
    sys.exit(main())
