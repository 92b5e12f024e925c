"""Helpers for tests that talk to real ROS: collect messages, wait, run processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.procs import start_process, stop_process
from pose_ros.spin import BackgroundSpin

VENV_BIN = Path(sys.executable).parent
RELIABLE = QoSProfile(depth=50, reliability=QoSReliabilityPolicy.RELIABLE)


class RosSession:
    """An rclpy context with one node spun in a background thread."""

    def __init__(self, name: str = "test_probe") -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spin = BackgroundSpin(self.executor, self.context)
        self._readers: dict = {}

    def collect(self, msg_type, topic: str, qos=RELIABLE) -> list:
        got: list = []
        self._readers[topic] = self.node.create_subscription(msg_type, topic, got.append, qos)
        return got

    def matched(self, topic: str) -> int:
        """Writers DDS has matched to the reader :meth:`collect` made for ``topic``. Unlike
        ``node.count_publishers`` (the graph, which can list a writer before the match), a
        reliable message sent once this is > 0 reaches the reader."""
        return self._readers[topic].get_publisher_count()

    def close(self) -> None:
        self._spin.stop()   # before anything is destroyed (pose_ros.spin)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_for(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def call(ros: RosSession, srv_type, name: str, request, timeout: float = 30.0, idempotent: bool = False):
    """Call service ``name`` from the session's node (one client per service) and wait for the answer.

    A node SIGKILLed by an earlier test stays in discovery for a while, so wait_for_service
    can succeed before the live server has matched and the request is lost: ``idempotent``
    requests are sent again every 5 s until one is answered.
    """
    clients = ros.__dict__.setdefault("_clients", {})
    client = clients.get(name) or clients.setdefault(name, ros.node.create_client(srv_type, name))
    assert client.wait_for_service(timeout_sec=timeout), f"no service {name}"
    end = time.monotonic() + timeout
    while True:
        fut = client.call_async(request)
        left = end - time.monotonic()
        if wait_for(fut.done, min(left, 5.0) if idempotent else left):
            return fut.result()
        assert idempotent and time.monotonic() < end, f"{name} did not answer"
        client.remove_pending_request(fut)


def set_param(ros: RosSession, name: str, value, node: str) -> tuple[bool, str]:
    """Set one parameter of ``node`` through its set_parameters service: (successful, reason)."""
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    if isinstance(value, str):
        pv = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
    elif isinstance(value, int):
        pv = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
    else:
        pv = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
    res = call(ros, SetParameters, node + "/set_parameters",
               SetParameters.Request(parameters=[Parameter(name=name, value=pv)])).results[0]
    return res.successful, res.reason


def start(cmd: list[str], log: Path, **kw) -> subprocess.Popen:
    """Start a venv executable (name or path) in its own process group, output to ``log``."""
    exe = cmd[0] if os.path.isabs(cmd[0]) else str(VENV_BIN / cmd[0])
    return start_process([exe, *cmd[1:]], log, **kw)


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT to its process group (as Ctrl-C), SIGKILL after ``timeout`` s; the exit code."""
    return stop_process(proc, timeout)


def lockstep_replay(ros: RosSession, got: list, bag: Path, params_file: Path, logs: Path, tag: str,
                    n_frames: int, ready: Callable[[], bool]) -> None:
    """`pose-ros run` with ``params_file`` (no action classifier); once ``ready()``, play ``bag``
    lock-step (``--wait-for /pose/skeletons``) and wait for ``n_frames`` answers in ``got``;
    the graph, the player and ``ros`` are stopped whatever happens."""
    graph = start(["pose-ros", "run", f"params_file:={params_file}", "actions:=false"], logs / f"graph_{tag}.log")
    play = None
    try:
        assert wait_for(ready, 90), (logs / f"graph_{tag}.log").read_text()[-3000:]
        play = start(["pose-ros", "bag", "play", str(bag), "--wait-for-subscribers", "30",
                      "--wait-for", "/pose/skeletons"], logs / f"play_{tag}.log")
        assert play.wait(240) == 0, (logs / f"play_{tag}.log").read_text()
        assert wait_for(lambda: len(got) >= n_frames, 30), f"{len(got)} of {n_frames} frames answered"
    finally:
        for proc in (play, graph):
            if proc is not None:
                stop(proc)
        ros.close()
