"""Messages go through real DDS between processes with every field intact."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for

HERE = Path(__file__).parent


def test_message_contract():
    """Field names and exact types as documented in msg/ (what other packages' code relies on)."""
    assert SkeletonArray.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "image_width": "uint32", "image_height": "uint32",
        "skeletons": "sequence<pose_ros/Skeleton>"}
    assert Keypoint.get_fields_and_field_types() == {"x": "float", "y": "float", "score": "float"}
    fields = Skeleton.get_fields_and_field_types()
    assert fields == {
        "header": "std_msgs/Header", "id": "string", "track_state": "uint8", "score": "float",
        "predicted": "boolean", "pose_age": "float",
        "x_min": "float", "y_min": "float", "x_max": "float", "y_max": "float", "format": "uint8",
        "keypoints": "sequence<pose_ros/Keypoint>", "frame_3d": "uint8",
        "keypoints_3d": "sequence<geometry_msgs/Point>", "landmarks": "sequence<pose_ros/Keypoint>",
        "landmarks_3d": "sequence<geometry_msgs/Point>", "velocities": "sequence<geometry_msgs/Vector3>",
        "left_hand_sign": "string", "left_hand_sign_score": "float", "right_hand_sign": "string",
        "right_hand_sign_score": "float"}
    # COCO-17 index constants in order, and the enumerations
    coco = ["NOSE", "LEFT_EYE", "RIGHT_EYE", "LEFT_EAR", "RIGHT_EAR", "LEFT_SHOULDER", "RIGHT_SHOULDER",
            "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_HIP", "RIGHT_HIP", "LEFT_KNEE",
            "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE"]
    assert [getattr(Skeleton, n) for n in coco] == list(range(17))
    assert (Skeleton.STATE_UNTRACKED, Skeleton.STATE_TENTATIVE, Skeleton.STATE_TRACKED, Skeleton.STATE_LOST) \
        == (0, 1, 2, 3)
    assert (Skeleton.FRAME_3D_NONE, Skeleton.FRAME_3D_CAMERA, Skeleton.FRAME_3D_BODY) == (0, 1, 2)
    assert Skeleton.FORMAT_COCO_17 == 0
    # a new message is the documented empty state
    s = Skeleton()
    assert (s.id, s.track_state, s.format, s.frame_3d, list(s.keypoints)) == ("", 0, 0, 0, [])


def test_serialization_round_trip_keeps_every_field():
    """CDR serialization (what DDS carries and bags store) round-trips, NaN keypoints included;
    float32 fields keep float32 precision."""
    from rclpy.serialization import deserialize_message, serialize_message

    sys.path.insert(0, str(HERE / "scripts"))
    from publish_two_people import make
    msg = make()
    msg.skeletons[0].left_hand_sign, msg.skeletons[0].left_hand_sign_score = "open_palm", 0.75
    data = serialize_message(msg)
    assert isinstance(data, bytes) and len(data) > 17 * 2 * 12
    back = deserialize_message(data, SkeletonArray)
    assert back.skeletons[0].left_hand_sign_score == 0.75  # (bytes are not compared: CDR padding is not zeroed)
    assert back.header == msg.header and (back.image_width, back.image_height) == (640, 480)
    for b, m in zip(back.skeletons, msg.skeletons, strict=True):
        assert (b.id, b.track_state, b.format, b.frame_3d, b.left_hand_sign) == \
            (m.id, m.track_state, m.format, m.frame_3d, m.left_hand_sign)
        assert (b.score, b.x_max) == (float(np.float32(m.score)), float(np.float32(m.x_max)))
        assert b.left_hand_sign_score == m.left_hand_sign_score
        for kb, km in zip(b.keypoints, m.keypoints, strict=True):
            if math.isnan(km.x):
                assert math.isnan(kb.x) and math.isnan(kb.y) and kb.score == 0.0
            else:
                assert (kb.x, kb.y, kb.score) == tuple(float(np.float32(v)) for v in (km.x, km.y, km.score))
        assert b.keypoints_3d == m.keypoints_3d and b.velocities == m.velocities


def test_two_people_round_trip(tmp_path):
    sys.path.insert(0, str(HERE / "scripts"))
    from publish_two_people import make
    expected = make()
    ros = RosSession()
    try:
        got = ros.collect(SkeletonArray, "/roundtrip")
        proc = start([sys.executable, str(HERE / "scripts" / "publish_two_people.py"), "20"], tmp_path / "pub.log")
        try:
            assert wait_for(lambda: len(got) > 0, 20), (tmp_path / "pub.log").read_text()
        finally:
            stop(proc)
    finally:
        ros.close()
    msg = got[0]
    assert msg.header.stamp.sec == 12 and msg.header.stamp.nanosec == 345 and msg.header.frame_id == "cam_optical"
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert [s.id for s in msg.skeletons] == ["a3f", "7c1"]
    for s, e in zip(msg.skeletons, expected.skeletons):
        for f in ("track_state", "score", "x_min", "y_min", "x_max", "y_max", "format", "frame_3d"):
            assert getattr(s, f) == getattr(e, f), f
        assert len(s.keypoints) == 17
        for k, ek in zip(s.keypoints, e.keypoints):
            if math.isnan(ek.x):
                assert math.isnan(k.x) and math.isnan(k.y) and k.score == 0.0
            else:
                assert (k.x, k.y) == (ek.x, ek.y) and abs(k.score - ek.score) < 1e-6
        assert [(p.x, p.y, p.z) for p in s.keypoints_3d] == [(p.x, p.y, p.z) for p in e.keypoints_3d]
        assert [(v.x, v.y) for v in s.velocities] == [(v.x, v.y) for v in e.velocities]
        assert s.header.stamp == msg.header.stamp
