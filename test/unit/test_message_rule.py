"""One rule for cleaning a SkeletonArray: the nodes' parser and api.to_numpy see the same data."""
from __future__ import annotations

import numpy as np

from pose_ros import api
from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from pose_ros.nodes import conversions as conv

from geometry_msgs.msg import Point

GARBAGE = [float("nan"), float("inf"), -float("inf"), 1e30, -1e7, 3.0e38, 12.5, -0.0]


def garbage_skeleton(seed: int) -> Skeleton:
    rng = np.random.default_rng(seed)

    def pick() -> float:
        return float(rng.choice(GARBAGE)) if rng.random() < 0.5 else float(rng.uniform(-50, 700))

    s = Skeleton(id=f"t{seed}", format=0)
    s.keypoints = [Keypoint(x=pick(), y=pick(), score=float(rng.choice([-1.0, 0.0, 0.5, 2.0, float("nan"),
                                                                        float("inf"), 0.9])))
                   for _ in range(17)]
    s.keypoints_3d = [Point(x=pick(), y=pick(), z=pick()) for _ in range(17)]
    s.frame_3d = int(rng.choice([0, 1, 2, 7]))
    s.track_state = int(rng.choice([0, 1, 2, 3, 9]))
    s.score = float(rng.choice([float("nan"), 5.0, -2.0, 0.7, float("inf")]))
    s.pose_age = float(rng.choice([-3.0, float("inf"), float("nan"), 0.25]))
    box = rng.choice(["ok", "inverted", "empty", "inf", "huge"])
    s.x_min, s.y_min, s.x_max, s.y_max = {"ok": (10.0, 20.0, 50.0, 90.0), "inverted": (50.0, 20.0, 10.0, 90.0),
                                          "empty": (0.0, 0.0, 0.0, 0.0), "inf": (0.0, 0.0, float("inf"), 9.0),
                                          "huge": (0.0, 0.0, 1e9, 9.0)}[str(box)]
    return s


def test_to_numpy_cleans_like_the_nodes():
    msg = SkeletonArray(image_width=640, image_height=480)
    msg.skeletons = [garbage_skeleton(i) for i in range(60)]
    people = api.to_numpy(msg)
    parsed = conv.msg_to_people(msg)
    assert len(parsed) == len(people.ids) == 60
    for i, p in enumerate(parsed):
        np.testing.assert_array_equal(people.keypoints[i], p.keypoints, err_msg=f"keypoints of skeleton {i}")
        assert people.scores[i] == np.float32(p.score)
        if p.box is None:
            assert np.isnan(people.boxes[i]).all(), f"box of skeleton {i}"
        else:
            np.testing.assert_array_equal(people.boxes[i], p.box)
        assert people.frame_3d[i] == p.frame_3d and people.track_states[i] == p.track_state
        if p.keypoints_3d is None:
            assert np.isnan(people.keypoints_3d[i]).all()
        else:
            np.testing.assert_array_equal(people.keypoints_3d[i], p.keypoints_3d)
        assert people.pose_age[i] == np.float32(p.pose_age)
    kp = people.keypoints
    seen = kp[..., 2] > 0
    assert (np.abs(kp[seen][:, :2]) <= 1e6).all() and (kp[..., 2] <= 1).all() and (kp[..., 2] >= 0).all()
    assert np.isnan(kp[~seen][:, :2]).all()
