"""pose_ros.api on hand-built messages: arrays, NaN conventions, helpers, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_msgs.msg import Point, Vector3

from pose_ros import api
from pose_ros.api import Coco
from pose_ros.core import skeleton
from pose_ros.msg import Gesture, GestureArray, Keypoint, Skeleton, SkeletonArray

pytestmark = pytest.mark.filterwarnings("error")   # NaN handling must be warning-free


def person(pid: str, cx: float, top: float = 100.0, h: float = 200.0, z: float | None = None,
           hands_up: bool = False) -> Skeleton:
    """A standing person: box centred at ``cx``, height ``h``; 3D at depth ``z`` if given."""
    s = Skeleton(id=pid, track_state=Skeleton.STATE_TRACKED, score=0.9, format=Skeleton.FORMAT_COCO_17,
                 x_min=cx - h / 4, y_min=top, x_max=cx + h / 4, y_max=top + h)
    kps = [Keypoint(x=cx + (k % 3 - 1) * 10.0, y=top + 10.0 * k, score=0.8) for k in range(17)]
    if hands_up:
        for j in (Coco.LEFT_WRIST, Coco.RIGHT_WRIST):
            kps[j] = Keypoint(x=cx, y=top - 20.0, score=0.8)
    s.keypoints = kps
    if z is not None:
        s.frame_3d = Skeleton.FRAME_3D_CAMERA
        s.keypoints_3d = [Point(x=0.0, y=0.1 * k, z=z + 0.01 * k) for k in range(17)]
    return s


def array(*people: Skeleton, stamp: float = 5.25) -> SkeletonArray:
    m = SkeletonArray(image_width=640, image_height=480, skeletons=list(people))
    m.header.stamp.sec, m.header.stamp.nanosec = int(stamp), int(round((stamp % 1) * 1e9))
    m.header.frame_id = "cam"
    return m


def gesture(pid: str, name: str, event: int = Gesture.EVENT_START, **kw) -> Gesture:
    return Gesture(id=pid, gesture=name, event=event, confidence=0.9, direction=kw.pop("direction", math.nan), **kw)


def test_constants_are_the_core_ones():
    assert api.COCO17_NAMES is skeleton.COCO17_NAMES and api.COCO17_EDGES is skeleton.COCO17_EDGES
    assert api.Coco is skeleton.Coco and api.Coco.LEFT_WRIST == Skeleton.LEFT_WRIST


def test_to_numpy_shapes_and_missing_joints():
    a, b = person("a", 100.0, z=2.0), person("b", 500.0)
    a.keypoints[Coco.LEFT_EAR] = Keypoint(x=math.nan, y=math.nan, score=0.0)
    b.keypoints[Coco.NOSE] = Keypoint(x=50.0, y=60.0, score=0.0)   # score 0 but coordinates: still missing
    p = api.to_numpy(array(a, b))
    assert len(p) == 2 and p.ids == ["a", "b"]
    assert p.keypoints.shape == (2, 17, 3) and p.keypoints.dtype == np.float32
    assert p.boxes.shape == (2, 4) and p.scores.shape == (2,) and p.keypoints_3d.shape == (2, 17, 3)
    assert np.isnan(p.keypoints[0, Coco.LEFT_EAR, :2]).all() and p.keypoints[0, Coco.LEFT_EAR, 2] == 0
    assert np.isnan(p.keypoints[1, Coco.NOSE, :2]).all() and p.keypoints[1, Coco.NOSE, 2] == 0
    assert p.keypoints[0, Coco.NOSE, 0] == pytest.approx(90.0)
    assert np.isfinite(p.keypoints_3d[0]).all() and np.isnan(p.keypoints_3d[1]).all()
    assert list(p.frame_3d) == [Skeleton.FRAME_3D_CAMERA, Skeleton.FRAME_3D_NONE]
    assert p.stamp == pytest.approx(5.25) and p.frame_id == "cam" and (p.width, p.height) == (640, 480)
    assert p.index("b") == 1 and p.index("nobody") is None and p.index("") is None


def test_to_numpy_empty_array():
    p = api.to_numpy(array())
    assert len(p) == 0 and p.keypoints.shape == (0, 17, 3) and p.boxes.shape == (0, 4)
    assert p.scores.shape == (0,) and p.keypoints_3d.shape == (0, 17, 3)
    assert api.nearest_to_center(p) is None and api.nearest_to_camera(p) is None
    assert not api.hands_above_head(p).any()


def test_all_joints_missing_and_malformed_skeletons():
    blank = person("x", 300.0)
    blank.keypoints = [Keypoint(x=math.nan, y=math.nan, score=0.0) for _ in range(17)]
    blank.x_min = blank.y_min = blank.x_max = blank.y_max = math.nan
    short = Skeleton(id="short", keypoints=[Keypoint(x=1.0, y=2.0, score=0.9)] * 5)   # not COCO-17
    p = api.to_numpy(array(blank, short))
    assert np.isnan(p.keypoints[..., :2]).all() and (p.keypoints[..., 2] == 0).all()
    assert np.isnan(api.centers(p)).all() and np.isnan(api.box_heights(p)).all()
    assert api.nearest_to_center(p) is None and api.nearest_to_camera(p) is None
    assert math.isnan(api.joint_angle(p, 0, "left_elbow"))
    assert not api.hands_above_head(p).any()


def test_nearest_helpers():
    left, mid, right = person("l", 100.0, h=300.0), person("m", 330.0, h=100.0), person("r", 600.0)
    p = api.to_numpy(array(left, mid, right))
    assert api.nearest_to_center(p) == 1
    assert api.nearest_to_camera(p) == 0       # no 3D: the tallest box
    far, near = person("far", 320.0, h=300.0, z=4.0), person("near", 100.0, h=100.0, z=1.2)
    p3 = api.to_numpy(array(far, near))
    assert api.nearest_to_camera(p3) == 1      # 3D depth wins over box height
    assert api.depths(p3)[1] == pytest.approx(1.2 + 0.08, abs=1e-5)


def test_hands_above_head():
    p = api.to_numpy(array(person("a", 100.0, hands_up=True), person("b", 400.0)))
    assert list(api.hands_above_head(p)) == [True, False]


def test_joint_angle_delegates_to_features():
    s = person("a", 300.0)
    s.keypoints[Coco.LEFT_SHOULDER] = Keypoint(x=300.0, y=100.0, score=0.9)
    s.keypoints[Coco.LEFT_ELBOW] = Keypoint(x=300.0, y=150.0, score=0.9)
    s.keypoints[Coco.LEFT_WRIST] = Keypoint(x=350.0, y=150.0, score=0.9)
    p = api.to_numpy(array(s))
    assert api.joint_angle(p, 0, "left_elbow") == pytest.approx(math.pi / 2)
    with pytest.raises(ValueError, match="unknown joint angle"):
        api.joint_angle(p, 0, "left_nostril")


def test_who_made_and_tracker():
    msg = GestureArray(gestures=[gesture("a", "wave_left"), gesture("b", "wave_left", Gesture.EVENT_END),
                                 gesture("a", "wave_left"), gesture("c", "hands_up_both")])
    assert api.who_made(msg, "wave_left") == ["a"]
    assert api.who_made(list(msg.gestures), "hands_up_both") == ["c"]
    assert api.who_made(GestureArray(), "wave_left") == []
    t = api.GestureTracker()
    t.update(msg)
    assert t.active("a") == {"wave_left"} and t.people_with("hands_up_both") == ["c"]
    assert t.start_event("c", "hands_up_both").confidence == pytest.approx(0.9)
    # an END for an id never seen, and for a gesture never started: ignored, no crash
    t.update([gesture("ghost", "wave_left", Gesture.EVENT_END), gesture("a", "t_pose", Gesture.EVENT_END)])
    assert t.active("ghost") == set() and t.active("a") == {"wave_left"}
    t.update([gesture("c", "hands_up_both", Gesture.EVENT_END)])
    assert t.people_with("hands_up_both") == [] and t.start_event("c", "hands_up_both") is None
    t.forget("a")
    assert t.active("a") == set()


def test_pointing_ray_and_direction():
    g = gesture("a", "point_left", direction=math.pi, has_ray=True, ray_origin=Point(x=0.1, y=0.0, z=2.0),
                ray_direction=Vector3(x=-2.0, y=0.0, z=0.0))
    origin, d = api.pointing_ray(g)
    assert origin == pytest.approx([0.1, 0.0, 2.0]) and d == pytest.approx([-1.0, 0.0, 0.0])
    assert api.pointing_direction_2d(g) == pytest.approx([-1.0, 0.0], abs=1e-12)
    flat = gesture("a", "point_right", direction=0.0)
    assert api.pointing_ray(flat) is None and api.pointing_direction_2d(flat) == pytest.approx([1.0, 0.0])
    assert api.pointing_direction_2d(gesture("a", "wave_left")) is None      # direction NaN
    bad = gesture("a", "point_left", has_ray=True, ray_direction=Vector3(x=0.0, y=0.0, z=0.0))
    assert api.pointing_ray(bad) is None


@pytest.mark.parametrize("d", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (-1, 0, 0), (0.3, -0.5, 0.8)])
def test_quaternion_from_x_to(d):
    x, y, z, w = api.quaternion_from_x_to(np.array(d, dtype=float))
    u = np.array(d, dtype=float) / np.linalg.norm(d)
    # rotate +x by q: first column of the rotation matrix
    col = np.array([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)])
    assert col == pytest.approx(u, abs=1e-9) and math.hypot(x, y, z, w) == pytest.approx(1.0)
