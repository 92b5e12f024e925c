"""PoseClient against real DDS: messages from a test node, and a real pose_estimator for its lifecycle."""
from __future__ import annotations

import math
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock

from pose_ros.client import EstimatorState, Gesture, PoseClient
from pose_ros.spin import BackgroundSpin
from pose_ros.msg import Gesture as GestureMsg
from pose_ros.msg import GestureArray, Keypoint, Skeleton, SkeletonArray
from rosutil import RELIABLE, RosSession, start, stop, wait_for


def skeletons(t: float, *ids: str) -> SkeletonArray:
    msg = SkeletonArray(image_width=640, image_height=480, skeletons=[
        Skeleton(id=i, score=0.9, format=Skeleton.FORMAT_COCO_17, x_min=10.0, y_min=10.0, x_max=110.0, y_max=310.0,
                 keypoints=[Keypoint(x=60.0, y=20.0 + 10 * k, score=0.8) for k in range(17)]) for i in ids])
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9))
    msg.header.frame_id = "cam"
    return msg


def gestures(t: float, *events: tuple[str, str, int]) -> GestureArray:
    msg = GestureArray(gestures=[GestureMsg(id=i, gesture=g, event=e, confidence=0.9, direction=math.nan)
                                 for i, g, e in events])
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9))
    msg.header.frame_id = "cam"
    return msg


class Spun:
    """A PoseClient in its own context, spun by an executor thread (as an application would)."""

    def __init__(self, **kw) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.client = PoseClient(context=self.context, **kw)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.client)
        self.spin = BackgroundSpin(self.executor, self.context)

    def close(self) -> None:
        self.spin.stop()   # joined before the node goes: destroying under a spinning thread crashes rcl
        self.executor.shutdown(timeout_sec=1.0)
        self.client.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.mark.timeout(60)
def test_people_gestures_and_callbacks_over_dds():
    ros = RosSession("client_feeder")
    sk = ros.node.create_publisher(SkeletonArray, "/cl1/skeletons", RELIABLE)
    ge = ros.node.create_publisher(GestureArray, "/cl1/gestures", RELIABLE)
    app = Spun(namespace="/cl1", max_age=30.0)
    pose = app.client
    starts, ends = [], []
    pose.on_gesture(Gesture.WAVE_LEFT, lambda pid, ev, header: starts.append((pid, ev.gesture, header.stamp.sec,
                                                                             pose.is_doing(pid, "wave_left"))))
    pose.on_gesture("wave_left", lambda pid, ev, header: ends.append(pid), end=True)
    try:
        with pytest.raises(ValueError, match="unknown gesture 'wave'"):
            pose.on_gesture("wave", lambda *a: None)
        assert pose.people() is None and pose.age() == math.inf, "nothing received yet"
        assert wait_for(lambda: sk.get_subscription_count() > 0 and ge.get_subscription_count() > 0, 30)
        sk.publish(skeletons(50.0, "a", "b"))
        assert wait_for(lambda: pose.people() is not None, 10)
        p = pose.people()
        assert p.ids == ["a", "b"] and p.keypoints.shape == (2, 17, 3) and p.stamp == 50.0
        assert pose.people(max_age=0.0) is None, "older than 0 s is stale"
        ge.publish(gestures(50.1, ("a", "wave_left", GestureMsg.EVENT_START), ("b", "hands_up_both", 0)))
        assert wait_for(lambda: len(starts) == 1, 10)
        assert starts == [("a", "wave_left", 50, True)], "callback after the state knows the whole message"
        assert pose.is_doing("a", Gesture.WAVE_LEFT) and not pose.is_doing("b", Gesture.WAVE_LEFT)
        assert pose.doing(Gesture.HANDS_UP_BOTH) == ["b"] and pose.gestures_of("a") == {Gesture.WAVE_LEFT}
        with pytest.raises(ValueError, match="did you mean"):
            pose.is_doing("a", "hand_up")
        ge.publish(gestures(50.5, ("a", "wave_left", GestureMsg.EVENT_END)))
        assert wait_for(lambda: ends == ["a"], 10) and not pose.is_doing("a", "wave_left")
    finally:
        app.close()
        ros.close()


@pytest.mark.timeout(60)
def test_people_age_follows_sim_time():
    """use_sim_time: the age is /clock time since the skeletons arrived (a paused replay ages too)."""
    ros = RosSession("client_clock")
    sk = ros.node.create_publisher(SkeletonArray, "/cl2/skeletons", RELIABLE)
    clock = ros.node.create_publisher(Clock, "/clock", 10)

    def tick(t: float) -> None:
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = int(t), int(round((t % 1) * 1e9))
        clock.publish(msg)

    app = Spun(namespace="/cl2", max_age=0.5, parameter_overrides=[Parameter("use_sim_time", value=True)])
    pose = app.client
    try:
        assert wait_for(lambda: sk.get_subscription_count() > 0 and clock.get_subscription_count() > 0, 30)
        assert wait_for(lambda: (tick(1000.0), pose.get_clock().now().nanoseconds == 1000 * 10**9)[1], 10)
        sk.publish(skeletons(7.0, "a"))   # header stamp unrelated to the clock: not what ages
        assert wait_for(lambda: pose.people() is not None, 10)
        assert pose.age() == 0.0
        tick(1000.4)
        assert wait_for(lambda: pose.get_clock().now().nanoseconds == 1000_400_000_000, 10)
        assert pose.people() is not None and pose.age() == pytest.approx(0.4)
        tick(1000.6)
        assert wait_for(lambda: pose.get_clock().now().nanoseconds == 1000_600_000_000, 10)
        assert pose.people() is None, "0.6 s of /clock time > max_age 0.5"
        assert pose.people(max_age=1.0) is not None
    finally:
        app.close()
        ros.close()


@pytest.mark.timeout(150)
def test_wait_until_active_follows_the_real_estimator(tmp_path):
    """No estimator: False after the timeout; autostart:=false: UNCONFIGURED, still False; autostart: True.

    The client is not spun by anyone here, so it spins itself while it waits; the second
    estimator is a restart in the same namespace (its get_state must answer the same client).
    """
    context = rclpy.Context()  # not the default one: the client must not lean on rclpy's global executor
    rclpy.init(context=context)
    pose = PoseClient("client_lifecycle", namespace="/cl3", context=context)  # nobody spins it: it spins itself
    try:
        t0 = time.monotonic()
        assert pose.wait_until_active(timeout=1.0) is False and time.monotonic() - t0 < 10
        assert pose.estimator_state(timeout=0.5) == EstimatorState.UNKNOWN
        log = tmp_path / "est.log"
        est = start(["pose_estimator", "--ros-args", "-r", "__ns:=/cl3", "-p", "autostart:=false"], log)
        try:
            assert wait_for(lambda: pose.estimator_state(timeout=2.0) == EstimatorState.UNCONFIGURED, 60), \
                log.read_text()
            assert pose.wait_until_active(timeout=1.0) is False
        finally:
            assert stop(est) == 0
        est = start(["pose_estimator", "--ros-args", "-r", "__ns:=/cl3"], log)
        try:
            assert pose.wait_until_active(timeout=90.0), log.read_text()
            assert pose.estimator_state() == EstimatorState.ACTIVE
        finally:
            assert stop(est) == 0
    finally:
        pose.destroy_node()
        rclpy.try_shutdown(context=context)
