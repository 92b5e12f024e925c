"""Shared pieces of the bag tools: typestore, readers and writers, rclpy set-up, stamps."""
from __future__ import annotations

import functools
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



def header_stamp_ns(data: bytes) -> int:
    """Header stamp of a CDR-serialized message whose first field is std_msgs/Header."""
    import struct
    sec, nanosec = struct.unpack_from("<iI" if data[1] == 1 else ">iI", data, 4)
    return sec * 10**9 + nanosec


DEPTH_ENCODINGS = ("16UC1", "32FC1")   # what depth_image_proc and RGB-D drivers publish depth in


def image_encoding(data: bytes) -> str:
    """``encoding`` of a CDR-serialized sensor_msgs/Image, read without decoding the pixels."""
    import struct
    order = "<" if data[1] == 1 else ">"
    (n_frame,) = struct.unpack_from(order + "I", data, 4 + 8)   # after the stamp: frame_id's length
    pos = 4 + (12 + n_frame + 3) // 4 * 4 + 8                   # aligned, then height and width
    (n_enc,) = struct.unpack_from(order + "I", data, pos)
    return bytes(data[pos + 4:pos + 4 + n_enc]).rstrip(b"\0").decode("ascii", "replace")
