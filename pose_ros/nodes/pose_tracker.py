"""pose_tracker: ids, track states and smoothing for any SkeletonArray source.

pose_estimator tracks by itself (``tracking: true``); this node is for skeletons
from elsewhere (another estimator, a bag recorded untracked): ``skeletons_in`` in,
``skeletons`` and ``markers`` out, headers unchanged.

A plain node, not a lifecycle one, like video_source and hri_bridge: the lifecycle is for
nodes that hold something costly to load and free (pose_estimator's model, the action
classifier's), which configure loads and cleanup frees. This node loads nothing, costs
nothing without input, and its only state is the tracks; "inactive" would only mean
"drop the input", which stopping the upstream does as well.
"""
from __future__ import annotations

import threading

from visualization_msgs.msg import MarkerArray

from pose_ros.core.tracking.smoothing import SkeletonSmoother
from pose_ros.core.pipeline import CameraModel
from pose_ros.core.tracking.tracker import Tracker
from pose_ros.msg import SkeletonArray
from pose_ros.nodes import conversions as conv
from pose_ros.nodes.diagnostics import OK, Diagnostics, RateMeter
from pose_ros.nodes.estimator_params import ESTIMATOR_PARAMS
from pose_ros.nodes.markers import build_markers
from pose_ros.nodes.live_params import apply_live_params
from pose_ros.nodes.params import ParamSet
from pose_ros.nodes.qos import OUT_QOS
from pose_ros.nodes.ratelog import RateLimitedLog
from rclpy.node import Node

_SHARED = ("smoothing", "publish_velocities", "publish_markers", "marker_plane_depth", "draw_min_score")
TRACKER_NODE_PARAMS = [p for p in ESTIMATOR_PARAMS
                       if p.name in _SHARED or p.name.startswith(("tracker.", "smoother."))]


class PoseTrackerNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("pose_tracker", **kwargs)
        # reload names are refused in _on_param_change, with this node's own reason (no lifecycle here)
        self.params = ParamSet(self, TRACKER_NODE_PARAMS, on_change=self._on_param_change,
                               reload_allowed=lambda: True)
        self._proc_lock = threading.Lock()  # one frame or one parameter change at a time
        p = self.params
        self.tracker = Tracker(**p.group("tracker"))
        self.smoother = SkeletonSmoother(**p.group("smoother")) if p["smoothing"] else None
        self.pub = self.create_publisher(SkeletonArray, "skeletons", OUT_QOS)
        self.pub_markers = self.create_publisher(MarkerArray, "markers", OUT_QOS)
        self.create_subscription(SkeletonArray, "skeletons_in", self._on_skeletons, OUT_QOS)
        self.input = RateMeter()
        self.errors = RateLimitedLog(self.get_logger())
        self.stats = {"received": 0, "bad_input": 0, "failed": 0}
        self.diagnostics = Diagnostics(self, lambda: (OK, "ok", [
            ("input rate Hz", f"{self.input.rate():.1f}"), ("tracks", self.tracker.num_tracks),
            ("stamp resets", self.tracker.resets), ("received", self.stats["received"]),
            ("bad input", self.stats["bad_input"]), ("failed", self.stats["failed"])]))

    def _on_param_change(self, changes: dict) -> str | None:
        """``tracker.*`` / ``smoother.*`` go into the running tracker and smoother (checked there)."""
        fixed = sorted(n for n in changes if next(s for s in TRACKER_NODE_PARAMS if s.name == n).reload)
        if fixed:
            return f"{', '.join(fixed)} can only be set at start: restart pose_tracker with the new value"
        return apply_live_params(self._proc_lock, self, changes, self.params.values)

    def _bad_input(self, exc: conv.SkeletonError) -> None:
        self.stats["bad_input"] += 1
        self.errors.error(exc.kind, f"skeleton skipped: {exc}")

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        self.input.tick()
        self.stats["received"] += 1
        try:
            people = conv.msg_to_people(msg, on_error=self._bad_input)  # malformed skeletons are left out
        except conv.SkeletonError as exc:
            self._bad_input(exc)
            return
        try:
            with self._proc_lock:
                self._process(msg, people)
        except Exception as exc:  # one bad message never stops the tracker
            self.stats["failed"] += 1
            self.errors.error(type(exc).__name__, f"skeletons skipped: {type(exc).__name__}: {exc}")

    def _process(self, msg: SkeletonArray, people: list) -> None:
        p = self.params
        stamp = conv.stamp_to_sec(msg.header.stamp)
        people = self.tracker.update(people, stamp)
        if self.smoother is not None:
            people = self.smoother.apply(people, stamp, velocities=p["publish_velocities"])
        self.pub.publish(conv.people_to_msg(people, msg.header, msg.image_width, msg.image_height))
        if p["publish_markers"] and self.pub_markers.get_subscription_count() > 0:  # RViz only
            cam = CameraModel.guess(max(msg.image_width, 1), max(msg.image_height, 1))
            self.pub_markers.publish(build_markers(people, msg.header, cam, p["marker_plane_depth"],
                                                   p["draw_min_score"]))
