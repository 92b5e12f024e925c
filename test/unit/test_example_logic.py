"""The examples' decisions (pose_ros.examples.logic) without ROS."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pose_ros.api import Frame3D, People, TrackState
from pose_ros.examples.logic import FollowGains, Follower, StopLatch, follow_command, pointing_target

W, H = 640, 480


def people(t: float, *rows: tuple, width: int = W, height: int = H) -> People:
    """rows: (id, centre x, box height px, depth m or None, track state)."""
    n = len(rows)
    kp = np.full((n, 17, 3), np.nan, np.float32)
    kp[..., 2] = 0.0
    kp3 = np.full((n, 17, 3), np.nan, np.float32)
    boxes = np.zeros((n, 4), np.float32)
    frames = np.zeros(n, np.uint8)
    for i, (pid, cx, h, z, state) in enumerate(rows):
        boxes[i] = (cx - h / 4, 100, cx + h / 4, 100 + h)
        kp[i, :, 0], kp[i, :, 1], kp[i, :, 2] = cx, np.linspace(100, 100 + h, 17), 0.8
        if z is not None:
            kp3[i, :, 2], frames[i] = z, Frame3D.CAMERA
    return People(ids=[r[0] for r in rows], keypoints=kp, boxes=boxes, scores=np.ones(n, np.float32),
                  keypoints_3d=kp3, frame_3d=frames, track_states=np.array([r[4] for r in rows], np.uint8),
                  stamp=t, frame_id="cam", width=width, height=height)


T = TrackState.TRACKED


def test_stop_latch_holds_for_the_delay_after_the_last_lowering():
    s = StopLatch(release_delay=1.0)
    assert s.update(100.0, set()) == ([], False) and not s.stopped
    assert s.update(100.0, {"p1"}) == (["p1"], False) and s.stopped
    assert s.update(100.5, {"p1", "p2"}) == (["p2"], False)
    assert s.update(101.0, set()) == ([], False) and s.stopped          # lowered at 101.0
    assert s.update(101.8, set()) == ([], False) and s.stopped          # 0.8 s
    assert s.update(101.9, {"p1"}) == (["p1"], False)                   # up again: restarts
    assert s.update(102.5, set()) == ([], False)
    assert s.update(103.2, set()) == ([], False) and s.stopped          # 0.7 s after the second lowering
    assert s.update(103.6, set()) == ([], True) and not s.stopped       # 1.1 s: released, once
    assert s.update(104.0, set()) == ([], False)


def test_stop_latch_zero_delay_releases_on_the_lowering_message():
    s = StopLatch(release_delay=0.0)
    s.update(1.0, {"a"})
    assert s.update(1.5, set()) == ([], True)


def test_follow_command_turns_toward_and_keeps_distance():
    g = FollowGains()
    left_far = people(1.0, ("a", 100.0, 100.0, None, T))
    lin, ang = follow_command(left_far, 0, g)
    assert ang > 0 and lin > 0, "left of centre: turn left; small box: drive on"
    right_near = people(1.0, ("b", 540.0, 200.0, 1.0, T))
    lin, ang = follow_command(right_near, 0, g)
    assert ang < 0 and lin == pytest.approx(-0.25), "1.0 m by depth, 0.5 m too close at gain 0.5"
    centred = people(1.0, ("c", 320.0, 0.6 * H, None, T))
    assert follow_command(centred, 0, g) == pytest.approx((0.0, 0.0), abs=1e-6), "at the target height: hold"
    lin, ang = follow_command(people(1.0, ("d", 0.0, 10.0, None, T)), 0, FollowGains(max_angular=0.3, max_linear=0.1))
    assert ang == pytest.approx(0.3) and lin == pytest.approx(0.1), "clipped"


def test_follow_command_unknown_position_is_none():
    p = people(1.0, ("a", 320.0, 100.0, None, T))
    p.boxes[:] = np.nan
    p.keypoints[:] = (np.nan, np.nan, 0.0)
    assert follow_command(p, 0, FollowGains()) is None
    assert follow_command(people(1.0, ("a", 320.0, 100.0, None, T), width=0), 0, FollowGains()) is None


def test_follower_only_a_wave_changes_the_target_and_stops_once():
    f, g = Follower(lost_timeout=1.0), FollowGains()
    assert f.frame(people(10.0, ("a", 100.0, 200.0, None, T)), g) == ("none", None, "")
    assert f.waved("a", 10.0) == "" and f.waved("a", 10.1) is None and f.waved("", 10.1) is None
    what, cmd, note = f.frame(people(10.1, ("a", 100.0, 200.0, None, T), ("b", 540.0, 200.0, 1.0, T)), g)
    assert what == "follow" and note == "start" and cmd[1] > 0
    assert f.frame(people(10.2, ("a", 120.0, 200.0, None, T)), g)[2] == "", "already moving"
    assert f.waved("b", 10.3) == "a" and f.target == "b"
    assert f.frame(people(10.4, ("a", 320.0, 200.0, None, T)), g) == ("none", None, ""), "never follows a again alone"
    what, _, why = f.frame(people(11.5, ("a", 320.0, 200.0, None, T)), g)
    assert what == "stop" and "target b lost for 1.2 s" in why
    assert f.frame(people(11.9, ("a", 320.0, 200.0, None, T)), g) == ("none", None, ""), "the stop is sent once"
    assert f.frame(people(12.0, ("b", 320.0, 200.0, None, TrackState.LOST)), g)[0] == "none", "a LOST track is not seen"
    assert f.frame(people(12.1, ("b", 320.0, 200.0, None, T)), g)[0] == "follow", "the target came back"


def test_follower_stop_is_silent_when_not_moving():
    f = Follower(lost_timeout=1.0)
    assert f.stop("no input") == ("none", None, "")


def test_pointing_target_along_the_ray():
    d = np.array([-0.6, 0.0, -0.8])
    pos, q = pointing_target((np.array([0.2, -0.1, 2.0]), d), Frame3D.CAMERA, 2.0)
    assert pos == pytest.approx([0.2 - 1.2, -0.1, 2.0 - 1.6])
    x_axis = [1 - 2 * (q[1] ** 2 + q[2] ** 2), 2 * (q[0] * q[1] + q[3] * q[2]), 2 * (q[0] * q[2] - q[3] * q[1])]
    assert x_axis == pytest.approx(d)
    assert math.isclose(sum(v * v for v in q), 1.0)
    assert pointing_target(None, Frame3D.CAMERA, 2.0) == "no_ray"
    assert pointing_target((np.zeros(3), np.array([1.0, 0, 0])), Frame3D.BODY, 2.0) == "body_frame"
    found = pointing_target((np.zeros(3), np.array([1.0, 0, 0])), None, 2.0)
    assert isinstance(found, tuple), "unknown frame: trust the ray"
