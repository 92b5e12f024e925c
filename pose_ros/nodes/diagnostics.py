"""/diagnostics for every pose_ros node: rates, drops, latency, stage times, levels.

A node keeps a :class:`RateMeter` per stream and calls :class:`Diagnostics` with a
function that returns (level, message, key/values); it is published at about 1 Hz on
``/diagnostics`` (diagnostic_msgs/DiagnosticArray), where rqt_robot_monitor and the
diagnostic aggregator expect it.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


class RateMeter:
    """Events per second over the last ``window`` seconds of monotonic time.

    Also remembers gaps: a stream that stops (a camera driver restarting) and comes
    back shows up as ``gaps`` / ``last_gap`` afterwards, not only while it is silent.
    """

    def __init__(self, window: float = 5.0, gap: float = 5.0) -> None:
        self.window = window
        self.gap = gap      # a pause longer than this counts as a gap
        self._t: deque[float] = deque()
        self.last = -1.0  # monotonic time of the last event, -1 = never
        self.gaps = 0
        self.last_gap = 0.0   # seconds of the most recent gap
        self.longest_gap = 0.0

    def tick(self) -> float:
        """Count one event; returns the length of the gap it ends (0 when there was none)."""
        now = time.monotonic()
        pause = now - self.last if self.last >= 0 else 0.0
        self._t.append(now)
        self.last = now
        if pause > self.gap:
            self.gaps += 1
            self.last_gap = pause
            self.longest_gap = max(self.longest_gap, pause)
            return pause
        return 0.0

    def gap_values(self, what: str) -> list[tuple[str, str]]:
        return [(f"{what} gaps", self.gaps), (f"last {what} gap s", f"{self.last_gap:.1f}"),
                (f"longest {what} gap s", f"{self.longest_gap:.1f}")]

    def rate(self) -> float:
        now = time.monotonic()
        while self._t and self._t[0] < now - self.window:
            self._t.popleft()
        if len(self._t) < 2:
            return 0.0
        return (len(self._t) - 1) / max(self._t[-1] - self._t[0], 1e-6)

    def idle_for(self) -> float:
        return float("inf") if self.last < 0 else time.monotonic() - self.last


class StageTimes:
    """Exponential moving averages of per-stage seconds (what a frame costs, by stage).

    ``add`` runs on a worker thread while ``values`` runs on the executor, and new stage
    names appear mid-run: both hold a lock, so iterating never meets a dict changing size.
    """

    def __init__(self, alpha: float = 0.1) -> None:
        self.alpha = alpha
        self.avg: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, timings: dict[str, float]) -> None:
        with self._lock:
            for k, v in timings.items():
                old = self.avg.get(k)
                self.avg[k] = v if old is None else old + self.alpha * (v - old)

    def values(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(f"{k} ms", f"{1000 * v:.2f}") for k, v in self.avg.items()]


class Diagnostics:
    """Publishes one DiagnosticStatus for ``node`` every ``period`` seconds (wall clock)."""

    def __init__(self, node: Node, collect: Callable[[], tuple[int, str, list[tuple[str, str]]]],
                 hardware_id: str = "pose_ros", period: float = 1.0) -> None:
        self._node = node
        self._collect = collect
        self._hw = hardware_id
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics",
                                          QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        self.cost = StageTimes()
        self._timer = node.create_timer(period, self.publish)

    def publish(self) -> None:
        t0 = time.perf_counter()
        try:
            level, message, values = self._collect()
        except Exception as exc:  # diagnostics must never take a node down
            level, message, values = ERROR, f"diagnostics failed: {exc}", []
        status = DiagnosticStatus(level=level, name=f"{self._node.get_fully_qualified_name()}",
                                  message=message, hardware_id=self._hw,
                                  values=[KeyValue(key=k, value=str(v)) for k, v in values])
        arr = DiagnosticArray(status=[status])
        arr.header.stamp = self._node.get_clock().now().to_msg()  # diagnostics are about now
        self._pub.publish(arr)
        self.cost.add({"diagnostics": time.perf_counter() - t0})


def worst(levels: list[tuple[int, str]]) -> tuple[int, str]:
    """The highest level and the messages at that level, joined."""
    if not levels:
        return OK, "ok"
    top = max(lvl for lvl, _ in levels)
    return top, "; ".join(m for lvl, m in levels if lvl == top)
