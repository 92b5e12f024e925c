"""Play a rosbag2 bag into the live ROS graph with rclpy (what ``ros2 bag play`` does).

Messages are published as the raw CDR bytes stored in the bag (``Publisher.publish``
accepts serialized ``bytes``), so nothing is decoded and any type whose Python
message package is installed plays, our own messages included.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from pathlib import Path

from rosbags.interfaces import QosDurability, QosHistory, QosReliability

from pose_ros.bag.common import (
    DEPTH_ENCODINGS,
    BagError,
    header_stamp_ns,
    image_encoding,
    open_reader,
    ros_class,
    ros_close,
    ros_init,
    select_connections,
)
from pose_ros.spin import BackgroundSpin


def _qos(profiles):
    """Recorded offered QoS -> rclpy QoSProfile (reliable, volatile, depth 10 when unknown)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    rel, dur, depth = ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE, 10
    if profiles:
        q = profiles[0]
        if q.reliability == QosReliability.BEST_EFFORT:
            rel = ReliabilityPolicy.BEST_EFFORT
        if q.durability == QosDurability.TRANSIENT_LOCAL:
            dur = DurabilityPolicy.TRANSIENT_LOCAL
        if q.history == QosHistory.KEEP_LAST and q.depth > 0:
            depth = q.depth
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=rel, durability=dur)


def _remap(topic: str, remaps: dict[str, str]) -> str:
    norm = {(k if k.startswith("/") else "/" + k): (v if v.startswith("/") else "/" + v) for k, v in remaps.items()}
    return norm.get(topic, topic)


def wait_for_subscribers(pubs, timeout: float, stop: threading.Event, settle: float = 1.0) -> bool:
    """Wait until every publisher has a subscriber, or some have and ``settle`` s passed, or timeout.

    Returns True when at least one publisher is matched.
    """
    deadline = time.monotonic() + timeout
    first = None
    while not stop.is_set():
        matched = [p.get_subscription_count() > 0 for p in pubs]
        now = time.monotonic()
        if all(matched):
            return True
        if any(matched):
            first = first or now
            if now - first >= settle:
                return True
        if now >= deadline:
            return any(matched)
        time.sleep(0.05)
    return False


class ResultWaiter:
    """Lock-step playback: after each image, wait for a result with the same header stamp.

    Subscribes to ``topic`` (any type with a header, e.g. /pose/skeletons) and spins the
    player's node in a thread, so that every frame of the bag is processed even when the
    pipeline is slower than the recording (offline processing, deterministic tests).
    """

    def __init__(self, node, ctx, topic: str, timeout: float, discovery: float = 10.0) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        deadline = time.monotonic() + discovery
        types = []
        while not types and time.monotonic() < deadline:
            types = [t for name, ts in node.get_topic_names_and_types() if name == topic for t in ts]
            time.sleep(0.05)
        if not types:
            raise BagError(f"--wait-for topic {topic} did not appear in the graph within {discovery:g} s")
        self.timeout = timeout
        self.seen: set[int] = set()
        self.cond = threading.Condition()
        node.create_subscription(ros_class(types[0]), topic, self._on_msg,
                                 QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.executor = SingleThreadedExecutor(context=ctx)
        self.executor.add_node(node)
        self._spin = BackgroundSpin(self.executor, ctx)

    def _on_msg(self, msg) -> None:
        with self.cond:
            self.seen.add(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
            self.cond.notify_all()

    def wait(self, stamp_ns: int, stop: threading.Event) -> bool:
        end = time.monotonic() + self.timeout
        with self.cond:
            while stamp_ns not in self.seen and not stop.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))
            self.seen.discard(stamp_ns)  # a looped bag sends the same stamp again
        return True

    def clear(self) -> None:
        with self.cond:
            self.seen.clear()

    def close(self) -> None:
        """Stop spinning before the node and context go away (else rcl aborts)."""
        self._spin.stop()
        self.executor.shutdown(timeout_sec=1.0)


def play(bag: str | Path, rate: float = 1.0, clock: bool = False, topics=None, remaps: dict[str, str] | None = None,
         loop: bool = False, start_delay: float = 0.0, wait_for_subscribers_s: float = 5.0,
         clock_hz: float = 40.0, stop_event: threading.Event | None = None, quiet: bool = False,
         wait_for: str = "", wait_timeout: float = 10.0) -> dict[str, int]:
    """Publish a bag's messages at ``rate`` x the recorded speed (0 = as fast as possible).

    ``topics`` filters (bag topic names), ``remaps`` maps bag topic -> published topic,
    ``clock`` also publishes rosgraph_msgs/Clock on /clock from the bag time (for
    use_sim_time; between messages at ``clock_hz``). Before the first message it waits up
    to ``wait_for_subscribers_s`` for subscribers, then ``start_delay`` seconds.
    ``wait_for`` (a topic with headers, e.g. /pose/skeletons) makes playback lock-step:
    after each colour Image/CompressedImage it waits up to ``wait_timeout`` s for a result
    with the same stamp, so a slower pipeline still sees every frame. Depth images
    (16UC1/32FC1) are not waited on; each depth stream is sent ahead up to its first frame
    stamped at or after the colour frame (see :class:`DepthAhead`), so that the colour
    frame pairs with the depth nearest in time whatever the order of the bag.
    Returns the number of messages published per (published) topic.
    """
    if rate < 0:
        raise BagError(f"rate must be >= 0 (0 = as fast as possible), got {rate}")
    reader = open_reader(bag)
    stop = stop_event or threading.Event()
    try:
        conns = select_connections(reader, topics)
        if not conns:
            raise BagError(f"bag {bag} has no topics to play")
        classes = {c.msgtype: ros_class(c.msgtype) for c in conns}   # BagError before touching DDS
        ctx, node = ros_init("pose_ros_bag_player")
        waiter = None
        try:
            if wait_for:
                waiter = ResultWaiter(node, ctx, wait_for, wait_timeout)
            return _play(node, reader, conns, classes, rate, clock, remaps or {}, loop, start_delay,
                         wait_for_subscribers_s, clock_hz, stop, quiet, waiter)
        finally:
            if waiter is not None:
                waiter.close()
            ros_close(ctx, node)
    finally:
        reader.close()


IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
LOOKAHEAD_NS = 2 * 10**9   # how far (bag time) lock-step looks ahead for a colour frame's depth


def depth_connections(reader, conns) -> set[int]:
    """Ids of the Image connections whose first message has a depth encoding."""
    found = set()
    for c in conns:
        if c.msgtype == IMAGE_TYPES[0]:
            first = next(reader.messages(connections=[c]), None)
            if first is not None and image_encoding(bytes(first[2])).upper() in DEPTH_ENCODINGS:
                found.add(c.id)
    return found


class DepthAhead:
    """The bag's messages in order, except that depth frames can be sent ahead of a colour frame.

    pose_estimator pairs a colour frame with the depth frame nearest in stamp time and
    waits (briefly) for one stamped at or after it. Drivers stamp depth up to a few tenths
    of a second after colour, and a bag stores it in arrival order, often after the colour
    frame; in lock-step that frame would not be sent until the colour frame is answered.
    :meth:`send_before` sends, per depth stream, the frames up to the first one stamped at
    or after the colour frame (looking at most LOOKAHEAD_NS of bag time ahead), so the
    pairing depends on the bag only. Frames sent ahead are skipped when their turn comes.
    """

    def __init__(self, messages, depth_ids: set[int]) -> None:
        self._it = iter(messages)
        self._ahead: deque[list] = deque()   # [conn, ns, data, sent ahead]
        self.depth_ids = depth_ids
        self._newest: dict[int, int] = {}    # depth connection id -> newest header stamp sent

    def _pull(self) -> bool:
        item = next(self._it, None)
        if item is not None:
            self._ahead.append([*item, False])
        return item is not None

    def __iter__(self):
        while self._ahead or self._pull():
            conn, ns, data, sent = self._ahead.popleft()
            if not sent:
                yield conn, ns, data

    def sent(self, conn, data: bytes) -> None:
        """Note a depth frame published (in its turn or ahead)."""
        if conn.id in self.depth_ids:
            self._newest[conn.id] = header_stamp_ns(data)

    def send_before(self, stamp_ns: int, ns: int, publish) -> None:
        """Publish, with ``publish(conn, data)``, what the colour frame stamped ``stamp_ns``
        (bag time ``ns``) will pair with."""
        i = 0
        while any(self._newest.get(d, -1) < stamp_ns for d in self.depth_ids):
            if i == len(self._ahead) and not self._pull():
                return
            entry = self._ahead[i]
            i += 1
            if entry[1] > ns + LOOKAHEAD_NS:
                return
            conn, _, data, sent = entry
            if not sent and conn.id in self.depth_ids and self._newest.get(conn.id, -1) < stamp_ns:
                data = data if isinstance(data, bytes) else bytes(data)
                publish(conn, data)
                self.sent(conn, data)
                entry[3] = True


def _play(node, reader, conns, classes, rate, clock, remaps, loop, start_delay, wait_s, clock_hz, stop, quiet,
          waiter=None):
    from builtin_interfaces.msg import Time
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    pubs, out_topic = {}, {}
    by_topic = {}
    for c in conns:
        name = _remap(c.topic, remaps)
        out_topic[c.id] = name
        if name not in by_topic:
            by_topic[name] = node.create_publisher(classes[c.msgtype], name,
                                                   _qos(c.ext.offered_qos_profiles))
        pubs[c.id] = by_topic[name]
    clock_pub = None
    if clock:
        from rosgraph_msgs.msg import Clock
        clock_pub = node.create_publisher(Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))

    def publish_clock(ns: int) -> None:
        if clock_pub is not None:
            from rosgraph_msgs.msg import Clock
            clock_pub.publish(Clock(clock=Time(sec=ns // 10**9, nanosec=ns % 10**9)))

    if wait_s > 0 and not wait_for_subscribers(list(by_topic.values()), wait_s, stop) and not quiet:
        print(f"[bag play] no subscribers after {wait_s:g} s; playing anyway", file=sys.stderr)
    if start_delay > 0:
        stop.wait(start_delay)
    counts = dict.fromkeys(by_topic, 0)
    period = 1.0 / clock_hz if clock_hz > 0 else float("inf")
    depth_ids = depth_connections(reader, conns) if waiter is not None else set()

    def publish(conn, data: bytes) -> None:
        pubs[conn.id].publish(data)
        counts[out_topic[conn.id]] += 1

    while not stop.is_set():
        wall0, t0 = time.monotonic(), None
        if waiter is not None:
            waiter.clear()
        messages = DepthAhead(reader.messages(connections=conns), depth_ids)
        for conn, ns, data in messages:
            if stop.is_set():
                break
            t0 = ns if t0 is None else t0
            if rate > 0:
                target = wall0 + (ns - t0) * 1e-9 / rate
                while (left := target - time.monotonic()) > 0 and not stop.is_set():
                    if clock_pub is not None:
                        publish_clock(t0 + int((time.monotonic() - wall0) * rate * 1e9))
                    stop.wait(min(left, period))
            publish_clock(ns)
            data = data if isinstance(data, bytes) else bytes(data)
            colour = waiter is not None and conn.msgtype in IMAGE_TYPES and conn.id not in depth_ids
            if colour:
                messages.send_before(header_stamp_ns(data), ns, publish)
            publish(conn, data)
            messages.sent(conn, data)
            if colour:
                if not waiter.wait(header_stamp_ns(data), stop) and not quiet:
                    print(f"[bag play] no result for stamp {header_stamp_ns(data)} within "
                          f"{waiter.timeout:g} s; going on", file=sys.stderr)
        if not loop or t0 is None:
            break
    # Reliable subscribers must get the last messages before this process (and its
    # DDS writers) goes away: large frames are still in flight when publish() returns.
    from rclpy.duration import Duration
    for pub in by_topic.values():
        pub.wait_for_all_acked(Duration(seconds=2.0))
    return counts
