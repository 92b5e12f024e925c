#!/usr/bin/env python3
"""What the pose_estimator node costs per frame on top of inference, at 640x480.

Runs the real ``PoseEstimatorNode`` in this process (its own SingleThreadedExecutor
thread, its own worker thread, real DDS) and feeds it bgr8 frames from a driver
node in lock-step: the next frame is published only after the node's
``skeletons`` (and, when subscribed, ``image_annotated``) for the previous one
arrived, so nothing is dropped and every frame is measured. Each backend runs
twice: with nobody subscribed to ``image_annotated`` (the node skips drawing) and
with a subscriber (it draws and publishes a 920 KB image).

Reported per frame, from the node's own ``stage_totals`` (means over the measured
frames; medians from the same per-frame timings in the second table):
convert (Image -> RGB), infer (backend), track (tracker + smoother), publish
(SkeletonArray + MarkerArray), annotate (draw + publish the image);
overhead = (convert + track + publish) / infer, and the same with annotate.
``raw`` is ``create_backend(name).infer(rgb)`` outside ROS on the same frames (the
bar the node's infer column should meet); ``rtt`` is publish -> skeletons received
as the driver sees it (includes DDS both ways).

Also: /diagnostics cost per frame (the Diagnostics object's own EMA of one publish,
which happens at 1 Hz, divided by the frames per second of the run) and the
per-frame health bookkeeping (RateMeter.tick x3 + EstimatorHealth.frame_done,
which does StageTimes.add and a clock read) with timeit.

Frames: the first ``--warmup`` + ``--frames`` frames of the demo video
(``pose_ros.training.demo_media``), letterboxed to 640x480 like bench/speed.py; without
it, the annotated photos from ../shared/eval cycled. The machine's load changes the
numbers: compare columns within one run.

Usage: python bench/node_overhead.py [--backends thunder,mediapipe,movenet,topdown] [--frames 100] [--warmup 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import timeit
from pathlib import Path

# A domain of our own (not a running graph's), discovery on this host only: before rclpy is imported.
os.environ["ROS_DOMAIN_ID"] = str(150 + os.getpid() % 50)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pose_ros.paths import use_large_frame_profile

use_large_frame_profile()  # as the node executables do, before rclpy.init

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from pose_ros.core.detection import create_backend
from pose_ros.msg import SkeletonArray
from pose_ros.nodes import conversions as conv
from pose_ros.nodes.diagnostics import RateMeter, StageTimes
from pose_ros.nodes.estimator_health import EstimatorHealth
from speed import letterbox
from pose_ros.nodes.estimator_params import ESTIMATOR_PARAMS, backend_options
from pose_ros.nodes.pose_estimator import PoseEstimatorNode
from pose_ros.spin import BackgroundSpin

W, H, FPS = 640, 480, 30.0
STAGES = ("convert", "infer", "track", "publish", "annotate")
RELIABLE = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)


# ------------------------------------------------------------------ frames


def load_frames(n: int, shared: Path) -> tuple[str, list[np.ndarray]]:
    """n letterboxed BGR frames: the demo video, else the eval photos cycled."""
    try:
        from pose_ros.training.demo_media import demo_video_path
        video = demo_video_path(download=False)
    except Exception as exc:  # not cached: fall back to the photos
        print(f"[node_overhead] demo video unavailable ({exc}); using eval photos", file=sys.stderr)
        video = None
    frames: list[np.ndarray] = []
    if video is not None and Path(video).is_file():
        cap = cv2.VideoCapture(str(video))
        while len(frames) < n:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(letterbox(bgr))
        cap.release()
        if len(frames) == n:
            return f"demo video {video}", frames
        print(f"[node_overhead] demo video has only {len(frames)} frames; padding with eval photos",
              file=sys.stderr)
    from speed import FRAMES
    photos = [letterbox(cv2.imread(str(shared / "eval" / rel))) for _, rel, _ in FRAMES
              if (shared / "eval" / rel).is_file()]
    if not photos and not frames:
        raise SystemExit(f"[node_overhead] no frames: no demo video and no photos under {shared / 'eval'}")
    while len(frames) < n:
        frames.append(photos[len(frames) % len(photos)])
    return f"eval photos from {shared / 'eval'}", frames


def image_msgs(frames: list[np.ndarray]) -> list[Image]:
    """Prebuilt bgr8 messages with media-time stamps (k / 30 s), frame_id 'camera'."""
    msgs = []
    for k, bgr in enumerate(frames):
        t = k / FPS
        hdr = Header(frame_id="camera")
        hdr.stamp.sec, hdr.stamp.nanosec = int(t), int(round((t - int(t)) * 1e9))
        msgs.append(conv.bgr_to_image_msg(bgr, hdr))
    return msgs


# ------------------------------------------------------------------ outside ROS
def backend_defaults(name: str) -> dict:
    """The node's default constructor options for backend ``name`` (its parameter group)."""
    group = {s.name.split(".", 1)[1]: s.default for s in ESTIMATOR_PARAMS if s.name.startswith(name + ".")}
    return backend_options(name, group)


def raw_infer(name: str, frames: list[np.ndarray], warmup: int) -> list[float]:
    """Seconds per ``backend.infer(rgb)`` on the measured frames (same order, same options)."""
    backend = create_backend(name, **backend_defaults(name))
    try:
        backend.infer(np.zeros((H, W, 3), np.uint8))  # as PosePipeline.warmup
        out = []
        for k, bgr in enumerate(frames):
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            t0 = time.perf_counter()
            backend.infer(rgb)
            if k >= warmup:
                out.append(time.perf_counter() - t0)
        return out
    finally:
        backend.close()


# ------------------------------------------------------------------ in the node
class Spinner:
    """One node on its own executor, spun by pose_ros.spin.BackgroundSpin: :meth:`stop` joins
    the thread before the executor (and then the node) goes."""

    def __init__(self, node: Node) -> None:
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(node)
        self.spin = BackgroundSpin(self.executor)

    def stop(self) -> None:
        self.spin.stop()
        self.executor.shutdown(timeout_sec=2.0)


def wait_for(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def run_node(name: str, msgs: list[Image], warmup: int, annotated: bool, run_id: int) -> dict:
    """Lock-step run of PoseEstimatorNode; per-stage seconds of the measured frames."""
    ns = f"/node_overhead_{run_id}"
    node = PoseEstimatorNode(namespace=ns, parameter_overrides=[
        Parameter("backend", value=name), Parameter("image_reliability", value="reliable")])
    if not node.active:
        node.destroy_node()
        raise RuntimeError(f"pose_estimator did not activate with backend {name}: {node.backend_error}")
    per_frame: list[dict] = []
    done = node.health.frame_done

    def record(stamp, people, timings):  # the node's own per-frame timings, as it reports them
        per_frame.append(dict(timings))
        done(stamp, people, timings)

    node.health.frame_done = record
    driver = Node("node_overhead_driver", namespace=ns)
    pub = driver.create_publisher(Image, "image", RELIABLE)
    got_skel, got_img = threading.Event(), threading.Event()
    people: list[int] = []
    sent_at = [0.0]
    rtt: list[float] = []

    def on_skel(msg: SkeletonArray) -> None:
        rtt.append(time.perf_counter() - sent_at[0])
        people.append(len(msg.skeletons))
        got_skel.set()

    driver.create_subscription(SkeletonArray, "skeletons", on_skel, RELIABLE)
    if annotated:
        driver.create_subscription(Image, "image_annotated", lambda _m: got_img.set(), RELIABLE)
    spin_node, spin_driver = Spinner(node), Spinner(driver)
    try:
        ok = wait_for(lambda: pub.get_subscription_count() > 0 and node.pub_skeletons.get_subscription_count() > 0
                      and (node.pub_annotated.get_subscription_count() > 0) == annotated, 10.0)
        if not ok:
            raise RuntimeError("driver and pose_estimator did not discover each other in 10 s")
        lost = 0
        before: dict[str, float] = {}
        t_start = 0.0
        for k, msg in enumerate(msgs):
            if k == warmup:  # measured frames start here
                time.sleep(0.05)  # the previous frame's bookkeeping is done
                before = dict(node.stage_totals)
                stats0 = dict(node.stats)
                rtt.clear(), people.clear(), per_frame.clear()
                t_start = time.perf_counter()
            got_skel.clear(), got_img.clear()
            sent_at[0] = time.perf_counter()
            pub.publish(msg)
            if not (got_skel.wait(10.0) and (not annotated or got_img.wait(10.0))):
                lost += 1
        wall = time.perf_counter() - t_start
        wait_for(lambda: node.stats["processed"] - stats0["processed"] >= len(msgs) - warmup - lost, 2.0)
        time.sleep(0.05)
        n = node.stats["processed"] - stats0["processed"]
        totals = {s: (node.stage_totals.get(s, 0.0) - before.get(s, 0.0)) / max(n, 1) for s in STAGES}
        stats = {k: node.stats[k] - stats0[k] for k in node.stats}
        diag = node.diagnostics.cost.avg.get("diagnostics", float("nan"))
        # the per-frame health bookkeeping, on this node (timeit, not part of the totals above)
        health = EstimatorHealth(node)
        timings = {s: 0.001 for s in ("convert", "infer", "track", "publish", "annotate")}
        reps = 20000
        t_tick = min(timeit.repeat(RateMeter().tick, number=reps, repeat=3)) / reps
        stages = StageTimes()
        t_add = min(timeit.repeat(lambda: stages.add(timings), number=reps, repeat=3)) / reps
        stamp = msgs[0].header.stamp
        t_done = min(timeit.repeat(lambda: health.frame_done(stamp, 2, timings), number=reps, repeat=3)) / reps
    finally:
        spin_node.stop(), spin_driver.stop()
        driver.destroy_node()
        node.destroy_node()
    medians = {s: statistics.median(t.get(s, 0.0) for t in per_frame) if per_frame else float("nan")
               for s in STAGES}
    return {"mean": totals, "median": medians, "frames": n, "lost": lost, "stats": stats, "wall": wall,
            "fps": n / wall if wall > 0 else float("nan"), "people": float(np.mean(people)) if people else 0.0,
            "rtt_med": statistics.median(rtt) if rtt else float("nan"), "diag": diag,
            "tick": t_tick, "add": t_add, "frame_done": t_done}


# ------------------------------------------------------------------ report
def row(name: str, annotated: bool, st: dict, raw: float, rtt: float, people: float) -> str:
    ms = {k: 1e3 * v for k, v in st.items()}
    base = ms["convert"] + ms["track"] + ms["publish"]
    return (f"{name:<10} {'yes' if annotated else 'no':>5} {people:4.1f} {raw:7.1f} {ms['infer']:7.1f}"
            f" {ms['convert']:7.2f} {ms['track']:7.2f} {ms['publish']:7.2f} {ms['annotate']:7.2f}"
            f" {100 * base / ms['infer']:8.1f}% {100 * (base + ms['annotate']) / ms['infer']:8.1f}% {rtt:7.1f}")


HEADER = (f"{'backend':<10} {'annot':>5} {'ppl':>4} {'raw ms':>7} {'infer':>7} {'convert':>7} {'track':>7}"
          f" {'publish':>7} {'annot.':>7} {'overhead':>9} {'+annot':>9} {'rtt ms':>7}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="thunder,mediapipe,movenet,topdown", help="comma-separated backends")
    ap.add_argument("--frames", type=int, default=100, help="measured frames per run")
    ap.add_argument("--warmup", type=int, default=5, help="frames before measuring")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                    help="folder holding eval/ (fallback frames; default ../shared)")
    args = ap.parse_args(argv)

    source, frames = load_frames(args.warmup + args.frames, args.shared)
    msgs = image_msgs(frames)
    print(f"[node_overhead] {W}x{H} bgr8, {args.frames} measured frames (+{args.warmup} warm-up) from {source};"
          f" ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}; lock-step, reliable image QoS")
    rclpy.init(args=[])
    results = []
    try:
        run_id = 0
        for name in filter(None, (b.strip() for b in args.backends.split(","))):
            raw = raw_infer(name, frames, args.warmup)
            for annotated in (False, True):
                run_id += 1
                try:
                    res = run_node(name, msgs, args.warmup, annotated, run_id)
                except Exception as exc:
                    print(f"[node_overhead] {name} (annotated={annotated}) failed: {exc}", file=sys.stderr)
                    continue
                results.append((name, annotated, raw, res))
    finally:
        rclpy.try_shutdown()
    if not results:
        return 2

    for stat in ("mean", "median"):
        how = "node.stage_totals / frames" if stat == "mean" else "of the node's per-frame timings"
        print(f"\nms per frame, {stat} ({how}); overhead = (convert+track+publish) / infer:")
        print(HEADER)
        for name, annotated, raw, res in results:
            r = 1e3 * (statistics.mean(raw) if stat == "mean" else statistics.median(raw))
            print(row(name, annotated, res[stat], r, 1e3 * res["rtt_med"], res["people"]))
    print("\nruns: frames measured / lost in lock-step, node stats (received, processed, dropped), fps:")
    for name, annotated, _, res in results:
        s = res["stats"]
        print(f"  {name:<10} annotated={'yes' if annotated else 'no ':<3} {res['frames']} / {res['lost']} lost,"
              f" received {s['received']} processed {s['processed']} dropped {s['dropped']},"
              f" {res['fps']:.1f} fps")
    print("\n/diagnostics (1 Hz) per frame = cost of one publish / frames per second of the run:")
    for name, annotated, _, res in results:
        d, fps, infer = res["diag"], res["fps"], res["mean"]["infer"]
        print(f"  {name:<10} annotated={'yes' if annotated else 'no ':<3} publish {1e3 * d:.3f} ms x 1 Hz"
              f" / {fps:.1f} fps = {1e6 * d / fps:.1f} us/frame ({100 * d / fps / infer:.3f}% of infer)")
    res = results[-1][3]
    per_frame = 2 * res["tick"] + res["frame_done"]
    infer = min(r[3]["mean"]["infer"] for r in results)
    print(f"\nhealth bookkeeping per frame (timeit, best of 3 x 20000): RateMeter.tick {1e6 * res['tick']:.2f} us,"
          f" StageTimes.add(5 stages) {1e6 * res['add']:.2f} us, EstimatorHealth.frame_done"
          f" {1e6 * res['frame_done']:.2f} us;\n  per frame (2 ticks + frame_done) {1e6 * per_frame:.1f} us"
          f" = {100 * per_frame / infer:.3f}% of the fastest infer ({1e3 * infer:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
