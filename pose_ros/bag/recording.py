"""Live topics -> bag (raw CDR, receive time, like ``ros2 bag record``)."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterable

from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)

from pose_ros.bag.common import (
    DEFAULT_QOS,
    STORAGES,
    BagError,
    check_type,
    open_writer,
    ros_class,
    ros_close,
    ros_init,
    typestore,
)


def _bag_qos(profile) -> Qos:
    """rclpy QoSProfile of a publisher -> rosbags Qos for the bag metadata (durations left default)."""
    def enum(cls, value, default):
        try:
            return cls(int(value))
        except (ValueError, TypeError):
            return default
    return Qos(enum(QosHistory, profile.history, QosHistory.KEEP_LAST), int(profile.depth),
               enum(QosReliability, profile.reliability, QosReliability.RELIABLE),
               enum(QosDurability, profile.durability, QosDurability.VOLATILE), QosTime(0, 0), QosTime(0, 0),
               enum(QosLiveliness, profile.liveliness, QosLiveliness.AUTOMATIC), QosTime(0, 0), False)


def _discover(node, topics: list[str], timeout: float) -> dict[str, str]:
    """Wait until every topic has a publisher in the graph; topic -> type."""
    deadline = time.monotonic() + timeout
    while True:
        graph = dict(node.get_topic_names_and_types())
        if all(t in graph for t in topics) or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if missing := [t for t in topics if t not in graph]:
        raise BagError(f"topic(s) {', '.join(missing)} not found in the ROS graph after {timeout:g} s "
                       f"(ROS_DOMAIN_ID and the publisher running?); visible topics: {', '.join(sorted(graph))}")
    if mixed := [t for t in topics if len(graph[t]) != 1]:
        raise BagError(f"topic(s) {', '.join(mixed)} carry more than one type: {[graph[t] for t in mixed]}")
    return {t: graph[t][0] for t in topics}


def record(out_bag: str | Path, topics: Iterable[str], storage: str = "mcap", duration: float | None = None,
           stop_event: threading.Event | None = None, max_messages: int | None = None,
           discovery_timeout: float = 5.0) -> dict[str, int]:
    """Record live topics to a new bag until duration / max_messages / stop_event / Ctrl-C.

    Types come from the graph; messages are stored as received (raw CDR) with the
    wall-clock receive time, like ``ros2 bag record``. Returns counts per topic.
    """
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    topics = [t if t.startswith("/") else "/" + t for t in topics]
    if not topics:
        raise BagError("no topics to record: give at least one")
    if storage not in STORAGES:
        raise BagError(f"storage {storage!r} unknown: use one of {', '.join(STORAGES)}")
    if Path(out_bag).exists():
        raise BagError(f"{out_bag} exists already: bags are never overwritten, choose a new name")
    stop = stop_event or threading.Event()
    ctx, node = ros_init("pose_ros_bag_recorder")
    writer = None
    counts = dict.fromkeys(topics, 0)
    try:
        types = _discover(node, topics, discovery_timeout)
        store = typestore()
        classes = {}
        for t, msgtype in types.items():
            check_type(msgtype, store)
            classes[t] = ros_class(msgtype)
        writer = open_writer(out_bag, storage)
        total = [0]

        def subscribe(topic: str) -> None:
            pubs = [i.qos_profile for i in node.get_publishers_info_by_topic(topic)]
            conn = writer.add_connection(topic, types[topic], typestore=store,
                                         offered_qos_profiles=[_bag_qos(p) for p in pubs[:1]] or [DEFAULT_QOS])
            best_effort = any(p.reliability == ReliabilityPolicy.BEST_EFFORT for p in pubs)
            latched = bool(pubs) and all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in pubs)
            qos = QoSProfile(depth=100,
                             reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)

            def on_msg(data: bytes) -> None:
                if stop.is_set():
                    return
                writer.write(conn, time.time_ns(), data)
                counts[topic] += 1
                total[0] += 1
                if max_messages and total[0] >= max_messages:
                    stop.set()
            node.create_subscription(classes[topic], topic, on_msg, qos, raw=True)

        for t in topics:
            subscribe(t)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        end = time.monotonic() + duration if duration else float("inf")
        try:
            while not stop.is_set() and time.monotonic() < end and ctx.ok():
                executor.spin_once(timeout_sec=min(0.1, max(0.0, end - time.monotonic())))
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
    finally:
        if writer is not None:
            writer.close()
        ros_close(ctx, node)
    return counts
