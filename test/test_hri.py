"""REP-155 bodies and body_<id> frames over real DDS: a bag of a real clip with depth -> `pose-ros run`
(estimator, action_classifier, hri_bridge) -> a separate consumer on /humans/bodies/... and /tf.

The bag holds the demo clip's first frames with a flat 2.5 m depth image and CameraInfo, then
blank frames: the people leave, and their per-body topics must go.
"""
from __future__ import annotations

import functools
import threading

import numpy as np
import pytest
import yaml
from hri_msgs.msg import BodyPosture, Gesture, IdsList, NormalizedRegionOfInterest2D, Skeleton2D
from geometry_msgs.msg import Quaternion, TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from conftest import CLIP_WIDTH
from pose_ros.bag.common import DEFAULT_QOS, open_writer, stamp_ns, typestore
from pose_ros.client import PoseClient
from pose_ros.core import hri
from pose_ros.core.pipeline import CameraModel
from pose_ros.msg import ActionArray, GestureArray, Skeleton, SkeletonArray
from pose_ros.paths import config_file
from rosutil import RosSession, start, stop, wait_for

PEOPLE_FRAMES, BLANK_FRAMES, DEPTH_M = 45, 24, 2.5
FORGET_AFTER = 0.3   # s of image time: the blank tail is 0.8 s


def _stamp(h) -> float:
    return h.stamp.sec + h.stamp.nanosec * 1e-9


@pytest.fixture(scope="module")
def depth_bag(demo_video, tmp_path_factory):
    """Image + aligned 16UC1 depth + CameraInfo per frame, depth and info first as a synchronised driver sends."""
    import cv2
    store = typestore()
    T = store.types
    Time, Header, Img, Info = (T[n] for n in ("builtin_interfaces/msg/Time", "std_msgs/msg/Header",
                                              "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo"))
    Roi = T["sensor_msgs/msg/RegionOfInterest"]
    out = tmp_path_factory.mktemp("hri") / "depth_bag"
    writer = open_writer(out, "mcap")
    conns = {t: writer.add_connection(t, m.__msgtype__, typestore=store, offered_qos_profiles=[DEFAULT_QOS])
             for t, m in (("/camera/camera_info", Info), ("/camera/depth", Img), ("/camera/image_raw", Img))}
    cap = cv2.VideoCapture(str(demo_video))
    f64 = functools.partial(np.array, dtype=np.float64)
    try:
        for i in range(PEOPLE_FRAMES + BLANK_FRAMES):
            ok, frame = cap.read()
            assert ok
            h = round(frame.shape[0] * CLIP_WIDTH / frame.shape[1])
            bgr = cv2.resize(frame, (CLIP_WIDTH, h), interpolation=cv2.INTER_AREA)
            if i >= PEOPLE_FRAMES:
                bgr[:] = 128   # nobody
            ns = stamp_ns(i / 30.0)
            header = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="camera")
            cam = CameraModel.guess(CLIP_WIDTH, h)
            info = Info(header=header, height=h, width=CLIP_WIDTH, distortion_model="plumb_bob", d=f64([0.0] * 5),
                        k=f64(cam.k_matrix()), r=f64([1, 0, 0, 0, 1, 0, 0, 0, 1]), p=f64(cam.p_matrix()),
                        binning_x=0, binning_y=0, roi=Roi(x_offset=0, y_offset=0, height=0, width=0,
                                                          do_rectify=False))
            depth = np.full((h, CLIP_WIDTH), int(DEPTH_M * 1000), np.uint16)
            msgs = (("/camera/camera_info", info, Info),
                    ("/camera/depth", Img(header=header, height=h, width=CLIP_WIDTH, encoding="16UC1", is_bigendian=0,
                                          step=CLIP_WIDTH * 2, data=depth.view(np.uint8).reshape(-1)), Img),
                    ("/camera/image_raw", Img(header=header, height=h, width=CLIP_WIDTH, encoding="bgr8",
                                              is_bigendian=0, step=CLIP_WIDTH * 3,
                                              data=np.ascontiguousarray(bgr).reshape(-1)), Img))
            for topic, m, cls in msgs:
                writer.write(conns[topic], ns, store.serialize_cdr(m, cls.__msgtype__))
    finally:
        cap.release()
        writer.close()
    return out


class HriConsumer:
    """A ROS4HRI consumer: follows /humans/bodies/tracked and subscribes to each new body's topics."""

    TOPICS = {"skeleton2d": Skeleton2D, "roi": NormalizedRegionOfInterest2D, "posture": BodyPosture,
              "gesture": Gesture, "cropped": Image}

    def __init__(self, ros: RosSession) -> None:
        self.ros = ros
        self.lock = threading.Lock()
        self.got: dict[tuple[str, str], list] = {}
        self.tracked = ros.collect(IdsList, "/humans/bodies/tracked")
        self.tf = ros.collect(TFMessage, "/tf")
        ros.node.create_subscription(IdsList, "/humans/bodies/tracked", self._on_tracked, 10)

    def _on_tracked(self, msg: IdsList) -> None:
        for bid in msg.ids:
            with self.lock:
                if (bid, "skeleton2d") in self.got:
                    continue
                for topic, cls in self.TOPICS.items():
                    self.got[(bid, topic)] = self.ros.collect(cls, f"/humans/bodies/{bid}/{topic}")

    def of(self, topic: str) -> dict[str, list]:
        with self.lock:
            return {bid: list(msgs) for (bid, t), msgs in self.got.items() if t == topic}


def _kp(s: Skeleton) -> np.ndarray:
    return np.array([(k.x, k.y, k.score) for k in s.keypoints])


@pytest.mark.timeout(300)
def test_rep155_bodies_and_body_frames_from_a_depth_bag(depth_bag, tmp_path):
    params = yaml.safe_load(config_file().read_text())
    params["/**/pose_estimator"]["ros__parameters"]["image_reliability"] = "reliable"
    params["/**/hri_bridge"]["ros__parameters"]["forget_after"] = FORGET_AFTER
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(params))
    ros = RosSession("hri_consumer")
    consumer = HriConsumer(ros)
    skeletons = ros.collect(SkeletonArray, "/pose/skeletons")
    actions = ros.collect(ActionArray, "/pose/actions")
    gestures = ros.collect(GestureArray, "/pose/gestures")
    # the robot side: PoseClient.person_pose in a robot frame; the camera sits 1 m above base_link looking along x
    robot = PoseClient("robot", context=ros.context)
    ros.executor.add_node(robot)
    static = ros.node.create_publisher(TFMessage, "/tf_static", QoSProfile(
        depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE))
    mount = TransformStamped(child_frame_id="camera")
    mount.header.frame_id = "base_link"
    mount.transform.translation.z = 1.0
    mount.transform.rotation = Quaternion(x=-0.5, y=0.5, z=-0.5, w=0.5)   # optical z = base x, optical x = -base y
    static.publish(TFMessage(transforms=[mount]))
    robot_poses = []
    graph = start(["pose-ros", "run", f"params_file:={pfile}", "depth_topic:=/camera/depth"], tmp_path / "graph.log")
    play = None
    image_subs = []   # does hri_bridge subscribe to the image? sampled while the bag plays

    def hri_subscribes_image() -> bool:
        return any(t == "/camera/image_raw" for t, _ in
                   ros.node.get_subscriber_names_and_types_by_node("hri_bridge", "/pose"))

    try:
        assert wait_for(lambda: ros.matched("/humans/bodies/tracked") > 0 and ros.matched("/tf") > 0
                        and ros.matched("/pose/actions") > 0, 60), (tmp_path / "graph.log").read_text()[-3000:]
        # topics match before the graph lists the node by name: ask by name once it is listed
        assert wait_for(lambda: "hri_bridge" in ros.node.get_node_names(), 30)
        assert not hri_subscribes_image(), "no cropped subscriber yet: no image subscription"
        # a third of real time: a consumer subscribes to a body's topics when it first sees the id on
        # tracked, and discovery takes a moment (what a REP-155 consumer misses meanwhile, it misses)
        play = start(["pose-ros", "bag", "play", str(depth_bag), "--rate", "0.33", "--wait-for-subscribers", "20",
                      "--wait-for", "/pose/skeletons"], tmp_path / "play.log")
        while play.poll() is None:
            image_subs.append(hri_subscribes_image())
            people = robot.people()
            for pid in people.ids if people is not None else []:
                found = robot.person_pose(pid, "base_link")
                if found is not None:
                    robot_poses.append(found)
            wait_for(lambda: play.poll() is not None, 0.5)
        assert play.returncode == 0, (tmp_path / "play.log").read_text()
        n = PEOPLE_FRAMES + BLANK_FRAMES
        assert wait_for(lambda: len(skeletons) >= n and len(consumer.tracked) >= n, 30)
        bodies = sorted({b for m in consumer.tracked for b in m.ids})
        # per-body topics go away after the person left (FORGET_AFTER of image time, inside the blank tail)
        gone = wait_for(lambda: all(ros.node.count_publishers(f"/humans/bodies/{b}/skeleton2d") == 0
                                    for b in bodies), 20)
        image_sub_after = hri_subscribes_image()
    finally:
        for proc in (play, graph):
            if proc is not None:
                stop(proc)
        ros.executor.remove_node(robot)
        robot.destroy_node()
        ros.close()
    log = (tmp_path / "graph.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert bodies, "the clip's people were tracked"
    assert gone, "per-body publishers are removed after the body left"

    # tracked: one per frame, the source image's header, exactly the confirmed tracks of that frame
    by_stamp = {_stamp(m.header): m for m in skeletons}
    assert len(consumer.tracked) == n and len(by_stamp) == n
    for m in consumer.tracked:
        sk = by_stamp[_stamp(m.header)]
        assert m.header.frame_id == sk.header.frame_id == "camera"
        assert sorted(m.ids) == sorted(hri.body_id(s.id) for s in sk.skeletons
                                       if s.id and s.track_state == Skeleton.STATE_TRACKED)
    assert not consumer.tracked[-1].ids, "nobody in the blank frames"

    # skeleton2d: each point at its constant's slot, the right joint of the same frame's skeleton
    s2d = consumer.of("skeleton2d")
    checked = facing = 0
    for bid, msgs in s2d.items():
        for m in msgs:
            [s] = [s for s in by_stamp[_stamp(m.header)].skeletons if hri.body_id(s.id) == bid]
            frame = by_stamp[_stamp(m.header)]
            kp, w, h = _kp(s), frame.image_width, frame.image_height
            for slot, coco in ((Skeleton2D.LEFT_EAR, Skeleton.LEFT_EAR), (Skeleton2D.RIGHT_EYE, Skeleton.RIGHT_EYE),
                               (Skeleton2D.LEFT_WRIST, Skeleton.LEFT_WRIST),
                               (Skeleton2D.RIGHT_HIP, Skeleton.RIGHT_HIP)):
                if kp[coco, 2] > 0:
                    p = m.skeleton[slot]
                    assert (p.x, p.y, p.c) == pytest.approx((kp[coco, 0] / w, kp[coco, 1] / h, kp[coco, 2]), abs=1e-5)
            ls, rs = m.skeleton[Skeleton2D.LEFT_SHOULDER], m.skeleton[Skeleton2D.RIGHT_SHOULDER]
            neck = m.skeleton[Skeleton2D.NECK]
            if ls.c > 0.5 and rs.c > 0.5:
                assert neck.x == pytest.approx((ls.x + rs.x) / 2, abs=1e-5)
                facing += ls.x > rs.x
                checked += 1
    assert checked >= 10, f"{checked} Skeleton2D with both shoulders: {[(b, len(m)) for b, m in s2d.items()]}"
    # the people of the clip face the camera: their left shoulder is on the image's right
    assert facing >= 0.9 * checked, f"left/right: {facing} of {checked}"

    # cropped: the image was subscribed while a consumer listened to cropped, and dropped after
    crops = [m for msgs in consumer.of("cropped").values() for m in msgs]
    assert crops and any(image_subs) and not image_sub_after
    rois = {(bid, _stamp(m.header)): m for bid, msgs in consumer.of("roi").items() for m in msgs}
    for bid, msgs in consumer.of("cropped").items():
        for m in msgs:
            r = rois.get((bid, _stamp(m.header)))
            if r is not None:
                assert m.width == pytest.approx((r.xmax - r.xmin) * CLIP_WIDTH, abs=2)

    # posture follows action_classifier, gesture follows the gesture events
    labels = {(hri.body_id(a.id), _stamp(m.header)): a.label for m in actions for a in m.actions}
    postures = [(bid, m) for bid, msgs in consumer.of("posture").items() for m in msgs]
    assert postures, "postures from the action stage"
    for bid, m in postures:
        assert m.posture == getattr(BodyPosture, hri.posture_name(labels[(bid, _stamp(m.header))]))
    state, expected = hri.GestureState(), {}
    for m in gestures:
        for g in m.gestures:
            bid = hri.body_id(g.id)
            if state.update(bid, g.gesture, g.event == g.EVENT_START):
                expected[(bid, _stamp(m.header))] = state.current(bid)
    assert any(consumer.of("gesture").values()), "the clip's raised hands reach the gesture topics"
    for bid, msgs in consumer.of("gesture").items():
        for m in msgs:
            name, hand = expected[(bid, _stamp(m.header))]
            assert (m.gesture, m.handedness) == (getattr(Gesture, name), getattr(Gesture, hand))

    # /tf: body_<id> in the image frame at the hip centre's depth, stamps only going forward
    last: dict[str, float] = {}
    seen = 0
    for msg in consumer.tf:
        for t in msg.transforms:
            assert t.header.frame_id == "camera" and t.child_frame_id.startswith("body_b")
            st = _stamp(t.header)
            assert st in by_stamp and st > last.get(t.child_frame_id, -1.0), "no duplicate or backwards stamps"
            last[t.child_frame_id] = st
            [s] = [s for s in by_stamp[st].skeletons if "body_" + hri.body_id(s.id) == t.child_frame_id]
            hips = np.array([(p.x, p.y, p.z) for p in (s.keypoints_3d[Skeleton.LEFT_HIP],
                                                       s.keypoints_3d[Skeleton.RIGHT_HIP])]).mean(axis=0)
            tr = t.transform.translation
            assert tr.z == pytest.approx(DEPTH_M, abs=0.05) and hips[2] == pytest.approx(DEPTH_M, abs=0.05)
            assert np.hypot(tr.x - hips[0], tr.y - hips[1]) < 0.15, "origin at the (smoothed) hip centre"
            q = t.transform.rotation
            assert np.hypot(np.hypot(q.x, q.y), np.hypot(q.z, q.w)) == pytest.approx(1.0, abs=1e-6)
            seen += 1
    assert seen >= 10 and set(last) <= {f"body_{b}" for b in bodies}

    # PoseClient: a body_<id> of /tf seen from base_link (optical x, y, z -> base -y, 1 - y, x)
    assert robot_poses, "PoseClient.person_pose found the tracked person in base_link"
    in_base = np.array([(tr.z, -tr.x, 1.0 - tr.y) for msg in consumer.tf for tr in
                        (t.transform.translation for t in msg.transforms)])
    for position, q in robot_poses:
        assert position[0] == pytest.approx(DEPTH_M, abs=0.05)
        assert np.abs(in_base - position).max(axis=1).min() < 1e-6
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-6)


def test_nobody_listening_costs_no_conversion_no_frames_no_image(monkeypatch):
    """With no subscriber, a frame only updates ids and lifetimes: no skeleton is converted, no
    body frame computed, no image subscribed; per-body publishers still come and go."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from pose_ros.msg import Keypoint
    from pose_ros.nodes import conversions as conv
    from pose_ros.nodes.hri_bridge import HriBridgeNode
    converted = []
    real = conv.msg_to_person
    monkeypatch.setattr(conv, "msg_to_person", lambda s: converted.append(s.id) or real(s))
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = HriBridgeNode(context=ctx, namespace="/pose",
                         parameter_overrides=[rclpy.parameter.Parameter("forget_after", value=0.3)])
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    try:
        for i in range(20):
            msg = SkeletonArray(image_width=640, image_height=480)
            msg.header.frame_id = "camera"
            msg.header.stamp.nanosec = i * 50_000_000
            if i < 10:
                s = Skeleton(id="7c1", track_state=Skeleton.STATE_TRACKED, score=0.9, x_min=10.0, y_min=10.0,
                             x_max=100.0, y_max=300.0, frame_3d=Skeleton.FRAME_3D_CAMERA)
                s.keypoints = [Keypoint(x=50.0, y=20.0 + 10 * k, score=0.9) for k in range(17)]
                msg.skeletons.append(s)
            node._on_skeletons(msg)
            if i == 0:
                assert list(node.bodies) == ["b7c1"]
            ex.spin_once(timeout_sec=0.0)
        assert converted == [] and node.stats["tf"] == 0 and node._image_sub is None
        assert node.stats["frames"] == 20 and node.stats["failed"] == node.stats["bad_input"] == 0
        assert node.bodies == {}, "gone 0.3 s of image time after the last frame with the body"
    finally:
        ex.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


def test_cropped_from_a_compressed_camera():
    """compressed: true crops from image/compressed (a JPEG here), decoded once per frame."""
    import cv2
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CompressedImage

    from pose_ros.msg import Keypoint
    from pose_ros.nodes.hri_bridge import HriBridgeNode
    from pose_ros.spin import BackgroundSpin
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = HriBridgeNode(context=ctx, namespace="/pose",
                         parameter_overrides=[rclpy.parameter.Parameter("compressed", value=True)])
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    spin = BackgroundSpin(ex, ctx)
    ros = RosSession("crop_consumer")
    try:
        def frame(i: int) -> SkeletonArray:
            msg = SkeletonArray(image_width=640, image_height=480)
            msg.header.frame_id, msg.header.stamp.sec = "camera", i
            s = Skeleton(id="a3f", track_state=Skeleton.STATE_TRACKED, score=0.9, x_min=100.0, y_min=50.0,
                         x_max=180.0, y_max=250.0)
            s.keypoints = [Keypoint(x=140.0, y=60.0 + 10 * k, score=0.9) for k in range(17)]
            msg.skeletons.append(s)
            return msg

        node._on_skeletons(frame(0))   # the body's publishers
        crops = ros.collect(Image, "/humans/bodies/ba3f/cropped")
        assert wait_for(lambda: node.bodies["ba3f"]["cropped"].get_subscription_count() > 0, 30)
        node._on_skeletons(frame(1))   # someone listens: the image is subscribed from now on
        assert node._image_sub is not None and node._image_sub.topic_name == "/pose/image/compressed"
        bgr = np.zeros((480, 640, 3), np.uint8)
        bgr[50:250, 100:180] = (0, 0, 255)   # the body's box in red
        ok, jpeg = cv2.imencode(".jpg", bgr)
        img = CompressedImage(format="jpeg", data=jpeg.tobytes())
        img.header = frame(2).header
        node._on_image(img)
        node._on_skeletons(frame(2))
        assert wait_for(lambda: len(crops) >= 1, 10)
        c = crops[0]
        assert (c.width, c.height, c.encoding, c.header.stamp.sec) == (80, 200, "bgr8", 2)
        px = np.frombuffer(bytes(c.data), np.uint8).reshape(200, 80, 3)
        assert px[..., 2].mean() > 200 and px[..., :2].mean() < 40, "the box's pixels, in bgr8"
    finally:
        ros.close()
        spin.stop()
        ex.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


def test_nobody_listening_at_all_skips_the_frame_undecoded():
    """No subscriber on tracked, /tf or any body topic: the CDR bytes are not even decoded and no
    body publisher is made (a crowd's ids coming and going would create endpoints nobody wants)."""
    import rclpy
    from rclpy.serialization import serialize_message

    from pose_ros.nodes.hri_bridge import HriBridgeNode
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = HriBridgeNode(context=ctx, namespace="/pose")
    try:
        msg = SkeletonArray(image_width=640, image_height=480)
        msg.skeletons.append(Skeleton(id="7c1", track_state=Skeleton.STATE_TRACKED, score=0.9))
        node._on_raw(serialize_message(msg))
        assert node.stats["skipped"] == 1 and node.stats["frames"] == 0 and node.bodies == {}
        listener = node.create_subscription(IdsList, "/humans/bodies/tracked", lambda m: None, 10)
        assert wait_for(lambda: node.pub_tracked.get_subscription_count() > 0, 10)
        node._on_raw(serialize_message(msg))
        assert node.stats["frames"] == 1 and list(node.bodies) == ["b7c1"]
        node.destroy_subscription(listener)
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)
