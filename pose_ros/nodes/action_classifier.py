"""action_classifier: tracked skeletons in; actions, gesture events and joint angles out.

Works from skeletons alone. Each track id keeps a time window driven by header
stamps; gestures are sent as start/end events, actions at ``rate`` Hz, joint
angles with every skeleton frame.
"""
from __future__ import annotations

import math
import time

import numpy as np
from geometry_msgs.msg import Point, Vector3

from pose_ros.core.actions.learned import create_action_classifier
from pose_ros.core.features.pose import JOINT_ANGLE_NAMES, TrackWindow, joint_angle_array
from pose_ros.core.gestures.detector import GestureDetector, GestureEvent
from pose_ros.core.hands.events import HandSignEvents
from pose_ros.msg import Action, ActionArray, Gesture, GestureArray, JointAngles, JointAnglesArray, SkeletonArray
from pose_ros.nodes import conversions as conv
from pose_ros.nodes.action_params import ACTION_PARAMS
from pose_ros.nodes.diagnostics import ERROR, OK, WARN, Diagnostics, RateMeter, StageTimes, worst
from pose_ros.nodes.lifecycle import ManagedNode
from pose_ros.nodes.params import ParamSet
from pose_ros.nodes.pose_estimator import OUT_QOS
from pose_ros.nodes.ratelog import RateLimitedLog


def gesture_msg(e: GestureEvent) -> Gesture:
    g = Gesture(id=e.track_id, gesture=e.gesture, confidence=float(e.confidence),
                event=Gesture.EVENT_START if e.event == "start" else Gesture.EVENT_END,
                direction=float(e.direction), window_start=conv.sec_to_stamp(e.window_start),
                window_end=conv.sec_to_stamp(e.window_end))
    if e.ray_origin is not None and e.ray_direction is not None:
        g.has_ray = True
        g.ray_origin = Point(x=float(e.ray_origin[0]), y=float(e.ray_origin[1]), z=float(e.ray_origin[2]))
        g.ray_direction = Vector3(x=float(e.ray_direction[0]), y=float(e.ray_direction[1]),
                                  z=float(e.ray_direction[2]))
    return g


class ActionClassifierNode(ManagedNode):
    """configure: build detector and classifier; activate: subscribe; deactivate: unsubscribe."""

    def __init__(self, **kwargs) -> None:
        super().__init__("action_classifier", **kwargs)
        self.params = ParamSet(self, ACTION_PARAMS, on_change=self._on_param_change,
                               reload_allowed=self.reload_allowed)
        self.errors = RateLimitedLog(self.get_logger())
        self.detector: GestureDetector | None = None
        self.classifier = None
        self.windows: dict[str, TrackWindow] = {}
        self.last_seen: dict[str, float] = {}
        self._last_actions = -math.inf
        self.resets = 0  # stamps went back (bag loop): every window started over
        self.bad_input = 0  # malformed skeletons / messages skipped
        self._sub = None
        self.input = RateMeter()
        self.stages = StageTimes()
        self.diagnostics = Diagnostics(self, self._health)
        if self.params["autostart"]:
            self.autostart()

    def create_publishers(self) -> None:
        self.pub_actions = self.add_publisher(ActionArray, "actions", OUT_QOS)
        self.pub_gestures = self.add_publisher(GestureArray, "gestures", OUT_QOS)
        self.pub_angles = self.add_publisher(JointAnglesArray, "joint_angles", OUT_QOS)

    def configure_node(self) -> None:
        p = self.params
        self.detector = GestureDetector(**p.group("gestures"))
        g = p.group("gestures")
        self.signs = HandSignEvents(g["on_threshold"], g["off_threshold"], g["min_duration"], g["release_duration"])
        self.classifier = self._make_classifier()

    def _make_classifier(self):
        """The learned temporal model by default, the rules when asked.

        Missing or corrupt weights fail configure with a ModelError naming the file and the
        fix (under autostart the process exits with code 2): silently switching to the
        rules would publish different labels than the ones asked for.
        """
        p = self.params
        kind = p["actions.model"]
        opts = {"min_keypoint_score": p["min_keypoint_score"], "min_confidence": p["actions.min_confidence"]}
        if kind == "learned":
            return create_action_classifier("learned", weights_path=p["actions.weights"] or None, **opts)
        return create_action_classifier("rules", **opts)

    def _on_param_change(self, changes: dict) -> str | None:
        """Gesture thresholds go straight into the running detector (validated there)."""
        g = {k.split(".", 1)[1]: v for k, v in changes.items() if k.startswith("gestures.")}
        if g and self.detector is not None:
            try:
                self.detector.set_params(**g)
            except ValueError as exc:
                return f"rejected: {exc}"
            q = self.detector.params
            self.signs.set_thresholds(q.on_threshold, q.off_threshold, q.min_duration, q.release_duration)
        return None

    def activate_node(self) -> None:
        self._sub = self.create_subscription(SkeletonArray, "skeletons", self._on_skeletons, OUT_QOS)

    def deactivate_node(self) -> None:
        if self._sub is not None:
            self.destroy_subscription(self._sub)
            self._sub = None

    def cleanup_node(self) -> None:
        self.detector = self.classifier = None
        self.windows.clear()
        self.last_seen.clear()

    def _health(self):
        levels = []
        if self.transition_error:
            levels.append((ERROR, self.transition_error))
        elif not self.active:
            levels.append((OK, "inactive" if self.configured else "unconfigured"))
        elif self.input.idle_for() > self.params["diag.no_input_timeout"]:
            levels.append((WARN, "no skeletons received"))
        level, msg = worst(levels)
        return level, msg, [("input rate Hz", f"{self.input.rate():.1f}"), ("tracks", len(self.windows)),
                            ("classifier", type(self.classifier).__name__), ("stamp resets", self.resets),
                            ("bad input", self.bad_input)] \
            + self.input.gap_values("input") + self.stages.values()

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        if not self.active or self.detector is None:
            return
        self.input.gap = self.params["diag.no_input_timeout"]
        self.input.tick()
        t0 = time.perf_counter()
        try:
            self._process(msg)
        except conv.SkeletonError as exc:
            self._bad_input(exc)
        except Exception as exc:  # one bad message never stops the classifier
            self.errors.error(type(exc).__name__, f"skeletons skipped: {type(exc).__name__}: {exc}")
        self.stages.add({"classify": time.perf_counter() - t0})

    def _bad_input(self, exc: conv.SkeletonError) -> None:
        self.bad_input += 1
        self.errors.error(exc.kind, f"skeleton skipped: {exc}")

    def _process(self, msg: SkeletonArray) -> None:
        p = self.params
        conv.check_skeleton_array(msg)
        stamp = conv.stamp_to_sec(msg.header.stamp)
        # bag looped (or a frame stamped by another clock went by): start over. _last_actions
        # counts too: a far-future stamp on a frame without tracks would hold the actions back
        if stamp < max([self._last_actions, *self.last_seen.values()]) - 1e-6:
            self._end_all(msg, stamp)
        events: list[GestureEvent] = []
        angles = JointAnglesArray(header=msg.header)
        ids: set[str] = set()
        for s in msg.skeletons:
            if not s.id:
                continue  # untracked skeletons have no time window
            try:
                if s.id in ids:
                    raise conv.SkeletonError("duplicate id", f"track id {s.id[:64]!r} appears more than once "
                                             "in one SkeletonArray; only the first is used")
                person = conv.msg_to_person(s)
            except conv.SkeletonError as exc:
                self._bad_input(exc)
                continue
            ids.add(s.id)
            win = self.windows.setdefault(s.id, TrackWindow(p["window"]))
            win.add(stamp, person)
            self.last_seen[s.id] = stamp
            events += self.detector.update(s.id, stamp, person)
            if person.extra.get("hand_signs"):
                events += self.signs.update(s.id, stamp, person.extra["hand_signs"])
            vals = joint_angle_array(person.keypoints, min_score=p["min_keypoint_score"])
            angles.people.append(JointAngles(id=s.id, names=list(JOINT_ANGLE_NAMES),
                                             angles=[float(v) for v in np.asarray(vals).ravel()]))
        # tracks that disappeared: end their gestures, drop their windows
        for tid in [t for t, last in self.last_seen.items() if stamp - last > p["track_timeout"]]:
            events += self.detector.end_track(tid, stamp) + self.signs.end_track(tid, stamp)
            self.windows.pop(tid, None)
            self.last_seen.pop(tid, None)
        if events:
            self.pub_gestures.publish(GestureArray(header=msg.header, gestures=[gesture_msg(e) for e in events]))
        self.pub_angles.publish(angles)
        if stamp - self._last_actions >= 1.0 / p["rate"]:
            self._last_actions = stamp
            self._publish_actions(msg, stamp)

    def _publish_actions(self, msg: SkeletonArray, stamp: float) -> None:
        out = ActionArray(header=msg.header)
        for tid, win in self.windows.items():
            if self.last_seen.get(tid) != stamp:
                continue  # only people in this frame
            r = self.classifier.classify(win, self.detector.active(tid))
            out.actions.append(Action(id=tid, label=r.label, score=float(r.score),
                                      class_names=list(self.classifier.classes),
                                      class_scores=[float(v) for v in r.class_scores],
                                      window_start=conv.sec_to_stamp(r.window_start),
                                      window_end=conv.sec_to_stamp(r.window_end)))
        self.pub_actions.publish(out)

    def _end_all(self, msg: SkeletonArray, stamp: float) -> None:
        """Time went back (a bag looped): end every gesture, forget every window and track."""
        self.resets += 1
        self.get_logger().info(f"stamps went back to {stamp:.3f} s (bag loop?): all tracks and windows reset",
                               throttle_duration_sec=5.0)  # counted on /diagnostics; a flood logs little
        events = [e for tid in list(self.windows)
                  for e in self.detector.end_track(tid, stamp) + self.signs.end_track(tid, stamp)]
        if events:
            self.pub_gestures.publish(GestureArray(header=msg.header, gestures=[gesture_msg(e) for e in events]))
        self.detector.reset()
        self.signs.reset()
        self.windows.clear()
        self.last_seen.clear()
        self._last_actions = -math.inf
