"""Run-time tracker / smoother parameters of pose_estimator and pose_tracker, through real rclpy.

The estimator runs in this process (a real node and parameter callbacks, MoveNet loaded) so
the test can hold its processing lock; pose_tracker runs as its own process over DDS.
"""
from __future__ import annotations

import threading

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


class WatchedLock:
    """The processing lock, saying when another thread starts waiting for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = threading.Event()

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.waiting.set()
        self.lock.acquire()

    def __exit__(self, *exc) -> None:
        self.lock.release()


def test_estimator_changes_wait_for_the_frame_in_hand(estimator):
    """The smoother used to be reset on the executor thread while the worker used it.

    No sleep: the change must reach the processing lock (else it bypassed it), and nothing
    may have changed by then; it is applied once the frame in hand is done.
    """
    sm = estimator.pipeline.smoother
    done = threading.Event()
    lock = estimator._proc_lock = WatchedLock()

    def change() -> None:
        estimator.set_parameters([Parameter("smoother.beta", value=0.5)])
        done.set()

    with lock:          # as the worker holds it while processing a frame
        th = threading.Thread(target=change, daemon=True)
        th.start()
        assert lock.waiting.wait(5.0) or done.is_set(), "the change never came to the processing lock"
        assert not done.is_set() and sm.beta == 0.05, "changed in the middle of a frame"
    assert done.wait(5.0) and sm.beta == 0.5


@pytest.fixture
def idle_node(request):
    """An unconfigured node of the class given by ``request.param`` (no model loaded)."""
    import importlib
    module, cls = request.param.split(":")
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = getattr(importlib.import_module(module), cls)(
        context=ctx, parameter_overrides=[Parameter("autostart", value=False)])
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


@pytest.mark.parametrize("idle_node", ["pose_ros.nodes.pose_estimator:PoseEstimatorNode"], indirect=True)
def test_estimator_checks_live_params_while_unconfigured(idle_node):
    """Unconfigured (no tracker yet) or with tracking off, a bad combination used to be
    accepted and made the next configure fail; and a refused change must not mark the
    model for reloading."""
    assert idle_node.pipeline is None and idle_node.state == "unconfigured"
    res = idle_node.set_parameters([Parameter("tracker.low_score", value=0.9)])[0]
    assert not res.successful and "low_score" in res.reason
    res = idle_node.set_parameters_atomically([Parameter("backend", value="movenet"),
                                               Parameter("tracker.low_score", value=0.9)])
    assert not res.successful and "low_score" in res.reason
    assert not idle_node._dirty, "a refused change marked the model for reloading"
    assert idle_node.set_parameters([Parameter("tracking", value=False)])[0].successful
    assert idle_node._dirty
    res = idle_node.set_parameters([Parameter("tracker.low_score", value=0.9)])[0]
    assert not res.successful and "low_score" in res.reason
    assert idle_node.params["tracker.low_score"] == 0.05
    assert idle_node.set_parameters([Parameter("tracker.low_score", value=0.1)])[0].successful


@pytest.mark.parametrize("idle_node", ["pose_ros.nodes.action_classifier:ActionClassifierNode"], indirect=True)
def test_action_classifier_checks_live_params_while_unconfigured(idle_node):
    assert idle_node.stage is None
    res = idle_node.set_parameters([Parameter("gestures.off_threshold", value=0.9)])[0]   # above on_threshold
    assert not res.successful and "off_threshold" in res.reason
    assert idle_node.params["gestures.off_threshold"] == 0.4
    assert idle_node.set_parameters([Parameter("gestures.off_threshold", value=0.5)])[0].successful


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
