"""pose_estimator: images in; skeletons, markers and an annotated image out.

The subscription callback only stores the newest frame (and one older while two
frames' work fits in a frame interval, :mod:`pose_ros.core.intake`); a worker thread
runs the pipeline on them. When inference is slower than the camera, old frames are
dropped (and counted) instead of queued, so outputs are never stale.
"""
from __future__ import annotations

import math
import threading
import time

from hri_msgs.msg import IdsList
from rclpy.qos import QoSHistoryPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from pose_ros.core.budget import BudgetController
from pose_ros.core.detection import BackendError, VideoBackend, create_backend
from pose_ros.core.draw import draw_people
from pose_ros.core.hri import track_id
from pose_ros.core.imaging.depth_sync import DepthSync
from pose_ros.core.imaging.raw import ImageError
from pose_ros.core.intake import FrameIntake
from pose_ros.core.models import ModelError
from pose_ros.core.pipeline import CameraModel, PosePipeline
from pose_ros.msg import ActionArray, SkeletonArray
from pose_ros.nodes import conversions as conv
from pose_ros.nodes.diagnostics import Diagnostics
from pose_ros.nodes.estimator_health import BAD_DEPTH, EstimatorHealth
from pose_ros.nodes.estimator_params import ESTIMATOR_PARAMS, backend_options, pipeline_options
from pose_ros.nodes.lifecycle import ManagedNode
from pose_ros.nodes.live_params import apply_live_params
from pose_ros.nodes.markers import build_markers
from pose_ros.nodes.params import ParamSet
from pose_ros.nodes.qos import OUT_QOS, image_qos
from pose_ros.nodes.ratelog import RateLimitedLog

_SPECS = {p.name: p for p in ESTIMATOR_PARAMS}
MAX_ATTENDED = 16    # ids read from one attention message (a robot attends to a few people)


class PoseEstimatorNode(ManagedNode):
    """configure: load and check the model; activate: subscribe; deactivate: unsubscribe (idle)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("pose_estimator", **kwargs)
        self.params = ParamSet(self, ESTIMATOR_PARAMS, on_change=self._on_param_change,
                               reload_allowed=self.reload_allowed)
        self.errors = RateLimitedLog(self.get_logger())
        self.stats = {"received": 0, "processed": 0, "dropped": 0, "bad_input": 0}
        self.last_timings: dict[str, float] = {}
        self.stage_totals: dict[str, float] = {}   # replaced whole per frame, never changed in place
        self._cond = threading.Condition()
        self._proc_lock = threading.Lock()
        self._intake = FrameIntake()  # (kind, msg) frames waiting: the newest, one older when both fit
        self.budget: BudgetController | None = None   # crops per frame for a video backend (thunder)
        self._running = True
        self._camera: CameraModel | None = None
        self._depth = DepthSync()  # recent depth messages by stamp + the latest CameraInfo, for 3D
        self._actions: dict[str, tuple[str, float]] = {}  # track id -> (label, stamp s) from action_classifier
        self._attention: frozenset[str] = frozenset()     # track ids the robot interacts with (topic attention)
        self._subs: list = []
        self._dirty = False  # a reload parameter changed while inactive
        self.pipeline: PosePipeline | None = None
        self.backend_error: str | None = None
        self.health = EstimatorHealth(self)
        self.diagnostics = Diagnostics(self, self.health.collect)
        self._worker = threading.Thread(target=self._work, name="pose_estimator_worker", daemon=True)
        self._worker.start()
        if self.params["autostart"]:
            self.autostart()

    # -- lifecycle -----------------------------------------------------------------------
    def create_publishers(self) -> None:
        self.pub_skeletons = self.add_publisher(SkeletonArray, "skeletons", OUT_QOS)
        self.pub_markers = self.add_publisher(MarkerArray, "markers", OUT_QOS)
        self.pub_annotated = self.add_publisher(Image, "image_annotated", OUT_QOS)

    def configure_node(self) -> None:
        p = self.params
        name = p["backend"]
        self.backend_error = None
        try:
            backend = create_backend(name, param_prefix=f"{name}.", **backend_options(name, p.group(name)))
        except ModelError as exc:  # the message names the file, the parameter and the fix
            self.backend_error = f"backend '{name}': {exc}"
            raise ModelError(self.backend_error) from None
        except (BackendError, ValueError, TypeError) as exc:
            self.backend_error = f"backend '{name}' unavailable: {exc}"
            raise BackendError(self.backend_error) from None
        try:
            pipeline = PosePipeline(backend, **pipeline_options(p.values))
        except ModelError as exc:  # the hand sign model
            backend.close()
            self.backend_error = f"hand signs: {exc}"
            raise ModelError(self.backend_error) from None
        except Exception:
            backend.close()
            raise
        try:
            pipeline.warmup()
        except Exception as exc:  # a backend that cannot run at all is reported like one that cannot load
            pipeline.close()
            self.backend_error = f"backend '{name}' failed on a test frame: {exc}"
            raise BackendError(self.backend_error) from None
        self.pipeline = pipeline
        pipeline.set_attention(self._attention)
        self.budget = (BudgetController(backend.crop_budget, backend.adaptive_budget)
                       if isinstance(backend, VideoBackend) and hasattr(backend, "crop_budget") else None)
        self._dirty = False
        self.get_logger().info(f"backend {name}: {backend.model}")

    def activate_node(self) -> None:
        if self._dirty:  # backend/model parameters changed while inactive: load again
            self.cleanup_node()
            self.configure_node()
        p = self.params
        qos = image_qos(p["image_reliability"])
        if p["compressed"]:
            self._subs.append(self.create_subscription(CompressedImage, "image/compressed", self._on_compressed, qos))
        else:
            self._subs.append(self.create_subscription(Image, "image", self._on_image, qos))
        if p["use_depth"]:  # every depth frame is kept (up to the pairing buffer), not only the newest
            depth_qos = QoSProfile(depth=16, reliability=qos.reliability, history=QoSHistoryPolicy.KEEP_LAST)
            self._subs.append(self.create_subscription(Image, "depth", self._on_depth, depth_qos))
        self._subs.append(self.create_subscription(CameraInfo, "camera_info", self._on_info, qos_profile_sensor_data))
        if p["publish_annotated"]:  # the classifier's labels, drawn beside each id
            self._subs.append(self.create_subscription(ActionArray, "actions", self._on_actions, OUT_QOS))
        self._subs.append(self.create_subscription(IdsList, "attention", self._on_attention, OUT_QOS))

    def deactivate_node(self) -> None:
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs.clear()
        with self._cond:
            self._intake.clear()
        self._depth.clear()

    def cleanup_node(self) -> None:
        with self._proc_lock:
            if self.pipeline is not None:
                self.pipeline.close()
            self.pipeline = None

    def _on_param_change(self, changes: dict) -> str | None:
        """Live thresholds are checked (always, also with no pipeline) and go into the running
        tracker/smoother, all or nothing; reload ones wait for activate."""
        reason = apply_live_params(self._proc_lock, self.pipeline, changes, self.params.values)
        if reason is None and any(_SPECS[name].reload for name in changes):
            self._dirty = True
        return reason

    # -- inputs --------------------------------------------------------------------------
    def _offer(self, kind: str, msg) -> None:
        self.health.input_tick()
        with self._cond:
            self.stats["received"] += 1
            now = time.monotonic()
            if self.budget is not None:
                self.budget.arrived(now)
            self.stats["dropped"] += self._intake.offer((kind, msg), now)
            self._cond.notify()

    def _on_image(self, msg: Image, info: dict) -> None:
        self.health.sequence(info.get("publication_sequence_number"))
        self._offer("raw", msg)

    def _on_compressed(self, msg: CompressedImage, info: dict) -> None:
        self.health.sequence(info.get("publication_sequence_number"))
        self._offer("compressed", msg)

    def _on_depth(self, msg: Image) -> None:
        self._depth.add(conv.stamp_to_sec(msg.header.stamp), msg)

    def _on_actions(self, msg: ActionArray) -> None:
        """Keep the newest label per track (executor thread); tracks gone for 2 s are forgotten."""
        stamp = conv.stamp_to_sec(msg.header.stamp)
        labels = {k: v for k, v in self._actions.items() if abs(stamp - v[1]) <= 2.0}
        labels.update((a.id, (a.label, stamp)) for a in msg.actions)
        self._actions = labels  # one reference swap: the worker reads a complete dict

    def _on_attention(self, msg: IdsList) -> None:
        """Whom the robot interacts with: track ids, or REP-155 body ids (``b`` + track id, as
        hri_bridge names them). Posed first every frame; the list holds until the next one."""
        ids = {i for i in msg.ids[:MAX_ATTENDED] if 0 < len(i) <= 64}
        ids |= {track_id(i) for i in ids}   # b<id> -> <id>; a plain track id stays as it is
        self._attention = frozenset(ids)
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.set_attention(self._attention)

    def _labels(self, stamp: float) -> dict[str, str]:
        """Current action per track id at image time ``stamp`` (labels older than 2 s are stale)."""
        return {k: v[0] for k, v in self._actions.items() if abs(stamp - v[1]) <= 2.0}

    def _on_info(self, msg: CameraInfo) -> None:
        if msg.k[0] > 0:
            self._camera = CameraModel.from_k(msg.k)
            self._depth.set_camera(self._camera)

    # -- processing ----------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._intake and self._running:
                    self._cond.wait(0.5)
                if not self._running:
                    return
                kind, msg = self._intake.take()
            t0 = time.perf_counter()
            try:
                with self._proc_lock:  # cleanup waits for the frame in hand
                    self.process(kind, msg)
            except Exception as exc:  # never let one bad frame kill the worker
                self.errors.error(type(exc).__name__, f"frame skipped: {type(exc).__name__}: {exc}")
            with self._cond:
                self._intake.done(time.perf_counter() - t0)

    def process(self, kind: str, msg) -> None:
        if self.pipeline is None or not self.active:
            return
        t0 = time.perf_counter()
        try:
            rgb = conv.compressed_msg_to_rgb(msg) if kind == "compressed" else conv.image_msg_to_rgb(msg)
        except ImageError as exc:
            self.stats["bad_input"] += 1
            self.errors.error(conv.image_problem(exc), f"image skipped: {exc}")
            return
        h, w = rgb.shape[:2]
        depth, camera = self._depth_for(msg, w, h)
        t1 = time.perf_counter()
        budget = self.budget.budget if self.budget is not None else None
        result = self.pipeline.process(rgb, conv.stamp_to_sec(msg.header.stamp), depth, camera, budget)
        t2 = time.perf_counter()
        with self._cond:   # before the answer goes out: in lock-step the next frame follows it at once
            behind = bool(self._intake)
        self.pub_skeletons.publish(conv.people_to_msg(result.people, msg.header, w, h))
        p = self.params
        if p["publish_markers"] and self.pub_markers.get_subscription_count() > 0:
            self.pub_markers.publish(build_markers(
                result.people, msg.header, camera or self._camera or CameraModel.guess(w, h),
                plane_depth=p["marker_plane_depth"], min_score=p["draw_min_score"]))
        t3 = time.perf_counter()
        if p["publish_annotated"] and self.pub_annotated.get_subscription_count() > 0:
            bgr = rgb[:, :, ::-1].copy()  # our own buffer to draw on
            labels = self._labels(conv.stamp_to_sec(msg.header.stamp))
            draw_people(bgr, result.people, p["draw_min_score"], actions=labels)
            self.pub_annotated.publish(conv.bgr_to_image_msg(bgr, msg.header))
        t4 = time.perf_counter()
        self.stats["processed"] += 1
        self.last_timings = {"convert": t1 - t0, **result.timings, "publish": t3 - t2, "annotate": t4 - t3}
        self.health.frame_done(msg.header.stamp, len(result.people), self.last_timings)
        if self.budget is not None:
            self._account(t4 - t0, result, behind)
        totals = dict(self.stage_totals)
        for k, v in self.last_timings.items():
            totals[k] = totals.get(k, 0.0) + v
        self.stage_totals = totals   # one reference swap: readers on other threads see a complete dict

    def _account(self, busy_s: float, result, behind: bool) -> None:
        """Tell the budget what this frame cost and whether the next one was already waiting
        when its skeletons were published (later, a lock-step player has sent the next one)."""
        info = self.pipeline.backend.frame_info
        self.budget.frame_done(busy_s, float(info.get("crop_s", 0.0)), result.units, behind,
                               float(info.get("demand", math.inf)))
        self.health.budget_result(result.people, result.units, self._attention)

    def _depth_for(self, msg, w: int, h: int):
        """(depth in metres, intrinsics) for this frame, or (None, None) with the reason counted.

        The depth image nearest in stamp time within depth_max_offset, after waiting up to
        depth_wait for one stamped at or after the image (core.imaging.depth_sync says why).
        """
        p = self.params
        if not p["use_depth"]:
            return None, None
        stamp = conv.stamp_to_sec(msg.header.stamp)
        self._depth.wait_settled(stamp, p["depth_wait"])
        pairing = self._depth.pair(stamp, p["depth_max_offset"])
        if pairing.reason is not None:
            self.health.depth_result(pairing.reason, pairing.explain(p["depth_max_offset"]), pairing.offset)
            return None, None
        try:
            depth = conv.depth_msg_to_metres(pairing.depth)
        except ImageError as exc:
            self.errors.error("depth " + conv.image_problem(exc), f"depth skipped: {exc}")
            self.health.depth_result(BAD_DEPTH, f"{BAD_DEPTH}: {exc}", pairing.offset)
            return None, None
        self.health.depth_result(None, "", pairing.offset)
        return depth, pairing.camera

    def destroy_node(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        self._worker.join(timeout=5.0)
        self.cleanup_node()
        super().destroy_node()
