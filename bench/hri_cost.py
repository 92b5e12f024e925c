#!/usr/bin/env python3
"""What hri_bridge (REP-155 bodies, body_<id> on /tf) costs per frame, with 2 and with 20 people.

Runs the real ``HriBridgeNode`` in this process with real DDS and calls its skeletons
callback directly on SkeletonArray messages (COCO-17 people with camera-frame 3D, all
confirmed tracks, stamps 1/30 s apart), timing the callback with perf_counter. Three
cases per crowd size:

* ``nobody``: no subscriber anywhere (the bridge still publishes /humans/bodies/tracked,
  keeps the per-body publishers and the ids' lifetimes);
* ``tracked+tf``: a consumer on /humans/bodies/tracked and /tf (what TF users and
  hri_person_manager-like consumers listen to first);
* ``all``: a consumer on every per-body topic too (roi, skeleton2d, posture, gesture,
  position, velocity, and cropped with a 640x480 bgr8 image per frame).

The consumer is a separate process. In ``pose-ros run`` all nodes share one process, so
the ``nobody`` column is what the bridge takes from the estimator when no one uses REP-155:
compare it with the frame period (33 ms at 30 fps) and with the estimator's own time per frame (bench/node_overhead.py).

Usage: python bench/hri_cost.py [--frames 300] [--people 2,20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if "--consume" not in sys.argv:   # a domain of our own, before rclpy; the consumer process inherits it
    os.environ["ROS_DOMAIN_ID"] = str(150 + os.getpid() % 50)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import rclpy
from geometry_msgs.msg import Point
from hri_msgs.msg import BodyPosture, Gesture, IdsList, NormalizedRegionOfInterest2D, Skeleton2D
from geometry_msgs.msg import PointStamped, TwistStamped
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from pose_ros.nodes.hri_bridge import HriBridgeNode
from pose_ros.nodes.qos import OUT_QOS
from pose_ros.spin import BackgroundSpin

W, H = 640, 480
PER_BODY = {"roi": NormalizedRegionOfInterest2D, "skeleton2d": Skeleton2D, "posture": BodyPosture,
            "gesture": Gesture, "position": PointStamped, "velocity": TwistStamped, "cropped": Image}


def crowd(n: int, frame: int) -> SkeletonArray:
    """``n`` people in a row across the image, 2-6 m away, swaying a little from frame to frame."""
    t = frame / 30.0
    msg = SkeletonArray(image_width=W, image_height=H)
    msg.header.frame_id = "camera"
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9))
    rng = np.random.default_rng(frame)
    for i in range(n):
        cx, z = (i + 0.5) * W / n + 5 * np.sin(t + i), 2.0 + 4.0 * i / max(n - 1, 1)
        h = 300.0 / z
        s = Skeleton(header=msg.header, id=f"{i + 256:03x}", track_state=Skeleton.STATE_TRACKED, score=0.8,
                     x_min=cx - h / 4, y_min=200 - h / 2, x_max=cx + h / 4, y_max=200 + h / 2,
                     format=Skeleton.FORMAT_COCO_17, frame_3d=Skeleton.FRAME_3D_CAMERA)
        ys = np.linspace(200 - h / 2, 200 + h / 2, 17) + rng.normal(0, 1, 17)
        xs = cx + np.where(np.arange(17) % 2 == 1, h / 8, -h / 8)
        s.keypoints = [Keypoint(x=float(x), y=float(y), score=0.9) for x, y in zip(xs, ys)]
        s.keypoints_3d = [Point(x=float((x - W / 2) * z / 500), y=float((y - H / 2) * z / 500), z=float(z))
                          for x, y in zip(xs, ys)]
        msg.skeletons.append(s)
    return msg


def consume(case: str, bodies: list[str]) -> None:
    """The consumer process: subscribes as a ROS4HRI user would, deserialises everything, until killed."""
    rclpy.init()
    node = rclpy.create_node("hri_consumer")
    node.create_subscription(IdsList, "/humans/bodies/tracked", lambda m: None, OUT_QOS)
    node.create_subscription(TFMessage, "/tf", lambda m: None, 100)
    if case == "all":
        for bid in bodies:
            for t, cls in PER_BODY.items():
                node.create_subscription(cls, f"/humans/bodies/{bid}/{t}", lambda m: None, OUT_QOS)
    rclpy.spin(node)


def run_case(n: int, case: str, frames: int) -> list[float]:
    """Callback times of one crowd size and subscriber case; the consumer runs in its own process
    (in this one it would compete for the GIL and be counted as the bridge's cost)."""
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    bridge = HriBridgeNode(context=ctx, namespace="/pose")
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(bridge)
    spin = BackgroundSpin(ex, ctx)
    consumer = None
    try:
        first = crowd(n, 0)
        bridge._on_skeletons(first)   # creates the per-body publishers
        pubs = [bridge.pub_tracked, bridge._tf_pub] if case != "nobody" else []
        if case != "nobody":
            consumer = subprocess.Popen([sys.executable, __file__, "--consume", case, *bridge.bodies])
        if case == "all":
            pubs += [pub for per in bridge.bodies.values() for pub in per.values()]
        deadline = time.monotonic() + 60
        while not all(p.get_subscription_count() > 0 for p in pubs) and time.monotonic() < deadline:
            time.sleep(0.05)   # discovery, before anything is measured
        assert all(p.get_subscription_count() > 0 for p in pubs), "the consumer did not match"
        image = Image(header=first.header, width=W, height=H, encoding="bgr8", step=W * 3,
                      data=bytes(W * H * 3))
        times = []
        for f in range(1, frames + 1):
            msg = crowd(n, f)
            if bridge._image_sub is not None:
                image.header = msg.header
                bridge._on_image(image)
            t0 = time.perf_counter()
            bridge._on_skeletons(msg)
            times.append(time.perf_counter() - t0)
        assert bridge.stats["failed"] == 0 and bridge.stats["bad_input"] == 0, bridge.stats
        if case == "all":
            assert bridge.stats["crops"] > 0 and bridge.stats["tf"] > 0, bridge.stats
        return times[frames // 10:]   # the first frames warm the caches up
    finally:
        if consumer is not None:
            consumer.kill()
            consumer.wait()
        spin.stop()
        ex.shutdown(timeout_sec=1.0)
        bridge.destroy_node()
        rclpy.try_shutdown(context=ctx)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--people", default="2,20")
    ap.add_argument("--consume", nargs="+", help=argparse.SUPPRESS)   # internal: the consumer process
    a = ap.parse_args()
    if a.consume:
        consume(a.consume[0], a.consume[1:])
        return 0
    print(f"hri_bridge skeletons callback per frame, {a.frames} frames (ms: mean / median / p95; % of 33.3 ms)")
    print(f"{'people':>6}  {'subscribers':<11}  {'mean':>7}  {'median':>7}  {'p95':>7}  {'% frame':>7}")
    for n in (int(x) for x in a.people.split(",")):
        for case in ("nobody", "tracked+tf", "all"):
            t = np.array(run_case(n, case, a.frames)) * 1e3
            print(f"{n:>6}  {case:<11}  {t.mean():7.3f}  {statistics.median(t):7.3f}  "
                  f"{np.percentile(t, 95):7.3f}  {100 * t.mean() / 33.3:6.2f}%", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
