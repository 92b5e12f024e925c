"""What pose_estimator reports on /diagnostics, and when it is OK, WARN or ERROR."""
from __future__ import annotations

import math

from pose_ros.core.imaging.depth_sync import REASONS as DEPTH_REASONS
from pose_ros.nodes.conversions import stamp_to_sec
from pose_ros.nodes.diagnostics import ERROR, OK, WARN, RateMeter, StageTimes, worst

BAD_DEPTH = "bad depth image"


class EstimatorHealth:
    """Rates, drops, latency from the image stamp, per-stage time, people, backend and model."""

    def __init__(self, node) -> None:
        self.node = node
        self.input = RateMeter()
        self.processed = RateMeter()
        self.stages = StageTimes()
        self.latency = math.nan
        self.people = 0
        self.lost_in_transport = 0  # frames the publisher sent that never arrived here
        self._last_seq: int | None = None
        self.with_3d = 0
        self.without_3d = dict.fromkeys((*DEPTH_REASONS, BAD_DEPTH), 0)  # frames without 3D, by reason
        self.no_3d_why = ""          # the last frame's reason in words, "" when it had 3D
        self.depth_offset: float | None = None  # depth stamp - image stamp of the last frame's nearest depth
        self.posed = 0               # people measured in the last frame (a budgeted video backend)
        self.predicted = 0           # people carried forward from an earlier pose in the last frame
        self.oldest_pose = 0.0       # s, the oldest predicted pose of the last frame
        self.units = 0.0             # crop units spent on the last frame
        self.attended = 0            # people of the attention topic in the last frame
        self.attended_predicted = 0  # of them, predicted (the budget did not reach them)

    def input_tick(self) -> None:
        """One image arrived; a pause longer than diag.no_input_timeout is logged once, as a gap."""
        self.input.gap = self.node.params["diag.no_input_timeout"]
        pause = self.input.tick()
        if pause:
            self.node.get_logger().warning(
                f"images again after {pause:.1f} s without input (input gap {self.input.gaps}); resuming")

    def sequence(self, seq: int | None) -> None:
        """Count frames lost between the camera and this node from the publisher's sequence numbers.

        A best-effort depth-1 subscription loses frames silently in DDS (a busy reader, a
        large frame); the keep-newest drops count only what arrived. A number that goes back
        (a restarted or second publisher) starts counting again.
        """
        if seq is None:
            return
        last = self._last_seq
        if last is not None and last < seq <= last + 100_000:
            self.lost_in_transport += seq - last - 1
        self._last_seq = seq

    def depth_result(self, reason: str | None, why: str, offset: float | None) -> None:
        """One frame's depth pairing (use_depth): with 3D (``reason`` None) or without, and why."""
        if reason is None:
            self.with_3d += 1
        else:
            self.without_3d[reason] += 1
        self.no_3d_why, self.depth_offset = why, offset

    def depth_values(self) -> list[tuple[str, str]]:
        p = self.node.params
        off = "n/a" if self.depth_offset is None else f"{self.depth_offset:+.3f}"
        return ([("frames with 3D", self.with_3d)]
                + [(f"frames without 3D: {r}", n) for r, n in self.without_3d.items()]
                + [("depth offset s", off), ("depth_max_offset s", f"{p['depth_max_offset']:g}")])

    def budget_result(self, people, units: float, attention=frozenset()) -> None:
        """Who got a fresh pose in the last frame and who was predicted (``Person.predicted``),
        and of the people the robot attends to (topic attention), how many are in view."""
        attended = [p for p in people if p.track_id in attention]
        self.attended, self.attended_predicted = len(attended), sum(p.predicted for p in attended)
        self.predicted = sum(p.predicted for p in people)
        self.posed = len(people) - self.predicted
        self.oldest_pose = max((p.pose_age for p in people), default=0.0)
        self.units = units

    def budget_values(self) -> list[tuple[str, str]]:
        b = self.node.budget
        return [("people posed", self.posed), ("people predicted", self.predicted),
                ("oldest pose s", f"{self.oldest_pose:.3f}"), ("crop units", f"{self.units:.2f}"),
                ("crop budget", "unbounded" if math.isinf(b.budget) else f"{b.budget:.2f}"),
                ("crop budget ceiling", "none" if math.isinf(b.ceiling) else f"{b.ceiling:g}"),
                ("frames behind", b.behind_frames),
                ("ms per crop unit", "n/a" if math.isnan(b.unit_s) else f"{1000 * b.unit_s:.1f}"),
                ("people attended", self.attended), ("attended predicted", self.attended_predicted)]

    def frame_done(self, stamp, people: int, timings: dict[str, float]) -> None:
        self.processed.tick()
        self.stages.add(timings)
        self.people = people
        now = self.node.get_clock().now().nanoseconds * 1e-9
        lat = now - stamp_to_sec(stamp)
        # Stamps from another clock (a video's media time, an old bag) say nothing about latency.
        self.latency = lat if -1.0 < lat < 3600.0 else math.nan

    def collect(self) -> tuple[int, str, list[tuple[str, str]]]:
        n = self.node
        p = n.params
        levels = []
        if n.backend_error:
            levels.append((ERROR, n.backend_error))
        elif n.transition_error:
            levels.append((ERROR, n.transition_error))
        if not n.active:
            levels.append((OK, "inactive" if n.configured else "unconfigured"))
        else:
            idle = self.input.idle_for()
            if idle > p["diag.no_input_timeout"]:
                levels.append((WARN, "no input images" + ("" if math.isinf(idle) else f" for {idle:.0f} s")))
            if self.latency > p["diag.latency_budget"]:
                levels.append((WARN, f"latency {1000 * self.latency:.0f} ms over budget"))
            if p["use_depth"] and self.no_3d_why:
                levels.append((WARN, f"no 3D: {self.no_3d_why}"))
        level, msg = worst(levels)
        backend = n.pipeline.backend if n.pipeline is not None else None
        tracker = n.pipeline.tracker if n.pipeline is not None else None
        values = [
            ("state", "active" if n.active else ("inactive" if n.configured else "unconfigured")),
            ("backend", p["backend"]), ("model", backend.model if backend is not None else "not loaded"),
            ("input rate Hz", f"{self.input.rate():.1f}"), ("processed rate Hz", f"{self.processed.rate():.1f}"),
            ("received", n.stats["received"]), ("processed", n.stats["processed"]),
            ("dropped frames", n.stats["dropped"]), ("lost in transport", self.lost_in_transport),
            ("bad input", n.stats["bad_input"]),
            ("latency ms", "n/a" if math.isnan(self.latency) else f"{1000 * self.latency:.1f}"),
            ("people tracked", self.people),
            ("tracker resets", tracker.resets if tracker is not None else 0),
        ] + self.input.gap_values("input") + self.stages.values() + n.diagnostics.cost.values()
        if p["use_depth"]:
            values += self.depth_values()
        if n.budget is not None:
            values += self.budget_values()
        return level, msg, values
