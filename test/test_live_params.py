"""Run-time tracker / smoother parameters of pose_estimator and pose_tracker, through real rclpy.

The estimator runs in this process (a real node and parameter callbacks, MoveNet loaded) so
the test can hold its processing lock; pose_tracker runs as its own process over DDS.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import rclpy
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for


@pytest.fixture
def estimator():
    """An inactive pose_estimator whose pipeline (MoveNet + tracker + smoother) is built as configure does."""
    from pose_ros.core.detection import create_backend
    from pose_ros.core.pipeline import PosePipeline
    from pose_ros.nodes.pose_estimator import PoseEstimatorNode
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = PoseEstimatorNode(context=ctx, parameter_overrides=[Parameter("autostart", value=False)])
    p = node.params
    node.pipeline = PosePipeline(create_backend("movenet"), tracker_params=p.group("tracker"),
                                 smoother_params=p.group("smoother"))
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


def test_estimator_refuses_low_score_above_high_score(estimator):
    """tracker.low_score 0.9 over high_score 0.3 used to be setattr'd in, silently dropping
    everyone scored 0.3-0.9; reid_window did not move reset_gap."""
    tr = estimator.pipeline.tracker
    res = estimator.set_parameters([Parameter("tracker.low_score", value=0.9)])[0]
    assert not res.successful and "low_score" in res.reason
    assert tr.low_score == 0.05 and estimator.params["tracker.low_score"] == 0.05
    assert estimator.set_parameters([Parameter("tracker.reid_window", value=20.0)])[0].successful
    assert tr.reid_window == 20.0 and tr.reset_gap == 20.0


def test_estimator_changes_wait_for_the_frame_in_hand(estimator):
    """The smoother used to be reset on the executor thread while the worker used it."""
    sm = estimator.pipeline.smoother
    done = threading.Event()

    def change() -> None:
        estimator.set_parameters([Parameter("smoother.beta", value=0.5)])
        done.set()

    with estimator._proc_lock:          # as the worker holds it while processing a frame
        th = threading.Thread(target=change, daemon=True)
        th.start()
        time.sleep(0.5)
        assert not done.is_set() and sm.beta == 0.05, "changed in the middle of a frame"
    assert done.wait(5.0) and sm.beta == 0.5


def set_param(ros: RosSession, node: str, name: str, value) -> tuple[bool, str]:
    pv = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value) if isinstance(value, float) \
        else ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value)
    client = ros.node.create_client(SetParameters, node + "/set_parameters")
    assert client.wait_for_service(timeout_sec=30)
    fut = client.call_async(SetParameters.Request(parameters=[ParameterMsg(name=name, value=pv)]))
    assert wait_for(fut.done, 30)
    r = fut.result().results[0]
    return r.successful, r.reason


def skeletons(stamp: int, score: float) -> SkeletonArray:
    base = np.array([[0, -80], [-5, -85], [5, -85], [-10, -82], [10, -82], [-25, -60], [25, -60], [-30, -30],
                     [30, -30], [-32, 0], [32, 0], [-15, 0], [15, 0], [-15, 40], [15, 40], [-15, 80], [15, 80]],
                    dtype=float) + [320, 240]
    msg = SkeletonArray(image_width=640, image_height=480)
    msg.header.stamp.sec = stamp
    s = Skeleton(score=score, format=0)
    s.keypoints = [Keypoint(x=float(x), y=float(y), score=0.9) for x, y in base]
    s.x_min, s.y_min, s.x_max, s.y_max = (float(v) for v in (*base.min(0), *base.max(0)))
    msg.skeletons.append(s)
    return msg


@pytest.mark.timeout(90)
def test_pose_tracker_applies_live_tracker_params(tmp_path):
    """pose_tracker used to store tracker.* / smoother.* changes and never apply them."""
    ros = RosSession()
    out = ros.collect(SkeletonArray, "/pose/skeletons")
    pub = ros.node.create_publisher(SkeletonArray, "/pose/skeletons_in",
                                    QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
    proc = start(["pose_tracker", "--ros-args", "-r", "__ns:=/pose"], tmp_path / "tracker.log")
    try:
        assert wait_for(lambda: pub.get_subscription_count() > 0, 30)
        pub.publish(skeletons(100, 0.8))
        assert wait_for(lambda: len(out) == 1, 10) and len(out[0].skeletons) == 1
        assert set_param(ros, "/pose/pose_tracker", "tracker.high_score", 0.95)[0]
        ok, reason = set_param(ros, "/pose/pose_tracker", "tracker.low_score", 0.99)
        assert not ok and "low_score" in reason
        assert set_param(ros, "/pose/pose_tracker", "tracker.low_score", 0.9)[0]
        pub.publish(skeletons(101, 0.8))            # below the new low_score: dropped
        assert wait_for(lambda: len(out) == 2, 10)
        assert out[1].skeletons == [], "the live low_score was not applied"
        ok, reason = set_param(ros, "/pose/pose_tracker", "smoothing", False)
        assert not ok and "restart" in reason and "lifecycle" not in reason
    finally:
        stop(proc)
        ros.close()
