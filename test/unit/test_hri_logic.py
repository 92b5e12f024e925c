"""REP-155 bodies without ROS: Skeleton2D slots, regions, posture/gesture names, body frames, lifetimes."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pose_ros.core import hri
from pose_ros.core.skeleton import Coco

W, H = 640, 480


def person_facing_camera() -> np.ndarray:
    """COCO-17 (x, y, score): the person's left side on the image's right, as when facing the camera."""
    kp = np.zeros((17, 3))
    pts = {Coco.NOSE: (320, 100), Coco.LEFT_EYE: (330, 90), Coco.RIGHT_EYE: (310, 90), Coco.LEFT_EAR: (340, 95),
           Coco.RIGHT_EAR: (300, 95), Coco.LEFT_SHOULDER: (360, 150), Coco.RIGHT_SHOULDER: (280, 150),
           Coco.LEFT_ELBOW: (380, 210), Coco.RIGHT_ELBOW: (260, 210), Coco.LEFT_WRIST: (390, 260),
           Coco.RIGHT_WRIST: (250, 260), Coco.LEFT_HIP: (345, 270), Coco.RIGHT_HIP: (295, 270),
           Coco.LEFT_KNEE: (345, 350), Coco.RIGHT_KNEE: (295, 350), Coco.LEFT_ANKLE: (345, 430),
           Coco.RIGHT_ANKLE: (295, 430)}
    for i, (x, y) in pts.items():
        kp[i] = (x, y, 0.9)
    return kp


def test_skeleton2d_points_by_constant_name_with_a_neck():
    kp = person_facing_camera()
    kp[Coco.LEFT_KNEE] = (np.nan, np.nan, 0.0)
    pts = hri.skeleton2d_points(kp, W, H)
    assert len(pts) == 18
    assert pts["LEFT_EAR"] == pytest.approx((340 / W, 95 / H, 0.9))   # slot 16 upstream, not OpenPose's 17
    assert pts["RIGHT_EYE"] == pytest.approx((310 / W, 90 / H, 0.9))
    assert pts["NECK"] == pytest.approx((320 / W, 150 / H, 0.9))       # the shoulders' midpoint
    assert pts["LEFT_KNEE"] == (0.0, 0.0, 0.0)                          # undetected: inside [0, 1], c = 0
    assert pts["LEFT_SHOULDER"][0] > pts["RIGHT_SHOULDER"][0]           # facing the camera
    kp[Coco.RIGHT_SHOULDER, 2] = 0.0
    assert hri.skeleton2d_points(kp, W, H)["NECK"] == (0.0, 0.0, 0.0)  # no neck without both shoulders


def test_every_skeleton2d_slot_gets_exactly_one_point():
    msg_dir = Path(__file__).resolve().parents[2] / "ros_msgs" / "hri_msgs" / "msg"
    consts = {}
    for line in (msg_dir / "Skeleton2D.msg").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("uint8 ") and "=" in line:
            name, value = line[len("uint8 "):].split("=")
            consts[name.strip()] = int(value)
    pts = hri.skeleton2d_points(person_facing_camera(), W, H)
    assert set(pts) == set(consts) and sorted(consts.values()) == list(range(18))


def test_roi_and_crop_are_clipped_to_the_image():
    box = np.array([-10.0, 20.0, 700.0, 240.0])
    assert hri.normalized_roi(box, W, H) == pytest.approx((0.0, 20 / H, 1.0, 0.5))
    assert hri.crop_box(box, W, H) == (0, 20, W, 240)
    assert hri.crop_box(np.array([700.0, 0, 800, 10]), W, H) is None
    assert hri.crop_box(np.array([np.nan, 0, 8, 10]), W, H) is None


def test_body_ids_are_valid_ros_name_tokens_and_map_back():
    assert hri.body_id("7c1") == "b7c1" and hri.track_id("b7c1") == "7c1" and hri.track_id("body_b7c1") == "7c1"


@pytest.mark.parametrize("label, want", [("standing", "STANDING"), ("sitting", "SITTING"), ("lying", "LAYING"),
                                         ("squatting", "CROUCHING"), ("walking", "OTHER"), ("unknown", "OTHER"),
                                         ("sitting_down", "OTHER")])
def test_posture_from_action_labels(label, want):
    assert hri.posture_name(label) == want


def test_gestures_and_hand_signs_map_to_constants_with_handedness():
    assert hri.gesture_for("hand_up_left") == ("LEFT_HAND_RAISED", "LEFT")
    assert hri.gesture_for("wave_right") == ("WAVING", "RIGHT")
    assert hri.gesture_for("hands_up_both") == ("BOTH_HANDS_RAISED", "INDEPENDENT")
    assert hri.gesture_for("arms_crossed") == ("ARMS_CROSSED", "INDEPENDENT")
    assert hri.gesture_for("hand_thumb_up_right") == ("THUMB_UP", "RIGHT")
    assert hri.gesture_for("hand_open_palm_left") == ("OPEN_PALM", "LEFT")
    assert hri.gesture_for("hand_none_left") is None and hri.gesture_for("t_pose") is None
    assert hri.gesture_for("point_left") is None and hri.gesture_for("fall") is None


def test_gesture_state_follows_start_and_end_events():
    g = hri.GestureState()
    assert g.current("b1") == ("OTHER", "INDEPENDENT")
    assert g.update("b1", "hand_up_right", True) and g.current("b1") == ("RIGHT_HAND_RAISED", "RIGHT")
    assert g.update("b1", "wave_right", True) and g.current("b1") == ("WAVING", "RIGHT")
    assert g.update("b1", "hand_victory_left", True) and g.current("b1") == ("WAVING", "RIGHT")
    assert not g.update("b1", "t_pose", True)              # no constant: no message
    assert not g.update("b1", "wave_right", True)          # no change
    assert g.update("b1", "wave_right", False) and g.update("b1", "hand_up_right", False)
    assert g.current("b1") == ("VICTORY", "LEFT")
    g.forget("b1")
    assert g.current("b1") == ("OTHER", "INDEPENDENT")


def body_3d(yaw: float = 0.0, depth: float = 2.5) -> np.ndarray:
    """Camera-frame (x right, y down, z forward) keypoints of a person ``depth`` m away, facing the
    camera when ``yaw`` is 0 (their left on +x), turned ``yaw`` rad about the vertical."""
    local = np.zeros((17, 3))  # body coordinates: x to the person's left, y down, z away from the camera
    for (lft, rgt), y in (((Coco.LEFT_HIP, Coco.RIGHT_HIP), 0.0), ((Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER), -0.5)):
        local[lft], local[rgt] = (0.15, y, 0.0), (-0.15, y, 0.0)
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    out = local @ rot.T + (0.3, 0.2, depth)
    mask = np.zeros(17, bool)
    mask[[Coco.LEFT_HIP, Coco.RIGHT_HIP, Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER]] = True
    out[~mask] = np.nan
    return out


def test_body_frame_at_the_hip_centre_facing_the_camera_z_up():
    f = hri.BodyFrames()
    pose = f.update("b1", body_3d(), np.full(17, 0.9), 1.0)
    assert pose.origin == pytest.approx((0.3, 0.2, 2.5))
    x, y, z = pose.rotation.T
    assert x == pytest.approx((0, 0, -1), abs=1e-9)   # forward: towards the camera
    assert y == pytest.approx((1, 0, 0), abs=1e-9)    # the person's left: image right
    assert z == pytest.approx((0, -1, 0), abs=1e-9)   # up: against the image's down
    q = np.array(pose.quaternion)
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert np.linalg.det(pose.rotation) == pytest.approx(1.0)


def test_body_frame_turns_with_the_torso_and_refuses_old_stamps():
    f = hri.BodyFrames(min_cutoff=1e3)   # nearly no smoothing: the raw heading
    f.update("b1", body_3d(0.0), np.full(17, 0.9), 1.0)
    pose = f.update("b1", body_3d(math.pi / 2), np.full(17, 0.9), 1.1)
    x = pose.rotation[:, 0]
    assert abs(x[1]) < 1e-9 and np.linalg.norm(x) == pytest.approx(1.0)
    assert abs(x[0]) > 0.9   # turned a quarter: facing sideways along the image's x axis
    assert f.update("b1", body_3d(), np.full(17, 0.9), 1.1) is None    # same stamp: nothing
    assert f.update("b1", body_3d(), np.full(17, 0.9), 1.05) is None   # older stamp: nothing
    no_hip = body_3d()
    no_hip[Coco.LEFT_HIP] = np.nan
    assert f.update("b1", no_hip, np.full(17, 0.9), 2.0) is None


def test_body_frame_is_smoothed_and_gives_velocity():
    f = hri.BodyFrames()
    rng = np.random.default_rng(0)
    raw, out = [], []
    for i in range(60):
        k = body_3d() + rng.normal(0, 0.02, (17, 3))
        k[:, 0] += 0.5 * i / 30.0   # walking right at 0.5 m/s
        raw.append((k[Coco.LEFT_HIP] + k[Coco.RIGHT_HIP]) / 2)
        out.append(f.update("b1", k, np.full(17, 0.9), i / 30.0))
    jitter = lambda a: np.std(np.diff(np.array(a)[:, 2]))   # noqa: E731
    assert jitter([p.origin for p in out]) < 0.5 * jitter(raw)
    assert out[-1].velocity[0] == pytest.approx(0.5, abs=0.15)


def test_lifetimes_add_and_forget_after_image_time():
    life = hri.BodyLifetimes(forget_after=2.0)
    assert life.update(0.0, ["ba", "bb"]) == (["ba", "bb"], [])
    assert life.update(1.0, ["ba"]) == ([], [])
    assert life.update(3.5, ["ba"]) == ([], ["bb"])        # bb last seen at 0.0
    assert life.update(1.0, []) == ([], [])                 # stamps went back (bag loop): nobody expires
    assert life.update(3.5, []) == ([], ["ba"])


# RIHS01 type hashes of upstream's messages, from generated type descriptions: ros4hri/hri_msgs tag
# 2.0.0 (humble-devel) for the five unchanged since, its Gesture as released from 2.2.0 (docs.ros.org,
# with handedness), ros2/geometry2 jazzy for TFMessage.
UPSTREAM_HASHES = {
    "hri_msgs/msg/BodyPosture": "RIHS01_fa4258f18cc616a912e5aa1d48dbfead0fa5235a8546b4c69b70d64db7cef570",
    "hri_msgs/msg/Gesture": "RIHS01_06e95e9d3a204e075adfa05b9d737e48c51e1a2004ef762886ff82438bc9958d",
    "hri_msgs/msg/IdsList": "RIHS01_7e0812d1ac945c98fd3e393568d581ad0ab567f37b24eff633eab778c1bfe62d",
    "hri_msgs/msg/NormalizedPointOfInterest2D":
        "RIHS01_cc1d2f720c82afeb850ff1dbf66f41ecb7caf19f842987f1247e66160cf03953",
    "hri_msgs/msg/NormalizedRegionOfInterest2D":
        "RIHS01_2e50c93f1ca166ee77af9a5424dc951ae4e452b740162a7f83c082d917dcaff5",
    "hri_msgs/msg/Skeleton2D": "RIHS01_1cb61f012db6ca43c48fa0097ccab9a00108ea39323c13f01bb983323c1e3420",
    "tf2_msgs/msg/TFMessage": "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
}


def test_built_messages_have_upstream_type_hashes():
    import sys
    share = Path(sys.prefix) / "share"
    if not (share / "hri_msgs" / "msg").is_dir():
        pytest.skip("hri_msgs comes from the system ROS install here (make setup builds it only in the venv)")
    for name, want in UPSTREAM_HASHES.items():
        pkg, _, msg = name.split("/")
        desc = json.loads((share / pkg / "msg" / f"{msg}.json").read_text())
        got = {h["type_name"]: h["hash_string"] for h in desc["type_hashes"]}
        assert got[name] == want, name


def test_transform_tree_chains_the_latest_transforms():
    from pose_ros.core.hri import quaternion_from_matrix
    from pose_ros.core.transforms import TransformTree
    tree = TransformTree()
    # camera 1 m above base_link, looking along base_link's x (optical: z forward, x right, y down)
    cam_rot = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=float)
    tree.set("base_link", "camera", (0.0, 0.0, 1.0), quaternion_from_matrix(cam_rot), 0.0)
    tree.set("camera", "body_b1", (0.5, 0.2, 2.5), (0.0, 0.0, 0.0, 1.0), 1.0)
    pose, oldest = tree.lookup("base_link", "body_b1")
    assert pose.translation == pytest.approx((2.5, -0.5, 0.8)) and oldest == 0.0
    back, _ = tree.lookup("body_b1", "base_link")
    assert (back @ pose).translation == pytest.approx((0, 0, 0), abs=1e-12)
    tree.set("camera", "body_b1", (9.0, 9.0, 9.0), (0.0, 0.0, 0.0, 1.0), 0.5)   # older: ignored
    assert tree.lookup("camera", "body_b1")[0].translation == pytest.approx((0.5, 0.2, 2.5))
    assert tree.lookup("map", "body_b1") is None


def test_graph_starts_hri_bridge_unless_turned_off():
    from pose_ros.graph import build_graph, resolve_args
    [hri_node] = [s for s in build_graph(resolve_args({"camera_topic": "/cam/color"})) if s.executable == "hri_bridge"]
    assert hri_node.namespace == "/pose"
    assert hri_node.remappings == [("image", "/cam/color"), ("image/compressed", "/cam/color/compressed")]
    assert "compressed" not in hri_node.overrides   # the params file's value applies
    [hri_node] = [s for s in build_graph(resolve_args({"compressed": "true"})) if s.executable == "hri_bridge"]
    assert hri_node.overrides["compressed"] is True   # cropped reads what the estimator reads
    assert all(s.executable != "hri_bridge" for s in build_graph(resolve_args({"hri": "false"})))
    with pytest.raises(ValueError):
        resolve_args({"hri": "maybe"})
