"""Pose normalisation, joint angles and track windows."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pose_ros.core.features.pose import (
    JOINT_ANGLE_NAMES, TrackWindow, joint_angle_array, joint_angles, normalize_pose, torso_length)
from pose_ros.core.skeleton import Coco, Person

pytestmark = pytest.mark.filterwarnings("error")   # NaN handling must be warning-free

C = Coco
MISSING = (np.nan, np.nan, 0.0)


def standing(hip=(320.0, 300.0), scale: float = 1.0, *, l_elbow: float = 180.0,
             r_arm_out: float = 0.0, rotate: float = 0.0, knee: float = 180.0) -> np.ndarray:
    """Front-view standing person, torso 100 px * scale, y down.

    ``l_elbow``: interior left elbow angle (forearm bends outward, 180 = straight);
    ``r_arm_out``: right arm (straight) raised sideways, degrees from hanging down;
    ``knee``: interior angle of both knees (shin bends backward in the image plane);
    ``rotate``: whole body about the hip centre, positive = head toward image right.
    """
    p = np.zeros((17, 2))
    p[C.LEFT_HIP], p[C.RIGHT_HIP] = (25, 0), (-25, 0)
    p[C.LEFT_SHOULDER], p[C.RIGHT_SHOULDER] = (37.5, -100), (-37.5, -100)
    p[C.NOSE] = (0, -145)
    p[C.LEFT_EYE], p[C.RIGHT_EYE] = (10, -153), (-10, -153)
    p[C.LEFT_EAR], p[C.RIGHT_EAR] = (20, -148), (-20, -148)
    p[C.LEFT_ELBOW] = p[C.LEFT_SHOULDER] + (0, 60)
    b = math.radians(180.0 - l_elbow)
    p[C.LEFT_WRIST] = p[C.LEFT_ELBOW] + 55 * np.array([math.sin(b), math.cos(b)])
    a = math.radians(r_arm_out)
    d = np.array([-math.sin(a), math.cos(a)])
    p[C.RIGHT_ELBOW] = p[C.RIGHT_SHOULDER] + 60 * d
    p[C.RIGHT_WRIST] = p[C.RIGHT_ELBOW] + 55 * d
    k = math.radians(180.0 - knee)
    for h, kn, an in ((C.LEFT_HIP, C.LEFT_KNEE, C.LEFT_ANKLE),
                      (C.RIGHT_HIP, C.RIGHT_KNEE, C.RIGHT_ANKLE)):
        p[kn] = p[h] + (0, 85)
        p[an] = p[kn] + 80 * np.array([0.0, 1.0]) @ np.array(
            [[math.cos(k), -math.sin(k)], [math.sin(k), math.cos(k)]]).T
    f = math.radians(rotate)
    rot = np.array([[math.cos(f), -math.sin(f)], [math.sin(f), math.cos(f)]])
    p = p @ rot.T * scale + np.asarray(hip)
    return np.column_stack([p, np.full(17, 0.9)])


# ---------------------------------------------------------------------- normalise
def test_normalize_pose_centre_and_scale() -> None:
    n = normalize_pose(standing())
    hc = n[[C.LEFT_HIP, C.RIGHT_HIP], :2].mean(axis=0)
    sc = n[[C.LEFT_SHOULDER, C.RIGHT_SHOULDER], :2].mean(axis=0)
    np.testing.assert_allclose(hc, [0, 0], atol=1e-12)
    np.testing.assert_allclose(sc, [0, -1], atol=1e-12)
    assert n.shape == (17, 3) and np.all(n[:, 2] == pytest.approx(0.9))


def test_normalize_pose_is_translation_and_scale_invariant_batched() -> None:
    a, b = standing(), standing(hip=(50.0, 90.0), scale=0.3)
    out = normalize_pose(np.stack([a, b]))
    assert out.shape == (2, 17, 3)
    np.testing.assert_allclose(out[0], out[1], atol=1e-9)


def test_normalize_pose_fallbacks() -> None:
    kp = standing()
    kp[[C.LEFT_HIP, C.RIGHT_HIP]] = MISSING
    n = normalize_pose(kp, box=np.array([0, 0, 100, 300.0]))
    sc = n[[C.LEFT_SHOULDER, C.RIGHT_SHOULDER], :2].mean(axis=0)
    np.testing.assert_allclose(sc, [0, 0], atol=1e-12)                      # origin
    assert n[C.LEFT_ANKLE, 1] == pytest.approx((465 - 200) / 100.0)        # box h / 3
    assert np.isnan(n[C.LEFT_HIP, :2]).all() and n[C.LEFT_HIP, 2] == 0.0
    n2 = normalize_pose(kp)                     # no box: keypoint extent / 3
    assert np.isfinite(n2[C.NOSE, :2]).all()


def test_normalize_pose_one_hip_and_nothing_visible() -> None:
    kp = standing()
    kp[C.RIGHT_HIP] = MISSING
    n = normalize_pose(kp)
    np.testing.assert_allclose(n[C.LEFT_HIP, :2], [0, 0], atol=1e-12)
    empty = np.column_stack([np.full((17, 2), np.nan), np.zeros(17)])
    e = normalize_pose(empty)
    assert np.isnan(e[:, :2]).all() and (e[:, 2] == 0).all()
    single = np.zeros((17, 3))
    single[C.NOSE] = (10, 10, 0.9)              # one joint: scale 1, origin itself
    np.testing.assert_allclose(normalize_pose(single)[C.NOSE], [0, 0, 0.9])


def test_low_score_is_missing_with_min_score() -> None:
    kp = standing()
    kp[C.NOSE, 2] = 0.1
    assert np.isnan(normalize_pose(kp, min_score=0.2)[C.NOSE, 0])
    assert np.isfinite(normalize_pose(kp)[C.NOSE, 0])


def test_torso_length() -> None:
    assert torso_length(standing(scale=2.0)) == pytest.approx(200.0)
    kp = standing()
    kp[C.LEFT_SHOULDER] = kp[C.RIGHT_SHOULDER] = MISSING
    assert np.isnan(torso_length(kp))


# ---------------------------------------------------------------------- angles
def test_joint_angles_standing_straight() -> None:
    a = joint_angles(standing())
    assert list(a) == list(JOINT_ANGLE_NAMES)
    for n in ("left_elbow", "right_elbow", "left_knee", "right_knee"):
        assert a[n] == pytest.approx(math.pi, abs=1e-9)
    for n in ("left_hip", "right_hip"):
        assert a[n] == pytest.approx(math.pi, abs=0.15)          # shoulders a bit wider
    assert a["left_shoulder"] == pytest.approx(math.atan2(12.5, 100), abs=1e-9)
    assert a["trunk_lean"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("elbow", [60.0, 90.0, 135.0])
def test_elbow_and_knee_angles(elbow: float) -> None:
    a = joint_angles(standing(l_elbow=elbow, knee=elbow))
    assert a["left_elbow"] == pytest.approx(math.radians(elbow), abs=1e-9)
    assert a["left_knee"] == pytest.approx(math.radians(elbow), abs=1e-9)
    assert a["right_elbow"] == pytest.approx(math.pi, abs=1e-9)


def test_shoulder_angle_and_trunk_lean_sign() -> None:
    a = joint_angles(standing(r_arm_out=90.0))
    # right shoulder -> right hip is 12.5 px inward over 100 px down
    assert a["right_shoulder"] == pytest.approx(math.pi / 2 + math.atan2(12.5, 100), abs=1e-9)
    assert joint_angles(standing(rotate=30))["trunk_lean"] == pytest.approx(math.radians(30))
    assert joint_angles(standing(rotate=-90))["trunk_lean"] == pytest.approx(-math.pi / 2)
    # a rigid rotation keeps the limb angles
    assert joint_angles(standing(rotate=70, l_elbow=90))["left_elbow"] == \
        pytest.approx(math.pi / 2)


def test_joint_angles_missing_joints_are_nan() -> None:
    kp = standing()
    kp[C.LEFT_WRIST] = MISSING
    kp[C.RIGHT_KNEE, 2] = 0.0
    a = joint_angles(kp)
    assert math.isnan(a["left_elbow"]) and math.isnan(a["right_knee"])
    assert math.isnan(a["right_hip"]) and math.isfinite(a["left_knee"])
    empty = np.column_stack([np.full((17, 2), np.nan), np.zeros(17)])
    assert all(math.isnan(v) for v in joint_angles(empty).values())
    coincident = standing()
    coincident[C.LEFT_WRIST] = coincident[C.LEFT_ELBOW]       # zero-length forearm
    assert math.isnan(joint_angles(coincident)["left_elbow"])


def test_joint_angles_3d_and_array() -> None:
    kp = standing(l_elbow=90.0, rotate=20)
    pts = np.column_stack([kp[:, :2] / 100.0, np.full(17, 3.0)])
    pts[C.LEFT_WRIST, 2] = 3.0 - 0.3             # forearm also toward the camera
    a3 = joint_angles(pts, is_3d=True)
    assert a3["left_elbow"] == pytest.approx(math.pi / 2, abs=1e-9)   # still 90 deg
    assert a3["trunk_lean"] == pytest.approx(math.radians(20), abs=1e-9)
    pts[C.RIGHT_ELBOW] = np.nan
    assert math.isnan(joint_angles(pts, is_3d=True)["right_elbow"])
    seq = np.stack([standing(), standing(l_elbow=90.0), kp])
    arr = joint_angle_array(seq)
    assert arr.shape == (3, len(JOINT_ANGLE_NAMES))
    np.testing.assert_allclose(arr[1], list(joint_angles(seq[1]).values()))
    with pytest.raises(ValueError):
        joint_angles(seq)


def test_track_window_drops_old_and_resets_on_backwards_time() -> None:
    w = TrackWindow(window=1.0)
    kp = standing()
    for k in range(45):                         # 1.5 s at 30 fps
        w.add(k / 30.0, Person(keypoints=kp, score=1.0), features=[k])
    assert w.stamps[0] == pytest.approx(14 / 30.0) and w.stamps[-1] == pytest.approx(44 / 30.0)
    assert len(w) == 31 and w.keypoints.shape == (31, 17, 3)
    assert w.duration == pytest.approx(1.0) and w.keypoints_3d is None
    assert w.features[:, 0].tolist() == list(range(14, 45))
    assert w.add(0.5, kp) is True               # bag loop: time went back
    assert len(w) == 1 and w.resets == 1 and w.start == 0.5 and w.features is None


def test_track_window_3d_and_frame_rate_independence() -> None:
    w = TrackWindow(window=2.0)
    kp = standing()
    p3 = Person(keypoints=kp, score=1.0, keypoints_3d=np.ones((17, 3)))
    w.add(0.0, kp)
    w.add(0.5, p3)
    k3 = w.keypoints_3d
    assert k3.shape == (2, 17, 3) and np.isnan(k3[0]).all() and (k3[1] == 1).all()
    for s in (1.0, 3.0):                        # a gap of 2 s drops everything older
        w.add(s, kp)
    assert w.stamps.tolist() == [1.0, 3.0]
    with pytest.raises(ValueError):
        TrackWindow(window=0.0)
