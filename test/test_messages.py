"""Messages go through real DDS between processes with every field intact."""
from __future__ import annotations

import math
import sys
from pathlib import Path

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for

HERE = Path(__file__).parent


def test_message_contract():
    a = SkeletonArray()
    assert hasattr(a, "header") and hasattr(a, "skeletons")
    s = Skeleton()
    assert isinstance(s.id, str) and isinstance(s.score, float)
    k = Keypoint()
    assert {"x", "y", "score"} <= set(k.get_fields_and_field_types())
    assert Skeleton.LEFT_WRIST == 9 and Skeleton.RIGHT_ANKLE == 16 and Skeleton.NOSE == 0


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
