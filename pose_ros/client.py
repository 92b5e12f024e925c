"""``PoseClient``: the rclpy side of :mod:`pose_ros.api`, one object with verbs.

    import rclpy
    from pose_ros.client import Gesture, PoseClient

    rclpy.init()
    pose = PoseClient()                       # a Node in namespace /pose
    if not pose.wait_until_active(timeout=30.0):
        raise SystemExit("pose_estimator is not active")
    pose.on_gesture(Gesture.WAVE_LEFT, lambda pid, event, header: print(pid, "waves"))
    while rclpy.ok():
        rclpy.spin_once(pose, timeout_sec=0.1)
        people = pose.people()                # None when nothing fresh (older than max_age)
        if people is not None and pose.doing(Gesture.HANDS_UP_BOTH):
            ...

Shaped like nav2's BasicNavigator: the client *is* a Node (spin it, or put it in your
executor), created in the pose graph's namespace (``namespace='/pose'``), so it reads
``<ns>/skeletons`` and ``<ns>/gestures`` and asks ``<ns>/pose_estimator/get_state``.
Started with ``-r __ns:=/x`` the node's namespace (and so the topics) follows the remap.

**Where a person stands**: :meth:`PoseClient.person_pose` gives the latest pose of a
person's ``body_<id>`` frame (hri_bridge's TF frame: hip centre, x the way they face,
z up) in any frame you name, through tf2_ros' Buffer when installed, else through the
latest /tf and /tf_static transforms chained (:mod:`pose_ros.core.transforms`; no
interpolation in time).

**Age of the data** is measured on this node's clock from when the skeletons were
*received*, not from their header stamp: the stamp comes from the camera's clock or a
file's media time, which need not be this node's clock; the receive time always is, and
under ``use_sim_time`` it is /clock time, so a paused bag replay ages too.
"""
from __future__ import annotations

import contextlib
import math
import threading
from enum import IntEnum
from typing import Callable

import numpy as np
from lifecycle_msgs.msg import State
from lifecycle_msgs.srv import GetState
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from std_msgs.msg import Header

from pose_ros.api import END, START, Gesture, GestureTracker, People, body_frame, gesture_name, to_numpy
from pose_ros.core.transforms import TransformTree
from pose_ros.msg import Gesture as GestureMsg
from pose_ros.msg import GestureArray, SkeletonArray

__all__ = ["EstimatorState", "Gesture", "GestureCallback", "PoseClient"]

QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)

# callback(person id, the Gesture message (direction, 3D ray, confidence), the GestureArray's header:
# the stamp and frame_id of the image the event came from)
GestureCallback = Callable[[str, GestureMsg, Header], None]


class EstimatorState(IntEnum):
    """pose_estimator's lifecycle state (lifecycle_msgs/State primary states)."""

    UNKNOWN = State.PRIMARY_STATE_UNKNOWN
    UNCONFIGURED = State.PRIMARY_STATE_UNCONFIGURED
    INACTIVE = State.PRIMARY_STATE_INACTIVE
    ACTIVE = State.PRIMARY_STATE_ACTIVE
    FINALIZED = State.PRIMARY_STATE_FINALIZED


class PoseClient(Node):
    """Who is there, who does what, and is the estimator running: see the module doc."""

    def __init__(self, node_name: str = "pose_client", namespace: str = "/pose", *, max_age: float = 0.5,
                 **node_kwargs) -> None:
        if not (max_age > 0 and math.isfinite(max_age)):
            raise ValueError(f"max_age must be a positive number of seconds, got {max_age!r}")
        super().__init__(node_name, namespace=namespace, **node_kwargs)
        self.max_age = float(max_age)
        self._lock = threading.Lock()
        self._tracker = GestureTracker()
        self._msg: SkeletonArray | None = None
        self._people: People | None = None
        self._received_ns: int | None = None   # node clock when the latest skeletons arrived
        self._gesture_cbs: dict[tuple[str, int], list[GestureCallback]] = {}
        self._people_cbs: list[Callable[[People], None]] = []
        self.create_subscription(SkeletonArray, "skeletons", self._on_skeletons, QOS)
        self.create_subscription(GestureArray, "gestures", self._on_gestures, QOS)
        self._get_state = self.create_client(GetState, "pose_estimator/get_state")
        self._own_executor = None  # a private one, only while nobody else spins this node
        self._frames: _Frames | None = None  # /tf listener, from the first person_pose()

    # -- skeletons -------------------------------------------------------------------------
    def people(self, max_age: float | None = None) -> People | None:
        """The latest skeletons as numpy (:class:`pose_ros.api.People`), or None when none arrived
        within ``max_age`` seconds (default: the constructor's) of this node's clock."""
        with self._lock:
            if self._msg is None or self.age() > (self.max_age if max_age is None else max_age):
                return None
            if self._people is None:
                self._people = to_numpy(self._msg)
            return self._people

    def age(self) -> float:
        """Seconds (node clock) since the latest skeletons arrived; inf before the first."""
        if self._received_ns is None:
            return math.inf
        return max(0.0, (self.get_clock().now().nanoseconds - self._received_ns) * 1e-9)

    def on_people(self, callback: Callable[[People], None]) -> None:
        """Call ``callback(people)`` for every skeletons message (in the executor's thread)."""
        self._people_cbs.append(callback)

    def _on_skeletons(self, msg: SkeletonArray) -> None:
        people = to_numpy(msg)
        with self._lock:
            self._msg, self._people = msg, people
            self._received_ns = self.get_clock().now().nanoseconds
        for cb in list(self._people_cbs):
            cb(people)

    # -- gestures ----------------------------------------------------------------------------
    def is_doing(self, person_id: str, gesture: Gesture | str) -> bool:
        """Whether ``person_id`` is doing ``gesture`` now (from START/END events); ValueError for unknown names."""
        with self._lock:
            return self._tracker.is_doing(person_id, gesture)

    def doing(self, gesture: Gesture | str) -> list[str]:
        """Ids doing ``gesture`` now, in the order they started."""
        with self._lock:
            return self._tracker.people_with(gesture)

    def gestures_of(self, person_id: str) -> set[Gesture]:
        """Everything ``person_id`` is doing now."""
        with self._lock:
            return {Gesture(g) for g in self._tracker.active(person_id) if g in Gesture._value2member_map_}

    def on_gesture(self, gesture: Gesture | str, callback: GestureCallback, *, end: bool = False) -> None:
        """Call ``callback(person_id, event, header)`` when someone starts ``gesture`` (ends it, with
        ``end=True``). Unknown names raise ValueError here, not silence later. Runs in the executor's
        thread, after is_doing()/doing() already reflect the whole message."""
        key = (gesture_name(gesture).value, END if end else START)
        self._gesture_cbs.setdefault(key, []).append(callback)

    def _on_gestures(self, msg: GestureArray) -> None:
        with self._lock:
            events = self._tracker.update(msg)
        for g in events:
            for cb in list(self._gesture_cbs.get((g.gesture, g.event), ())):
                cb(g.id, g, msg.header)

    # -- where a person stands ------------------------------------------------------------------
    def person_pose(self, person_id: str, frame: str) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
        """Position (3,) metres and orientation (x, y, z, w) of ``person_id``'s body frame in ``frame``
        (e.g. ``map``, ``base_link``, the camera's), from the latest transforms; None until hri_bridge
        has broadcast it (the person needs 3D keypoints: depth) and ``frame`` connects to it.
        Also None when the person is not in the latest fresh skeletons (gone, or no data for max_age s):
        their last frame stays on /tf, but it is no longer where they are.
        The first call starts listening to /tf and /tf_static."""
        if self._frames is None:
            self._frames = _Frames(self)
        people = self.people()
        if people is None or person_id not in people.ids:
            return None
        return self._frames.lookup(frame, body_frame(person_id))

    # -- the estimator's lifecycle -------------------------------------------------------
    def estimator_state(self, timeout: float = 2.0) -> EstimatorState:
        """pose_estimator's lifecycle state; UNKNOWN when its service does not answer within ``timeout``."""
        if not self._get_state.wait_for_service(timeout_sec=timeout):
            return EstimatorState.UNKNOWN
        res = self._call(self._get_state, GetState.Request(), timeout)
        if res is None:
            return EstimatorState.UNKNOWN
        try:
            return EstimatorState(res.current_state.id)
        except ValueError:  # a transition state (configuring, activating, ...)
            return EstimatorState.UNKNOWN

    def wait_until_active(self, timeout: float = 30.0, poll: float = 0.5) -> bool:
        """Block until pose_estimator is ACTIVE (True) or ``timeout`` s of wall time pass (False)."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if self.estimator_state(timeout=max(0.05, min(2.0, left))) == EstimatorState.ACTIVE:
                return True
            if deadline - time.monotonic() <= 0:
                return False
            self._idle(min(poll, max(0.0, deadline - time.monotonic())))

    def _spun_elsewhere(self) -> bool:
        """In an executor (that the application spins); rclpy's spin helpers remove the node again
        but leave ``Node.executor`` set, so membership is what counts."""
        ex = self.executor
        return ex is not None and self in ex.get_nodes()

    @contextlib.contextmanager
    def _spinning(self):
        """This node in a private executor of its own context for the block (nobody else spins it)."""
        from rclpy.executors import SingleThreadedExecutor
        if self._own_executor is None:
            self._own_executor = SingleThreadedExecutor(context=self.context)
        self._own_executor.add_node(self)
        try:
            yield self._own_executor
        finally:
            self._own_executor.remove_node(self)

    def destroy_node(self) -> None:
        if self._own_executor is not None:
            self._own_executor.shutdown(timeout_sec=1.0)
            self._own_executor = None
        super().destroy_node()

    def _call(self, client, request, timeout: float):
        """A service call that works whether or not someone else spins this node."""
        future = client.call_async(request)
        if not self._spun_elsewhere():  # spin just for this call
            with self._spinning() as ex:
                ex.spin_until_future_complete(future, timeout_sec=timeout)
        else:
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            done.wait(timeout)
        if not future.done():
            future.cancel()
            return None
        return future.result()

    def _idle(self, seconds: float) -> None:
        import time
        if not self._spun_elsewhere():
            end = time.monotonic() + seconds
            with self._spinning() as ex:
                while time.monotonic() < end:  # keep receiving skeletons and gestures meanwhile
                    ex.spin_once(timeout_sec=max(0.0, end - time.monotonic()))
        else:
            time.sleep(seconds)


class _Frames:
    """/tf and /tf_static for person_pose: tf2_ros' Buffer when installed, else a TransformTree."""

    def __init__(self, node: Node) -> None:
        try:
            from tf2_ros import Buffer, TransformListener
        except ImportError:   # the PyPI venv has no tf2_ros
            Buffer = None
        if Buffer is not None:
            self.buffer, self.tree = Buffer(), None
            self._listener = TransformListener(self.buffer, node)
            return
        from rclpy.qos import DurabilityPolicy
        from tf2_msgs.msg import TFMessage
        self.buffer, self.tree, self._lock = None, TransformTree(), threading.Lock()
        node.create_subscription(TFMessage, "/tf", self._on_tf, QoSProfile(depth=100))
        node.create_subscription(TFMessage, "/tf_static", self._on_tf,
                                 QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL))

    def _on_tf(self, msg) -> None:
        with self._lock:
            for t in msg.transforms:
                tr, q = t.transform.translation, t.transform.rotation
                self.tree.set(t.header.frame_id, t.child_frame_id, (tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w),
                              t.header.stamp.sec + t.header.stamp.nanosec * 1e-9)

    def lookup(self, target: str, source: str):
        if self.buffer is not None:
            from rclpy.time import Time
            try:
                t = self.buffer.lookup_transform(target, source, Time()).transform
            except Exception:  # tf2 LookupException, ConnectivityException, ExtrapolationException
                return None
            tr, q = t.translation, t.rotation
            return np.array([tr.x, tr.y, tr.z]), (q.x, q.y, q.z, q.w)
        from pose_ros.core.hri import quaternion_from_matrix
        with self._lock:
            found = self.tree.lookup(target, source)
        if found is None:
            return None
        pose, _ = found
        return pose.translation.copy(), quaternion_from_matrix(pose.rotation)
