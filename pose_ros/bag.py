"""rosbag2 tools without the ROS bag tools: make, inspect, play and record bags.

Bags are rosbag2 directories (metadata.yaml + mcap or sqlite3 storage) written
with ``rosbags``, so ``ros2 bag`` reads them. Our own messages (msg/*.msg) are
registered in the typestore at run time from the installed message files.

- ``from_video``: a video file or image folder -> bag of bgr8 Images (+ CameraInfo)
  stamped with the media timeline (header stamp == bag timestamp).
- ``info``: what ``ros2 bag info`` shows.
- ``record``: live topics -> bag (raw CDR, receive time, like ``ros2 bag record``).
- ``play`` (in ``bag_play``): bag -> live topics at the recorded rate, with /clock.

Problems the user can fix (missing bag, unknown topic, unknown type) raise
``BagError``; ``pose-ros bag`` turns it into one line and exit code 2.
"""
from __future__ import annotations

import functools
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from pose_ros.paths import SOURCE_ROOT, share_dir, use_large_frame_profile

PACKAGE = "pose_ros"
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_VERSION = 9   # what ROS 2 Jazzy writes
DEFAULT_QOS = Qos(QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE, QosTime(0, 0),
                  QosTime(0, 0), QosLiveliness.AUTOMATIC, QosTime(0, 0), False)


class BagError(RuntimeError):
    """A bag, topic or type problem the user can fix; the message says what to do."""


# ----------------------------------------------------------------------------- types

def msg_dir() -> Path:
    """The directory with our .msg files: share/pose_ros/msg, or msg/ in the source tree."""
    for d in (share_dir() / "msg", SOURCE_ROOT / "msg"):
        if any(d.glob("*.msg")):
            return d
    raise BagError(f"no pose_ros message definitions found in {share_dir() / 'msg'}: reinstall pose_ros")


@functools.lru_cache(maxsize=None)
def typestore():
    """rosbags typestore for ROS 2 Jazzy plus our messages (pose_ros/msg/<Name>) from msg/*.msg."""
    store = get_typestore(Stores.ROS2_JAZZY)
    types: dict = {}
    for f in sorted(msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(f.read_text(), f"{PACKAGE}/msg/{f.stem}"))
    store.register(types)
    return store


def check_type(msgtype: str, store=None) -> None:
    store = store if store is not None else typestore()
    if msgtype not in store.fielddefs:
        raise BagError(f"message type {msgtype!r} is not in the bag typestore (ROS 2 Jazzy + pose_ros): "
                       "bags of it cannot be written here")


def ros_class(msgtype: str):
    """'pkg/msg/Name' -> the rclpy message class (pkg.msg.Name)."""
    import importlib
    parts = msgtype.split("/")
    if len(parts) != 3:
        raise BagError(f"bad message type name {msgtype!r}: expected pkg/msg/Name")
    try:
        return getattr(importlib.import_module(f"{parts[0]}.{parts[1]}"), parts[2])
    except (ImportError, AttributeError):
        raise BagError(f"message type {msgtype!r} is not available to Python: install its package "
                       f"(ros-jazzy-{parts[0].replace('_', '-')}) or source the workspace that builds it") from None


def ros_init(name: str):
    """A private rclpy context and node (so bag tools run beside the caller's own rclpy)."""
    import rclpy
    use_large_frame_profile()
    ctx = rclpy.Context()
    rclpy.init(args=[], context=ctx)   # own context: installs no signal handlers, ignores sys.argv
    return ctx, rclpy.create_node(name, context=ctx)


def ros_close(ctx, node) -> None:
    try:
        node.destroy_node()
    finally:
        ctx.try_shutdown()


# ----------------------------------------------------------------------------- reading

def open_reader(bag: str | Path) -> Reader:
    path = Path(bag)
    if not path.exists():
        raise BagError(f"bag {str(path)!r} does not exist")
    try:
        reader = Reader(path)
        reader.open()
    except (ReaderError, FileNotFoundError) as exc:
        raise BagError(f"cannot read bag {str(path)!r}: {exc}") from None
    return reader


def select_connections(reader: Reader, topics: Iterable[str] | None) -> list:
    conns = list(reader.connections)
    if not topics:
        return conns
    wanted = {t if t.startswith("/") else "/" + t for t in topics}
    if missing := wanted - {c.topic for c in conns}:
        raise BagError(f"topic(s) {', '.join(sorted(missing))} not in the bag; it has: "
                       f"{', '.join(sorted({c.topic for c in conns})) or 'nothing'}")
    return [c for c in conns if c.topic in wanted]


def info(bag: str | Path) -> dict[str, Any]:
    """Metadata of a bag: storage, files, size, duration, start/end (ns), counts and types per topic."""
    path = Path(bag)
    reader = open_reader(path)
    try:
        storage = {".mcap": "mcap", ".db3": "sqlite3"}.get(path.suffix, "")
        if path.is_dir():
            from ruamel.yaml import YAML
            meta = YAML(typ="safe").load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
            storage = meta.get("storage_identifier", "")
            files = [path / Path(f).name for f in meta.get("relative_file_paths", [])]
        else:
            files = [path]
        n = reader.message_count
        return {
            "path": str(path), "storage": storage, "files": [f.name for f in files],
            "size": sum(f.stat().st_size for f in files if f.exists()),
            "ros_distro": reader.ros_distro or "",
            "duration": (reader.duration - 1) * 1e-9 if n else 0.0,
            "start": reader.start_time if n else 0, "end": reader.end_time - 1 if n else 0,
            "message_count": n,
            "topics": [{"name": name, "type": t.msgtype or "(mixed)", "count": t.msgcount,
                        "serialization": t.connections[0].ext.serialization_format if t.connections else "cdr"}
                       for name, t in sorted(reader.topics.items())],
        }
    finally:
        reader.close()


def format_info(d: dict[str, Any]) -> str:
    def stamp(ns: int) -> str:
        sec, frac = divmod(ns, 10**9)
        return time.strftime("%b %d %Y %H:%M:%S", time.gmtime(sec)) + f".{frac:09d} ({sec}.{frac:09d})"

    lines = [f"Files:             {', '.join(d['files'])}",
             f"Bag size:          {d['size'] / 1024 ** 2:.1f} MiB",
             f"Storage id:        {d['storage']}",
             f"ROS Distro:        {d['ros_distro'] or 'unknown'}",
             f"Duration:          {d['duration']:.9f}s",
             f"Start:             {stamp(d['start'])}",
             f"End:               {stamp(d['end'])}",
             f"Messages:          {d['message_count']}"]
    width = max((len(t["name"]) for t in d["topics"]), default=0)
    for i, t in enumerate(d["topics"]):
        head = "Topic information: " if i == 0 else " " * 19
        lines.append(f"{head}Topic: {t['name']:<{width}} | Type: {t['type']} | Count: {t['count']} | "
                     f"Serialization Format: {t['serialization']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- writing

def open_writer(out_bag: str | Path, storage: str) -> Writer:
    if storage not in STORAGES:
        raise BagError(f"storage {storage!r} unknown: use one of {', '.join(STORAGES)}")
    if Path(out_bag).exists():
        raise BagError(f"{out_bag} exists already: bags are never overwritten, choose a new name")
    try:
        writer = Writer(out_bag, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        writer.open()
    except (WriterError, OSError) as exc:
        raise BagError(f"cannot create bag {out_bag}: {exc}") from None
    return writer


def stamp_ns(t: float) -> int:
    """Seconds on the media timeline -> integer nanoseconds (header stamp and bag time)."""
    return int(round(t * 1e9))


def from_video(video: str | Path, out_bag: str | Path, topic: str = "/camera/image_raw", storage: str = "mcap",
               fps: float = 0.0, max_width: int = 0, stamp_offset: float = 0.0, frame_id: str = "camera",
               camera_info: bool = True, max_frames: int = 0) -> int:
    """Write a video file / image folder as bgr8 sensor_msgs/Image (+ CameraInfo next to it).

    Stamps are ``stamp_offset + frame_index / fps``; header stamp and bag time are equal.
    Returns the number of frames written.
    """
    import numpy as np

    from pose_ros.core.pipeline import CameraModel
    from pose_ros.core.video import FrameSource, SourceError

    try:
        src = FrameSource(str(video), fps=fps, max_width=max_width)
    except SourceError as exc:
        raise BagError(str(exc)) from None
    if src.is_device:
        src.close()
        raise BagError("from-video needs a video file or image folder, not a camera device")
    topic = topic if topic.startswith("/") else "/" + topic
    info_topic = topic.rsplit("/", 1)[0] + "/camera_info"
    store = typestore()
    T = store.types
    Time, Header = T["builtin_interfaces/msg/Time"], T["std_msgs/msg/Header"]
    Image, Info = T["sensor_msgs/msg/Image"], T["sensor_msgs/msg/CameraInfo"]
    Roi = T["sensor_msgs/msg/RegionOfInterest"]
    writer = open_writer(out_bag, storage)
    n = 0
    try:
        img_conn = writer.add_connection(topic, Image.__msgtype__, typestore=store, offered_qos_profiles=[DEFAULT_QOS])
        info_conn = (writer.add_connection(info_topic, Info.__msgtype__, typestore=store,
                                           offered_qos_profiles=[DEFAULT_QOS]) if camera_info else None)
        for frame in src.frames():
            if max_frames and n >= max_frames:
                break
            ns = stamp_ns(stamp_offset + frame.t)
            header = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=frame_id)
            h, w = frame.bgr.shape[:2]
            data = np.ascontiguousarray(frame.bgr, dtype=np.uint8).reshape(-1)
            msg = Image(header=header, height=h, width=w, encoding="bgr8", is_bigendian=0, step=w * 3, data=data)
            writer.write(img_conn, ns, store.serialize_cdr(msg, Image.__msgtype__))
            if info_conn is not None:
                cam = CameraModel.guess(w, h)
                f64 = functools.partial(np.array, dtype=np.float64)
                ci = Info(header=header, height=h, width=w, distortion_model="plumb_bob", d=f64([0.0] * 5),
                          k=f64([cam.fx, 0, cam.cx, 0, cam.fy, cam.cy, 0, 0, 1]),
                          r=f64([1, 0, 0, 0, 1, 0, 0, 0, 1]),
                          p=f64([cam.fx, 0, cam.cx, 0, 0, cam.fy, cam.cy, 0, 0, 0, 1, 0]), binning_x=0, binning_y=0,
                          roi=Roi(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))
                writer.write(info_conn, ns, store.serialize_cdr(ci, Info.__msgtype__))
            n += 1
    finally:
        src.close()
        writer.close()
    return n


# ----------------------------------------------------------------------------- recording

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


def play(bag: str | Path, **kwargs) -> dict[str, int]:
    """See ``pose_ros.bag_play.play``."""
    from pose_ros.bag_play import play as _play
    return _play(bag, **kwargs)
