"""The example reaction nodes as separate processes over real DDS.

The test publishes hand-built SkeletonArray / GestureArray messages (synthetic header
stamps: the nodes measure time with message stamps) and checks the commands out.
Each node runs in its own namespace so the tests never hear each other.
"""
from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from geometry_msgs.msg import Point, PoseStamped, Twist, Vector3
from diagnostic_msgs.msg import DiagnosticArray
from std_msgs.msg import Bool

from pose_ros.msg import Gesture, GestureArray, Keypoint, Skeleton, SkeletonArray
from rosutil import RELIABLE, RosSession, start, stop, wait_for

W, H = 640, 480
SETTLE = 0.3  # s between messages on different topics (DDS orders per topic only)


def stamped(msg, t: float):
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9))
    msg.header.frame_id = "cam_optical"
    return msg


def person(pid: str, cx: float, h: float = 200.0, z: float | None = None) -> Skeleton:
    """Standing person with box centre x ``cx`` and height ``h`` px; camera-frame 3D at ``z`` m."""
    top = 100.0
    s = Skeleton(id=pid, track_state=Skeleton.STATE_TRACKED, score=0.9, format=Skeleton.FORMAT_COCO_17,
                 x_min=cx - h / 4, y_min=top, x_max=cx + h / 4, y_max=top + h,
                 keypoints=[Keypoint(x=cx, y=top + h * k / 17, score=0.8) for k in range(17)])
    if z is not None:
        s.frame_3d = Skeleton.FRAME_3D_CAMERA
        s.keypoints_3d = [Point(x=0.0, y=0.1 * k, z=z) for k in range(17)]
    return s


def frame(t: float, *people: Skeleton) -> SkeletonArray:
    return stamped(SkeletonArray(image_width=W, image_height=H, skeletons=list(people)), t)


def events(t: float, *gs: Gesture) -> GestureArray:
    return stamped(GestureArray(gestures=list(gs)), t)


def g(pid: str, name: str, event: int = Gesture.EVENT_START, **kw) -> Gesture:
    kw.setdefault("direction", math.nan)
    return Gesture(id=pid, gesture=name, event=event, confidence=0.9, **kw)


class Graph:
    """One example node process plus the test's publishers and collectors."""

    def __init__(self, ros: RosSession, ns: str) -> None:
        self.ros, self.ns = ros, ns
        self.skel = ros.node.create_publisher(SkeletonArray, f"{ns}/skeletons", RELIABLE)
        self.gest = ros.node.create_publisher(GestureArray, f"{ns}/gestures", RELIABLE)

    def connected(self, timeout: float = 30.0) -> bool:
        return wait_for(lambda: self.skel.get_subscription_count() > 0
                        and self.gest.get_subscription_count() > 0, timeout)

    def send(self, msg) -> None:
        (self.skel if isinstance(msg, SkeletonArray) else self.gest).publish(msg)
        time.sleep(SETTLE)


@contextmanager
def example(module: str, tmp_path: Path, ns: str, **params) -> Iterator[tuple[Graph, Path]]:
    args = [a for k, v in params.items() for a in ("-p", f"{k}:={v}")]
    log = tmp_path / f"{module}.log"
    ros = RosSession(f"probe_{module}")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    proc = start([sys.executable, "-m", f"pose_ros.examples.{module}", "--ros-args",
                  "-r", f"__ns:={ns}", *args], log)
    try:
        yield Graph(ros, ns), log
        # every node reports on /diagnostics (about 1 Hz)
        assert wait_for(lambda: any(st.name == f"{ns}/{module}" for d in diags for st in d.status), 5)
    finally:
        stop(proc)
        ros.close()


def is_zero(t: Twist) -> bool:
    return all(v == 0.0 for v in (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z))


def test_hands_up_stop_holds_and_releases_with_delay(tmp_path):
    with example("hands_up_stop", tmp_path, "/hus", release_delay=1.0, rate=20.0) as (gr, log):
        estop = gr.ros.collect(Bool, "/hus/estop")
        cmd = gr.ros.collect(Twist, "/hus/cmd_vel")
        assert gr.connected() and wait_for(lambda: len(estop) > 0, 30), log.read_text()
        assert not estop[-1].data and not cmd, "no stop before anybody raised their hands"
        gr.send(frame(100.0, person("p1", 320.0)))
        gr.send(events(100.0, g("p1", "hands_up_both")))
        assert wait_for(lambda: estop[-1].data and len(cmd) > 2, 5)
        assert all(is_zero(c) for c in cmd)
        gr.send(events(101.0, g("p1", "hands_up_both", Gesture.EVENT_END)))
        gr.send(frame(101.5, person("p1", 320.0)))            # 0.5 s after lowering: still stopped
        assert estop[-1].data
        gr.send(events(101.8, g("p1", "hands_up_both")))      # up again within the delay
        gr.send(events(102.5, g("p1", "hands_up_both", Gesture.EVENT_END)))
        gr.send(frame(103.2, person("p1", 320.0)))            # 0.7 s after the second lowering
        assert estop[-1].data, "hysteresis: the delay restarts from the last lowering"
        gr.send(frame(103.6, person("p1", 320.0)))            # 1.1 s: released
        assert wait_for(lambda: not estop[-1].data, 5)
        n = len(cmd)
        time.sleep(0.4)
        assert len(cmd) == n, "no zero cmd_vel after the release"
        k = len(estop)
        assert wait_for(lambda: len(estop) >= k + 3, 5), "estop keeps coming at the rate"
        assert not any(m.data for m in estop[k:])
    text = log.read_text()
    assert text.count("STOP: person p1 raised both hands") == 2, text
    assert text.count("released") == 1, text


def test_follow_person_turns_to_the_waver_and_keeps_them(tmp_path):
    with example("follow_person", tmp_path, "/fp1", lost_timeout=1.0, input_timeout=30.0) as (gr, log):
        cmd = gr.ros.collect(Twist, "/fp1/cmd_vel")
        assert gr.connected(), log.read_text()
        time.sleep(0.5)  # let the node discover our cmd_vel subscription too
        gr.send(frame(10.0, person("a", 100.0)))
        assert not cmd, "nobody waved: no command"
        gr.send(events(10.0, g("a", "wave_right")))
        gr.send(frame(10.1, person("a", 100.0), person("b", 540.0, z=1.0)))
        assert wait_for(lambda: len(cmd) == 1, 5), log.read_text()
        assert cmd[-1].angular.z > 0, "a is on the image left: turn left"
        assert cmd[-1].linear.x > 0, "a's box is small (far): drive forward"
        gr.send(frame(10.2, person("a", 120.0), person("b", 320.0, z=1.0)))
        assert wait_for(lambda: len(cmd) == 2, 5) and cmd[-1].angular.z > 0, "still following a, not b"
        gr.send(events(10.3, g("b", "wave_left")))            # b waves: b becomes the target
        gr.send(frame(10.4, person("a", 120.0), person("b", 540.0, z=1.0)))
        assert wait_for(lambda: len(cmd) == 3, 5)
        assert cmd[-1].angular.z < 0, "b is on the image right: turn right"
        assert cmd[-1].linear.x < 0, "b is 1.0 m away (3D), closer than 1.5 m: back off"
    text = log.read_text()
    assert "new target a (was none)" in text and "new target b (was a)" in text, text


def test_follow_person_stops_once_when_target_lost(tmp_path):
    with example("follow_person", tmp_path, "/fp2", lost_timeout=1.0, input_timeout=30.0) as (gr, log):
        cmd = gr.ros.collect(Twist, "/fp2/cmd_vel")
        assert gr.connected(), log.read_text()
        time.sleep(0.5)
        gr.send(events(20.0, g("a", "wave_left")))
        gr.send(frame(20.0, person("a", 500.0, h=400.0)))
        assert wait_for(lambda: len(cmd) == 1, 5), log.read_text()
        assert cmd[-1].angular.z < 0 and cmd[-1].linear.x < 0     # right of centre, too close
        gr.send(frame(20.5, person("c", 320.0)))                   # someone else, target gone
        gr.send(frame(20.9, person("c", 320.0)))
        assert len(cmd) == 1, "not lost yet, and never follows c"
        gr.send(frame(21.2, person("c", 320.0)))                   # 1.2 s without a: stop
        assert wait_for(lambda: len(cmd) == 2, 5) and is_zero(cmd[-1])
        gr.send(frame(21.5, person("c", 320.0)))
        assert len(cmd) == 2, "the stop is sent once"
    text = log.read_text()
    assert text.count("target a lost") == 1, text


def test_point_target_publishes_along_the_ray(tmp_path):
    with example("point_target", tmp_path, "/pt", distance=2.0) as (gr, log):
        out = gr.ros.collect(PoseStamped, "/pt/pointing_target")
        assert gr.connected(), log.read_text()
        time.sleep(0.5)
        gr.send(events(30.0, g("a", "point_left", direction=math.pi)))   # 2D only: no pose
        d = np.array([-0.6, 0.0, -0.8])
        gr.send(events(31.0, g("a", "wave_left"), g("a", "point_left", has_ray=True,
                               ray_origin=Point(x=0.2, y=-0.1, z=2.0), ray_direction=Vector3(x=d[0], y=d[1], z=d[2]))))
        assert wait_for(lambda: len(out) == 1, 5), log.read_text()
        time.sleep(0.3)
        assert len(out) == 1
    p = out[0]
    assert p.header.frame_id == "cam_optical" and (p.header.stamp.sec, p.header.stamp.nanosec) == (31, 0)
    pos = np.array([p.pose.position.x, p.pose.position.y, p.pose.position.z])
    assert np.allclose(pos, [0.2 - 1.2, -0.1, 2.0 - 1.6], atol=1e-6)
    q = p.pose.orientation
    x_axis = [1 - 2 * (q.y ** 2 + q.z ** 2), 2 * (q.x * q.y + q.w * q.z), 2 * (q.x * q.z - q.w * q.y)]
    assert np.allclose(x_axis, d, atol=1e-6)
    assert "depth is needed" in log.read_text()
