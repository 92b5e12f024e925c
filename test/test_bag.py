"""Bag tools on real files and real DDS: from_video, info, play, record, errors and exit codes."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

FPS = 30.0
N_FRAMES = 15
W, H = 160, 120
PY = sys.executable
SKEL_TOPIC = "/bagtest/skeletons"


@pytest.fixture(scope="module", autouse=True)
def ros_env():
    """Own domain + localhost discovery before any rclpy.init (conftest normally sets them already)."""
    saved = {k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE",
                                            "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")}
    os.environ.setdefault("ROS_DOMAIN_ID", str(20 + os.getpid() % 60))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def ros(ros_env):
    from rosutil import RosSession
    s = RosSession("bag_test_probe")
    yield s
    s.close()


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    import cv2
    path = tmp_path_factory.mktemp("video") / "moving_box.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    for i in range(N_FRAMES):
        frame = np.full((H, W, 3), 40, np.uint8)
        cv2.rectangle(frame, (5 + 8 * i, 30), (35 + 8 * i, 90), (0, 200, 255), -1)
        out.write(frame)
    out.release()
    return path


@pytest.fixture(scope="module")
def image_bag(video, tmp_path_factory) -> Path:
    from pose_ros import bag
    out = tmp_path_factory.mktemp("bags") / "camera"
    assert bag.from_video(video, out) == N_FRAMES
    return out


def cli(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "pose_ros.bag.cli", *args], capture_output=True, text=True, timeout=timeout)


def read_all(path: Path):
    from rosbags.rosbag2 import Reader
    with Reader(path) as r:
        return {c.topic: c for c in r.connections}, [(c.topic, ns, bytes(d)) for c, ns, d in r.messages()]


def expected_ns(i: int, offset: float = 0.0) -> int:
    return int(round((offset + i / FPS) * 1e9))


# ----------------------------------------------------------------------------- types and files

def test_typestore_registers_our_messages_like_rosidl():
    from rclpy.serialization import deserialize_message

    from pose_ros import bag
    from pose_ros.msg import SkeletonArray

    store = bag.typestore()
    names = {p.stem for p in bag.msg_dir().glob("*.msg")}
    assert {"SkeletonArray", "Skeleton", "Keypoint", "GestureArray"} <= names
    assert all(f"pose_ros/msg/{n}" in store.fielddefs for n in names)
    T = store.types
    kp = [T["pose_ros/msg/Keypoint"](x=1.5, y=float("nan"), score=0.5)]
    skel = T["pose_ros/msg/Skeleton"](
        header=T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=3, nanosec=7), frame_id="cam"),
        id="t1", track_state=2, score=0.9, predicted=True, pose_age=0.1, x_min=1, y_min=2, x_max=3, y_max=4,
        format=0, keypoints=kp,
        frame_3d=0, keypoints_3d=[], landmarks=[], landmarks_3d=[], velocities=[],
        left_hand_sign="", left_hand_sign_score=0.0, right_hand_sign="thumb_up", right_hand_sign_score=0.8)
    arr = T["pose_ros/msg/SkeletonArray"](header=skel.header, image_width=640, image_height=480, skeletons=[skel])
    msg = deserialize_message(bytes(store.serialize_cdr(arr, "pose_ros/msg/SkeletonArray")), SkeletonArray)
    assert (msg.image_width, msg.skeletons[0].id, msg.skeletons[0].header.stamp.nanosec) == (640, "t1", 7)
    assert msg.skeletons[0].keypoints[0].x == 1.5 and math.isnan(msg.skeletons[0].keypoints[0].y)
    # Same type hash as the rosidl build, when its type description is installed.
    js = Path(sys.prefix) / "share/pose_ros/msg/SkeletonArray.json"
    if js.is_file():
        assert store.hash_rihs01("pose_ros/msg/SkeletonArray") in js.read_text()


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_from_video_writes_media_timeline(video, tmp_path, storage):
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image

    from pose_ros import bag
    from pose_ros.core.imaging.video import FrameSource

    out = tmp_path / "b"
    assert bag.from_video(video, out, storage=storage) == N_FRAMES
    conns, msgs = read_all(out)
    assert conns["/camera/image_raw"].msgtype == "sensor_msgs/msg/Image"
    assert conns["/camera/camera_info"].msgtype == "sensor_msgs/msg/CameraInfo"
    frames = [f.bgr for f in FrameSource(str(video)).frames()]
    images = [(ns, deserialize_message(d, Image)) for t, ns, d in msgs if t == "/camera/image_raw"]
    infos = [(ns, deserialize_message(d, CameraInfo)) for t, ns, d in msgs if t == "/camera/camera_info"]
    assert len(images) == len(infos) == N_FRAMES
    for i, ((ns, img), (ns_info, ci)) in enumerate(zip(images, infos)):
        assert ns == ns_info == expected_ns(i)
        assert img.header.stamp.sec * 10**9 + img.header.stamp.nanosec == ns
        assert (img.encoding, img.width, img.height, img.step, img.header.frame_id) == ("bgr8", W, H, 3 * W, "camera")
        assert np.array_equal(np.frombuffer(bytes(img.data), np.uint8).reshape(H, W, 3), frames[i])
        assert ci.header == img.header and (ci.width, ci.height) == (W, H) and ci.k[8] == 1.0
    d = bag.info(out)
    assert d["storage"] == storage and d["message_count"] == 2 * N_FRAMES
    assert abs(d["duration"] - (N_FRAMES - 1) / FPS) < 1e-6
    assert {t["name"]: t["count"] for t in d["topics"]} == {"/camera/image_raw": N_FRAMES,
                                                            "/camera/camera_info": N_FRAMES}
    assert f"storage_identifier: {storage}" in (out / "metadata.yaml").read_text()
    r = cli("info", str(out))
    assert r.returncode == 0 and "Count: 15" in r.stdout and f"Storage id:        {storage}" in r.stdout


def test_from_video_options(video, tmp_path):
    from pose_ros import bag
    out = tmp_path / "small"
    r = cli("from-video", str(video), str(out), "--topic", "/cam/image", "--max-frames", "5", "--max-width", "80",
            "--stamp-offset", "100", "--no-camera-info")
    assert r.returncode == 0, r.stderr
    d = bag.info(out)
    assert [t["name"] for t in d["topics"]] == ["/cam/image"] and d["message_count"] == 5
    _, msgs = read_all(out)
    assert [ns for _, ns, _ in msgs] == [expected_ns(i, 100.0) for i in range(5)]
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image
    assert deserialize_message(msgs[0][2], Image).width == 80


# ----------------------------------------------------------------------------- play

def test_play_in_thread_with_clock_and_loop(ros, image_bag):
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image

    from pose_ros import bag
    from rosutil import wait_for

    images = ros.collect(Image, "/camera/image_raw")
    clocks = ros.collect(Clock, "/clock")
    result = {}
    t = threading.Thread(target=lambda: result.update(
        bag.play(image_bag, rate=2.0, clock=True, topics=["/camera/image_raw"], wait_for_subscribers_s=10)))
    t.start()
    t.join(timeout=20)
    assert not t.is_alive() and result == {"/camera/image_raw": N_FRAMES}
    assert wait_for(lambda: len(images) >= N_FRAMES, 5)
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images]
    assert stamps == [expected_ns(i) for i in range(N_FRAMES)]
    clock_ns = [c.clock.sec * 10**9 + c.clock.nanosec for c in clocks]
    assert len(clock_ns) >= N_FRAMES and clock_ns == sorted(clock_ns) and clock_ns[-1] == stamps[-1]

    # Loop: the same stamps again, until stopped.
    images.clear()
    stop = threading.Event()
    t = threading.Thread(target=bag.play, args=(image_bag,),
                         kwargs=dict(rate=0.0, loop=True, topics=["camera/image_raw"], stop_event=stop,
                                     remaps={"/camera/image_raw": "/looped"}, wait_for_subscribers_s=0))
    looped = ros.collect(Image, "/looped")
    t.start()
    ok = wait_for(lambda: len(looped) >= 2 * N_FRAMES, 10)
    stop.set()
    t.join(timeout=5)
    assert ok and not t.is_alive()
    looped_ns = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in looped]
    assert any(b < a for a, b in zip(looped_ns, looped_ns[1:])), "stamps never started again"
    assert set(looped_ns) <= set(stamps) and not images


def test_play_cli_topics_and_remap(ros, image_bag):
    from sensor_msgs.msg import CameraInfo, Image

    from rosutil import wait_for

    remapped = ros.collect(Image, "/remapped/image")
    infos = ros.collect(CameraInfo, "/camera/camera_info")
    r = cli("play", str(image_bag), "--rate", "3", "--topics", "/camera/image_raw",
            "--remap", "/camera/image_raw:=/remapped/image", "--wait-for-subscribers", "10")
    assert r.returncode == 0, r.stderr
    assert "published /remapped/image: 15" in r.stdout
    assert wait_for(lambda: len(remapped) >= N_FRAMES, 5) and len(remapped) == N_FRAMES
    assert remapped[-1].header.stamp.nanosec == expected_ns(N_FRAMES - 1) % 10**9 and not infos


# ----------------------------------------------------------------------------- record

@pytest.fixture(scope="module")
def skeleton_publisher(ros):
    """Publishes a SkeletonArray with a counter in the stamp at 20 Hz."""
    from geometry_msgs.msg import Point
    from std_msgs.msg import Header

    from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
    pub = ros.node.create_publisher(SkeletonArray, SKEL_TOPIC, 10)
    count = [0]

    def tick():
        count[0] += 1
        header = Header(frame_id="camera")
        header.stamp.sec = count[0]
        kps = [Keypoint(x=float(k), y=2.0 * k, score=0.5) for k in range(17)]
        kps[3] = Keypoint(x=float("nan"), y=float("nan"), score=0.0)
        skel = Skeleton(header=header, id="7", track_state=Skeleton.STATE_TRACKED, score=0.8, x_min=1.0, y_min=2.0,
                        x_max=30.0, y_max=60.0, format=Skeleton.FORMAT_COCO_17, keypoints=kps,
                        frame_3d=Skeleton.FRAME_3D_CAMERA,
                        keypoints_3d=[Point(x=0.1, y=0.2, z=float(k)) for k in range(17)])
        pub.publish(SkeletonArray(header=header, image_width=640, image_height=480, skeletons=[skel]))
    timer = ros.node.create_timer(0.05, tick)
    yield pub
    ros.node.destroy_timer(timer)


def check_skeleton_bag(path: Path, at_least: int) -> None:
    from pose_ros import bag
    store = bag.typestore()
    conns, msgs = read_all(path)
    conn = conns[SKEL_TOPIC]
    assert conn.msgtype == "pose_ros/msg/SkeletonArray"
    assert conn.digest == store.hash_rihs01("pose_ros/msg/SkeletonArray")
    assert len(msgs) >= at_least
    secs = []
    for _, ns, data in msgs:
        m = store.deserialize_cdr(data, "pose_ros/msg/SkeletonArray")
        s = m.skeletons[0]
        assert (m.image_width, m.image_height, s.id, s.track_state, len(s.keypoints)) == (640, 480, "7", 2, 17)
        assert s.keypoints[5].y == 10.0 and math.isnan(s.keypoints[3].x) and s.keypoints_3d[16].z == 16.0
        assert s.header.frame_id == "camera" and ns > 0
        secs.append(m.header.stamp.sec)
    assert secs == sorted(secs) and len(set(secs)) == len(secs)


def test_record_cli_custom_messages(skeleton_publisher, tmp_path):
    out = tmp_path / "rec_sqlite"
    r = cli("record", str(out), "--topics", SKEL_TOPIC, "--storage", "sqlite3", "--max-messages", "6",
            "--duration", "20")
    assert r.returncode == 0, r.stderr
    check_skeleton_bag(out, 6)
    assert "Storage id:        sqlite3" in cli("info", str(out)).stdout


def test_record_api_until_stopped(skeleton_publisher, tmp_path):
    from pose_ros import bag
    out = tmp_path / "rec_mcap"
    counts = bag.record(out, [SKEL_TOPIC.lstrip("/")], max_messages=4, duration=20)
    assert counts == {SKEL_TOPIC: 4}
    check_skeleton_bag(out, 4)


# ----------------------------------------------------------------------------- errors

def test_errors_are_bag_errors_and_exit_code_2(ros, image_bag, skeleton_publisher, tmp_path, video, monkeypatch):
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    from pose_ros import bag

    with pytest.raises(bag.BagError, match="does not exist"):
        bag.play(tmp_path / "missing")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(bag.BagError, match="cannot read bag"):
        bag.info(tmp_path / "empty_dir")
    with pytest.raises(bag.BagError, match="not in the bag"):
        bag.play(image_bag, topics=["/nope"])
    with pytest.raises(bag.BagError, match="exists already"):
        bag.from_video(video, image_bag)
    with pytest.raises(bag.BagError, match="does not exist"):
        bag.from_video(tmp_path / "missing.avi", tmp_path / "x")

    # A type no Python package provides.
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg("int32 a", "nosuch_msgs/msg/Thing"))
    odd = tmp_path / "odd"
    with Writer(odd, version=9) as w:
        c = w.add_connection("/thing", "nosuch_msgs/msg/Thing", typestore=store)
        w.write(c, 1, store.serialize_cdr(store.types["nosuch_msgs/msg/Thing"](a=1), "nosuch_msgs/msg/Thing"))
    with pytest.raises(bag.BagError, match="nosuch_msgs/msg/Thing.*not available"):
        bag.play(odd, wait_for_subscribers_s=0)

    with pytest.raises(bag.BagError, match="not found in the ROS graph"):
        bag.record(tmp_path / "r1", ["/no/such/topic"], discovery_timeout=0.3)
    from pose_ros.bag import recording
    monkeypatch.setattr(recording, "typestore", lambda: get_typestore(Stores.ROS2_JAZZY))   # without our messages
    with pytest.raises(bag.BagError, match="pose_ros/msg/SkeletonArray.*not in the bag typestore"):
        bag.record(tmp_path / "r2", [SKEL_TOPIC], discovery_timeout=5)
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()

    for args in (["info", str(tmp_path / "missing")], ["play", str(odd)],
                 ["play", str(image_bag), "--topics", "/nope"],
                 ["play", str(image_bag), "--remap", "no_separator"],
                 ["record", str(tmp_path / "r3"), "--topics", "/no/such/topic", "--discovery-timeout", "0.3"]):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("pose-ros bag: error: "), r.stderr
