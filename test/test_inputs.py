"""pose_estimator inputs over real DDS: compressed images, aligned depth for 3D, multi-person backends."""
from __future__ import annotations

import time
from array import array

import cv2
import numpy as np
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from pose_ros.msg import Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for

QOS = QoSProfile(depth=5, reliability=QoSReliabilityPolicy.RELIABLE)


def clip_frames(path, n: int, skip: int = 0) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    for _ in range(skip):
        cap.read()
    return [cap.read()[1] for _ in range(n)]


def run_estimator(tmp_path, args: list[str], feed, n_expected: int, tag: str, extra_topics=()):
    """Start pose_estimator under /pose, call feed(ros) to publish, return collected outputs."""
    ros = RosSession(f"probe_{tag}")
    out = ros.collect(SkeletonArray, "/pose/skeletons")
    extra = {t: ros.collect(cls, t) for t, cls in extra_topics}
    proc = start(["pose_estimator", "--ros-args", "-r", "__ns:=/pose", "-r", "image:=/camera/image_raw",
                  "-r", "image/compressed:=/camera/image_raw/compressed", "-r", "depth:=/camera/depth",
                  "-r", "camera_info:=/camera/camera_info", "-p", "image_reliability:=reliable", *args],
                 tmp_path / f"{tag}.log")
    try:
        assert wait_for(lambda: ros.node.count_publishers("/pose/skeletons") > 0, 60)
        feed(ros, out)
        assert wait_for(lambda: len(out) >= n_expected, 60), (tmp_path / f"{tag}.log").read_text()[-2000:]
    finally:
        stop(proc)
        ros.close()
    assert "Traceback" not in (tmp_path / f"{tag}.log").read_text()
    return out, extra


def wait_subscribed(ros, pub) -> None:
    assert wait_for(lambda: pub.get_subscription_count() > 0, 30)
    time.sleep(0.3)


def repeat_frame(frame: np.ndarray, n: int, sec: int):
    """A feed that publishes one BGR frame n times (0.1 s apart in stamp time), in lock-step."""
    h, w = frame.shape[:2]

    def feed(ros, out):
        pub = ros.node.create_publisher(Image, "/camera/image_raw", QOS)
        wait_subscribed(ros, pub)
        for i in range(n):
            img = Image(encoding="bgr8", width=w, height=h, step=w * 3, data=array("B", frame.tobytes()))
            img.header.stamp.sec, img.header.stamp.nanosec = sec, i * 100_000_000
            pub.publish(img)
            assert wait_for(lambda: len(out) > i, 30)
    return feed


@pytest.mark.timeout(120)
def test_compressed_input(person_clip, tmp_path):
    frames = clip_frames(person_clip, 8, skip=10)

    def feed(ros, out):
        pub = ros.node.create_publisher(CompressedImage, "/camera/image_raw/compressed", QOS)
        wait_subscribed(ros, pub)
        for i, f in enumerate(frames):
            msg = CompressedImage(format="bgr8; jpeg compressed bgr8",
                                  data=array("B", cv2.imencode(".jpg", f)[1].tobytes()))
            msg.header.stamp.sec, msg.header.frame_id = 50 + i, "cam"
            pub.publish(msg)
            assert wait_for(lambda: len(out) > i, 20)

    out, _ = run_estimator(tmp_path, ["-p", "compressed:=true"], feed, len(frames), "compressed")
    assert [m.header.stamp.sec for m in out] == [50 + i for i in range(len(frames))]
    assert sum(1 for m in out if m.skeletons) >= len(frames) - 2
    assert all((m.image_width, m.image_height) == (640, 360) for m in out)


@pytest.mark.timeout(120)
def test_depth_gives_metric_3d_in_camera_frame(person_clip, tmp_path):
    frames = clip_frames(person_clip, 14)  # from the start: BlazePose tracks once it has found him
    h, w = frames[0].shape[:2]
    fx = fy = 500.0
    cx, cy = w / 2, h / 2
    # a person-shaped depth: 2.5 m everywhere (a flat scene is enough to check the geometry)
    depth_mm = np.full((h, w), 2500, np.uint16)

    def feed(ros, out):
        pub = ros.node.create_publisher(Image, "/camera/image_raw", QOS)
        dpub = ros.node.create_publisher(Image, "/camera/depth", QOS)
        ipub = ros.node.create_publisher(CameraInfo, "/camera/camera_info", QOS)
        wait_subscribed(ros, pub)
        wait_subscribed(ros, dpub)
        for i, f in enumerate(frames):
            info = CameraInfo(width=w, height=h, k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0])
            info.header.stamp.sec = info.header.stamp.sec = 70 + i
            d = Image(encoding="16UC1", width=w, height=h, step=w * 2, data=array("B", depth_mm.tobytes()))
            img = Image(encoding="bgr8", width=w, height=h, step=w * 3, data=array("B", f.tobytes()))
            for m in (d, img):
                m.header.stamp.sec, m.header.frame_id = 70 + i, "cam_optical"
            ipub.publish(info)
            dpub.publish(d)
            time.sleep(0.1)  # depth and intrinsics first, as a synchronised driver delivers them
            pub.publish(img)
            assert wait_for(lambda: len(out) > i, 20)

    out, extra = run_estimator(tmp_path, ["-p", "use_depth:=true"], feed, len(frames), "depth",
                               extra_topics=[("/pose/markers", MarkerArray)])
    with3d = [s for m in out[1:] for s in m.skeletons if s.frame_3d == Skeleton.FRAME_3D_CAMERA]
    assert with3d, "skeletons get camera-frame 3D from depth"
    s = with3d[-1]
    kp = np.array([(k.x, k.y, k.score) for k in s.keypoints])
    p3 = np.array([(p.x, p.y, p.z) for p in s.keypoints_3d])
    ok = kp[:, 2] > 0.3
    assert np.allclose(p3[ok, 2], 2.5, atol=1e-3)
    assert np.allclose(p3[ok, 0], (kp[ok, 0] - cx) / fx * 2.5, atol=0.02)
    assert np.allclose(p3[ok, 1], (kp[ok, 1] - cy) / fy * 2.5, atol=0.02)
    assert np.isnan(p3[~(kp[:, 2] > 0)]).all()
    # RViz markers are drawn in 3D at that depth
    joints = [mk for arr in extra["/pose/markers"][1:] for mk in arr.markers if mk.ns == "joints" and mk.points]
    assert joints and all(abs(p.z - 2.5) < 1e-3 for p in joints[-1].points)
    assert joints[-1].header.frame_id == "cam_optical"


@pytest.mark.timeout(120)
def test_movenet_finds_several_people(demo_video, tmp_path):
    """Bottom-up MoveNet through the node: the jumping and the walking person in one frame."""
    frame = clip_frames(demo_video, 1, skip=100)[0]
    frame = cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA)
    h, w = frame.shape[:2]

    out, _ = run_estimator(tmp_path, ["-p", "backend:=movenet", "-p", "tracker.min_hits:=2"],
                           repeat_frame(frame, 4, sec=10), 4, "movenet")
    last = out[-1]
    assert len(last.skeletons) >= 2
    ids = [s.id for s in last.skeletons]
    assert len(set(ids)) == len(ids) and all(ids)
    centres = sorted((s.x_min + s.x_max) / 2 / w for s in last.skeletons)
    assert centres[0] < 0.45 and centres[-1] > 0.5, "one on the box (left), one walking (right)"


@pytest.mark.timeout(120)
def test_hand_signs_on_real_hands(demo_video, tmp_path):
    """hand_signs.enabled: the hand model runs at tracked wrists and fills Skeleton.*_hand_sign."""
    frame = clip_frames(demo_video, 1, skip=140)[0]
    frame = cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA)
    out, _ = run_estimator(tmp_path, ["-p", "backend:=movenet", "-p", "hand_signs.enabled:=true"],
                           repeat_frame(frame, 3, sec=20), 3, "hands")
    signs = [(s.left_hand_sign, s.left_hand_sign_score, s.right_hand_sign, s.right_hand_sign_score)
             for m in out for s in m.skeletons]
    found = [x for x in signs if x[0] or x[2]]
    assert found, f"no hand sign reported: {signs}"
    known = {"", "open_palm", "fist", "thumb_up", "thumb_down", "pointing", "victory", "none"}
    assert all(x[0] in known and x[2] in known and 0 <= x[1] <= 1 and 0 <= x[3] <= 1 for x in signs)
