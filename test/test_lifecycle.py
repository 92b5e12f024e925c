"""Managed lifecycle, run-time parameters and /diagnostics, through the real services and topics."""
from __future__ import annotations

import os
import time
from array import array

import cv2
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import Image

from pose_ros.msg import SkeletonArray
from rosutil import RosSession, start, stop, wait_for

NODE = "/pose/pose_estimator"


def call(ros: RosSession, srv_type, name: str, request, timeout: float = 30.0):
    client = ros.node.create_client(srv_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f"no service {name}"
    fut = client.call_async(request)
    assert wait_for(fut.done, timeout), f"{name} did not answer"
    return fut.result()


def state(ros: RosSession) -> int:
    return call(ros, GetState, NODE + "/get_state", GetState.Request()).current_state.id


def transition(ros: RosSession, tid: int) -> bool:
    return call(ros, ChangeState, NODE + "/change_state", ChangeState.Request(transition=Transition(id=tid))).success


def set_param(ros: RosSession, name: str, value, node: str = NODE) -> tuple[bool, str]:
    if isinstance(value, str):
        pv = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
    elif isinstance(value, int):
        pv = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
    else:
        pv = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
    res = call(ros, SetParameters, node + "/set_parameters",
               SetParameters.Request(parameters=[Parameter(name=name, value=pv)])).results[0]
    return res.successful, res.reason


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timeout(240)
def test_lifecycle_transitions_params_and_diagnostics(person_clip, tmp_path):
    cap = cv2.VideoCapture(str(person_clip))
    frames = [cap.read()[1] for _ in range(10)]
    h, w = frames[0].shape[:2]
    ros = RosSession()
    out = ros.collect(SkeletonArray, "/pose/skeletons")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.node.create_publisher(Image, "/camera/image_raw", QoSProfile(depth=5, reliability=QoSReliabilityPolicy.RELIABLE))
    proc = start(["pose_estimator", "--ros-args", "-r", "__ns:=/pose", "-r", "image:=/camera/image_raw",
                  "-p", "autostart:=false", "-p", "image_reliability:=reliable"], tmp_path / "est.log")
    sec = [100]

    def send(n: int, period: float = 0.1) -> None:
        for i in range(n):
            msg = Image(encoding="bgr8", width=w, height=h, step=w * 3, data=array("B", frames[i % 10].tobytes()))
            msg.header.stamp.sec = sec[0]
            sec[0] += 1
            pub.publish(msg)
            time.sleep(period)

    try:
        assert state(ros) == State.PRIMARY_STATE_UNCONFIGURED
        assert wait_for(lambda: any(s.name == NODE and s.message == "unconfigured" for d in diags for s in d.status),
                        10)
        # wrong transition: a clear answer and a log line, no crash
        assert not transition(ros, Transition.TRANSITION_ACTIVATE)
        assert proc.poll() is None

        assert transition(ros, Transition.TRANSITION_CONFIGURE)
        assert state(ros) == State.PRIMARY_STATE_INACTIVE
        # inactive: images are ignored, nothing is published, the CPU stays idle
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        send(20)
        idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
        assert not out, "an inactive node publishes nothing"
        assert idle_cpu < 0.10, f"inactive node used {100 * idle_cpu:.0f}% CPU"

        # reload parameters are refused while active, live ones are applied
        assert transition(ros, Transition.TRANSITION_ACTIVATE)
        assert state(ros) == State.PRIMARY_STATE_ACTIVE
        ok, reason = set_param(ros, "backend", "movenet")
        assert not ok and "deactivate" in reason
        ok, reason = set_param(ros, "tracker.min_hits", 5)
        assert ok, reason
        ok, reason = set_param(ros, "smoother.beta", -1.0)
        assert not ok and "range" in reason
        assert wait_for(lambda: ros.node.count_subscribers("/camera/image_raw") > 0, 20)
        send(10)
        assert wait_for(lambda: len(out) >= 5, 30), (tmp_path / "est.log").read_text()[-2000:]

        assert transition(ros, Transition.TRANSITION_DEACTIVATE)
        time.sleep(0.5)  # a frame in flight may still come out
        n = len(out)
        send(10)
        time.sleep(1.0)
        assert len(out) == n, "deactivated: no more output"
        ok, reason = set_param(ros, "backend", "movenet")
        assert ok, reason  # allowed while inactive; loaded again on activate
        assert transition(ros, Transition.TRANSITION_CLEANUP)
        assert state(ros) == State.PRIMARY_STATE_UNCONFIGURED

        # diagnostics from this node at about 1 Hz, with the numbers a robot operator needs
        mine = [s for d in diags for s in d.status if s.name == NODE]
        assert len(mine) >= 3
        keys = {kv.key for s in mine for kv in s.values}
        for k in ("input rate Hz", "processed rate Hz", "dropped frames", "latency ms", "people tracked",
                  "backend", "model", "infer ms", "convert ms", "track ms", "publish ms"):
            assert k in keys, k
        assert all(s.level in (DiagnosticStatus.OK, DiagnosticStatus.WARN) for s in mine)
    finally:
        stop(proc)
        ros.close()
    log = (tmp_path / "est.log").read_text()
    assert "Traceback" not in log
    assert "transition id 3 refused in state 'unconfigured'" in log or "refused in state 'unconfigured'" in log


@pytest.mark.timeout(120)
def test_missing_model_is_a_diagnostics_error_not_a_crash(tmp_path):
    """Driven by a lifecycle manager (no autostart), a failing configure is reported and the node
    keeps serving; with autostart the process exits with code 2 instead (test_model_faults.py)."""
    ros = RosSession()
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    proc = start(["pose_estimator", "--ros-args", "-r", "__ns:=/pose", "-p", "backend:=onnx", "-p", "autostart:=false",
                  "-p", "onnx.model_path:=/nonexistent/model.onnx"], tmp_path / "est.log")
    try:
        assert state(ros) == State.PRIMARY_STATE_UNCONFIGURED
        assert not transition(ros, Transition.TRANSITION_CONFIGURE), "configure must fail"
        assert wait_for(lambda: any(s.name == NODE and s.level == DiagnosticStatus.ERROR
                                    for d in diags for s in d.status), 40), (tmp_path / "est.log").read_text()
        assert proc.poll() is None, "the node keeps serving"
        assert state(ros) == State.PRIMARY_STATE_UNCONFIGURED
    finally:
        stop(proc)
        ros.close()
    err = next(s for d in diags for s in d.status if s.name == NODE and s.level == DiagnosticStatus.ERROR)
    assert "onnx" in err.message and "model_path" in err.message
    log = (tmp_path / "est.log").read_text()
    assert log.count("/nonexistent/model.onnx") >= 1 and "Traceback" not in log
