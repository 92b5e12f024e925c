"""action_classifier: tracked skeletons in; actions, gesture events and joint angles out.

Works from skeletons alone. Each track id keeps a time window driven by header
stamps; gestures are sent as start/end events, actions at ``rate`` Hz, joint
angles with every skeleton frame.
"""
from __future__ import annotations

import threading
import time

from geometry_msgs.msg import Point, Vector3

from pose_ros.core.actions.stage import ActionStage, StageResult
from pose_ros.core.features.pose import JOINT_ANGLE_NAMES
from pose_ros.core.gestures.params import GestureEvent
from pose_ros.msg import Action, ActionArray, Gesture, GestureArray, JointAngles, JointAnglesArray, SkeletonArray
from pose_ros.nodes import conversions as conv
from pose_ros.nodes.action_params import ACTION_PARAMS
from pose_ros.nodes.diagnostics import ERROR, OK, WARN, Diagnostics, RateMeter, StageTimes, worst
from pose_ros.nodes.lifecycle import ManagedNode
from pose_ros.nodes.params import ParamSet, group
from pose_ros.nodes.qos import OUT_QOS
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


_NO_CLASSIFIER = object()   # stands in for the model when a stage is built only to check values


def _stage_options(values: dict) -> dict:
    """ActionStage keywords (but the classifier's) from the node's parameter values."""
    return dict(window=values["window"], track_timeout=values["track_timeout"], rate=values["rate"],
                min_keypoint_score=values["min_keypoint_score"], gestures=group(values, "gestures"))


class ActionClassifierNode(ManagedNode):
    """configure: build the action stage; activate: subscribe; deactivate: unsubscribe.

    All the per-track logic is :class:`ActionStage`; this node converts messages, calls
    it and publishes what it returns.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("action_classifier", **kwargs)
        self.params = ParamSet(self, ACTION_PARAMS, on_change=self._on_param_change,
                               reload_allowed=self.reload_allowed)
        self.errors = RateLimitedLog(self.get_logger())
        self.stage: ActionStage | None = None
        self._proc_lock = threading.Lock()  # one frame or one parameter change at a time
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
        """The learned temporal model by default, the rules when asked.

        Missing or corrupt weights fail configure with a ModelError naming the file and the
        fix (under autostart the process exits with code 2): silently switching to the
        rules would publish different labels than the ones asked for.
        """
        self.stage = ActionStage(**_stage_options(self.params.values), model=self.params["actions.model"],
                                 weights=self.params["actions.weights"] or None,
                                 min_confidence=self.params["actions.min_confidence"])

    def _on_param_change(self, changes: dict) -> str | None:
        """Live parameters are checked always (a stage built from every value, without its
        classifier), also while unconfigured, then go into the running stage (all or nothing)."""
        merged = {**self.params.values, **changes}
        try:
            ActionStage(**_stage_options(merged), classifier=_NO_CLASSIFIER)
        except (TypeError, ValueError) as exc:
            return f"rejected: {exc}"
        kw = {k: v for k, v in changes.items() if k in ("track_timeout", "rate", "min_keypoint_score")}
        g = {k.split(".", 1)[1]: v for k, v in changes.items() if k.startswith("gestures.")}
        if g:
            kw["gestures"] = g
        if not kw:
            return None
        with self._proc_lock:  # never between two tracks of one frame
            if self.stage is None:
                return None
            try:
                self.stage.set_params(**kw)
            except (TypeError, ValueError) as exc:
                return f"rejected: {exc}"
        return None

    def activate_node(self) -> None:
        self._sub = self.create_subscription(SkeletonArray, "skeletons", self._on_skeletons, OUT_QOS)

    def deactivate_node(self) -> None:
        if self._sub is not None:
            self.destroy_subscription(self._sub)
            self._sub = None

    def cleanup_node(self) -> None:
        with self._proc_lock:
            self.stage = None

    def _health(self):
        levels = []
        if self.transition_error:
            levels.append((ERROR, self.transition_error))
        elif not self.active:
            levels.append((OK, "inactive" if self.configured else "unconfigured"))
        elif self.input.idle_for() > self.params["diag.no_input_timeout"]:
            levels.append((WARN, "no skeletons received"))
        level, msg = worst(levels)
        st = self.stage
        return level, msg, [("input rate Hz", f"{self.input.rate():.1f}"),
                            ("tracks", len(st.windows) if st else 0),
                            ("classifier", type(st.classifier).__name__ if st else "NoneType"),
                            ("stamp resets", st.resets if st else 0),
                            ("bad input", self.bad_input)] \
            + self.input.gap_values("input") + self.stages.values()

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        if not self.active or self.stage is None:
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
        conv.check_skeleton_array(msg)
        stamp = conv.stamp_to_sec(msg.header.stamp)
        people = []
        ids: set[str] = set()
        for s in msg.skeletons:
            if not s.id:
                continue  # untracked skeletons have no time window
            try:
                if s.id in ids:
                    raise conv.SkeletonError("duplicate id", f"track id {s.id[:64]!r} appears more than once "
                                             "in one SkeletonArray; only the first is used")
                people.append((s.id, conv.msg_to_person(s)))
            except conv.SkeletonError as exc:
                self._bad_input(exc)
                continue
            ids.add(s.id)
        with self._proc_lock:
            if self.stage is None:
                return
            classes = list(self.stage.classifier.classes)
            r = self.stage.update(stamp, people)
        self._publish(msg, r, classes)

    def _publish(self, msg: SkeletonArray, r: StageResult, classes: list[str]) -> None:
        if r.reset:
            self.get_logger().info(f"stamps went back to {conv.stamp_to_sec(msg.header.stamp):.3f} s (bag loop?): "
                                   "all tracks and windows reset",
                                   throttle_duration_sec=5.0)  # counted on /diagnostics; a flood logs little
            if r.reset_events:
                self.pub_gestures.publish(GestureArray(header=msg.header,
                                                       gestures=[gesture_msg(e) for e in r.reset_events]))
        if r.events:
            self.pub_gestures.publish(GestureArray(header=msg.header, gestures=[gesture_msg(e) for e in r.events]))
        self.pub_angles.publish(JointAnglesArray(header=msg.header, people=[
            JointAngles(id=tid, names=list(JOINT_ANGLE_NAMES), angles=[float(v) for v in a.ravel()])
            for tid, a in r.angles]))
        if r.actions is not None:
            self.pub_actions.publish(ActionArray(header=msg.header, actions=[
                Action(id=tid, label=a.label, score=float(a.score), class_names=classes,
                       class_scores=[float(v) for v in a.class_scores],
                       window_start=conv.sec_to_stamp(a.window_start), window_end=conv.sec_to_stamp(a.window_end))
                for tid, a in r.actions]))

