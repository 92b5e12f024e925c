#!/usr/bin/env python3
"""Soak: the full graph for 10 minutes at 30 Hz on 640x480 frames; memory, latency, drops, CPU.

The graph runs as a robot runs it, one process per node (as ``ros2 launch`` does),
so memory and CPU are per node and a leak has an owner:

    video_source -> /camera/image_raw -> pose_estimator -> /pose/skeletons_raw
                 -> pose_tracker -> /pose/skeletons -> action_classifier

``--tracker inline`` runs the launch file's graph instead (pose_estimator tracks
itself, no pose_tracker process). Nodes, namespaces, remaps and the parameter
file come from ``pose_ros.graph.build_graph`` (what ``pose-ros run`` and the launch
file start). The camera is video_source playing the demo video, letterboxed to
640x480 into a temporary MJPG clip, looped, in real time at 30 Hz (``rate: 1``,
free running, not lock-step: the estimator drops what it cannot keep up with).

This process is the probe (an rclpy node, not part of the graph): it records the
arrival time of every camera image (raw subscription: only the header stamp is
read) and of the SkeletonArray with the same stamp on /pose/skeletons; latency =
skeleton arrival - image arrival. Looping keeps stamps increasing (checked), so a
stamp names one frame. Once a second it samples RSS, CPU time, threads and fds of
every node process (psutil) and the nodes' /diagnostics.

Reported: RSS per process after the warm-up and at the end (median of 10 s of
samples each) with growth and slope; CPU per process (% of one core) after the
warm-up; per window (``--window``, 60 s) images, skeleton arrays, dropped %,
latency p50/p95/max; totals (published, received and dropped by the estimator,
skeleton arrays out). Targets: RSS growth after the warm-up under ``--max-growth``
(5 %) for every node, no latency growth (p50 and p95 of the last window against
the first window after the warm-up), every process alive. Exit 1 when a target
is missed, 2 when the graph cannot start.

Usage: python bench/soak.py [--duration 600] [--backend thunder] [--json out.json]

test/test_soak.py runs a 60 s version through :func:`run_soak` and the checks here.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_ros.procs import start_process, stop_process
from pose_ros.spin import BackgroundSpin

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
W, H, FPS = 640, 480, 30.0
CAMERA = "/camera/image_raw"
CAMERA_INFO = "/camera/camera_info"   # video_source publishes one with every image
SKELETONS = "/pose/skeletons"
NODES = ("video_source", "pose_estimator", "pose_tracker", "action_classifier", "hri_bridge")
PROBE = "probe"


# ------------------------------------------------------------------ the camera clip
def letterbox(img: np.ndarray, width: int = W, height: int = H) -> np.ndarray:
    """The frame fitted into width x height, aspect kept, black padding (pose_ros.core.imaging.raw)."""
    from pose_ros.core.imaging.raw import letterbox as fit
    return fit(img, width, height)


def make_clip(out_dir: Path, source: Path | None = None) -> Path:
    """The demo video letterboxed to exactly 640x480, as a 30 fps MJPG clip in ``out_dir``."""
    import cv2

    if source is None:
        from pose_ros.training.demo_media import demo_video_path
        source = demo_video_path(download=False)  # FileNotFoundError when not cached
    out = Path(out_dir) / "soak_640x480.avi"
    cap = cv2.VideoCapture(str(source))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    n = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        writer.write(letterbox(bgr, W, H))
        n += 1
    cap.release()
    writer.release()
    if n == 0:
        raise RuntimeError(f"no frames in {source}")
    return out


# ------------------------------------------------------------------ the graph
def _param(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def graph_commands(clip: Path, backend: str, tracker: str = "node", fps: float = FPS,
                   source: dict | None = None, estimator: dict | None = None) -> dict[str, list[str]]:
    """Command lines of the graph's nodes, one process each (name -> argv); ``source`` and
    ``estimator`` are parameter overrides of video_source and pose_estimator."""
    from pose_ros.graph import NodeSpec, build_graph, resolve_args

    args = resolve_args({"video": str(clip), "backend": backend, "actions": "true", "camera_topic": CAMERA})
    specs = {s.name: s for s in build_graph(args)}
    src = specs["video_source"]
    src.overrides.update(rate=1.0, fps=fps, loop=True)  # a live camera, free running
    src.overrides.update(source or {})
    specs["pose_estimator"].overrides.update(estimator or {})
    if tracker == "node":  # the estimator only estimates; pose_tracker gives ids and smooths
        est = specs["pose_estimator"]
        est.overrides["tracking"] = False
        est.remappings += [("skeletons", "skeletons_raw"), ("markers", "markers_raw")]
        specs["pose_tracker"] = NodeSpec("pose_tracker", "pose_tracker", remappings=[("skeletons_in", "skeletons_raw")])
    elif tracker != "inline":
        raise ValueError(f"tracker must be 'node' or 'inline', got {tracker!r}")
    out = {}
    for name in NODES:
        s = specs.get(name)
        if s is None:
            continue
        cmd = [str(BIN / s.executable), "--ros-args", "-r", f"__ns:={s.namespace}", "-r", f"__node:={s.name}",
               "--params-file", args["params_file"]]
        for a, b in s.remappings:
            cmd += ["-r", f"{a}:={b}"]
        for k, v in s.overrides.items():
            cmd += ["-p", f"{k}:={_param(v)}"]
        out[name] = cmd
    return out


# ------------------------------------------------------------------ the probe
class Probe:
    """An rclpy node in its own context and thread: image/skeleton arrival times, /diagnostics."""

    def __init__(self, skeleton_topic: str = SKELETONS, record: bool = False, frames_by_info: bool = False) -> None:
        """``frames_by_info``: count the camera's frames by the CameraInfo video_source publishes
        with each image (same header, just before it) instead of by the image, so that the probe
        is not a second reader of every image (at 1280x960, 3.7 MB a frame through DDS)."""
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
        from rclpy.signals import SignalHandlerOptions
        from sensor_msgs.msg import CameraInfo, Image

        from pose_ros.bag.common import header_stamp_ns
        from pose_ros.msg import JointAnglesArray, SkeletonArray

        self._stamp_ns = header_stamp_ns     # the bag tools' CDR header reader
        self.lock = threading.Lock()
        self.img_t: list[float] = []          # arrival (monotonic) of each image, in order
        self.img_lat: list[float] = []        # its latency, NaN until / unless its skeletons arrive
        self._open: dict[int, int] = {}       # stamp ns -> index, images waiting for skeletons
        self.last_stamp = -1
        self.stamp_not_increasing = 0
        self.stamp_jumps: list[tuple[float, float]] = []  # (previous, this) stamp in s, the first few
        self.track_ids: set[str] = set()
        self.confirmed_ids: set[str] = set()  # ids once published confirmed (what hri_bridge publishes)
        self.skeleton_arrays = 0
        self.first_match: float | None = None  # arrival of the first skeleton array whose image was seen
        self.unmatched_skeletons = 0          # skeletons whose image this probe did not see
        self.people = 0
        self.predicted = 0                    # skeletons published as predicted (the estimator's budget)
        self.record = record
        self.frames: dict[int, list] = {}     # stamp ns -> [(id, keypoints)] when recording
        self.joint_angles = 0                 # action_classifier output, one per skeleton array
        self.skel_t: list[float] = []
        self.angles_t: list[float] = []
        self.diag: dict[str, dict[str, str]] = {}
        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = Node("soak_probe", context=self.context)
        # Images: raw (no deserialisation of 920 KB in Python), best effort like the estimator,
        # 1 s of queue so that a descheduled probe does not miss frames.
        best_effort = QoSProfile(depth=30, reliability=QoSReliabilityPolicy.BEST_EFFORT,
                                 history=QoSHistoryPolicy.KEEP_LAST)
        reliable = QoSProfile(depth=50, reliability=QoSReliabilityPolicy.RELIABLE, history=QoSHistoryPolicy.KEEP_LAST)
        self.frames_by_info = frames_by_info
        if frames_by_info:
            self.node.create_subscription(CameraInfo, CAMERA_INFO, self._on_image, best_effort, raw=True)
        else:
            self.node.create_subscription(Image, CAMERA, self._on_image, best_effort, raw=True)
        self.node.create_subscription(SkeletonArray, skeleton_topic, self._on_skeletons, reliable)
        self.node.create_subscription(JointAnglesArray, "/pose/joint_angles", self._on_angles, reliable)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, reliable)
        self.skeleton_topic = skeleton_topic
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spin = BackgroundSpin(self.executor, self.context)

    def _on_image(self, raw: bytes) -> None:
        t = time.monotonic()
        stamp = self._stamp_ns(raw)
        with self.lock:
            if stamp <= self.last_stamp:
                self.stamp_not_increasing += 1
                if len(self.stamp_jumps) < 10:
                    self.stamp_jumps.append((self.last_stamp * 1e-9, stamp * 1e-9))
            self.last_stamp = max(stamp, self.last_stamp)
            self._open[stamp] = len(self.img_t)
            self.img_t.append(t)
            self.img_lat.append(math.nan)

    def _on_skeletons(self, msg) -> None:
        t = time.monotonic()
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with self.lock:
            self.skeleton_arrays += 1
            self.people += len(msg.skeletons)
            self.predicted += sum(sk.predicted for sk in msg.skeletons)
            if self.record:
                self.frames[stamp] = [(sk.id, [(k.x, k.y, k.score) for k in sk.keypoints]) for sk in msg.skeletons]
            self.track_ids.update(sk.id for sk in msg.skeletons if sk.id)
            self.confirmed_ids.update(sk.id for sk in msg.skeletons if sk.id and sk.track_state == sk.STATE_TRACKED)
            self.skel_t.append(t)
            i = self._open.pop(stamp, None)
            if i is None:
                self.unmatched_skeletons += 1
            else:
                self.img_lat[i] = t - self.img_t[i]
                if self.first_match is None:
                    self.first_match = t

    def _on_angles(self, msg) -> None:
        with self.lock:
            self.joint_angles += 1
            self.angles_t.append(time.monotonic())

    def _on_diag(self, msg) -> None:
        with self.lock:
            for st in msg.status:
                self.diag[st.name] = {kv.key: kv.value for kv in st.values}

    def prune(self, older_than: float = 10.0) -> None:
        """Images without skeletons after ``older_than`` s stay dropped (keeps the map small)."""
        now = time.monotonic()
        with self.lock:
            for stamp in [s for s, i in self._open.items() if now - self.img_t[i] > older_than]:
                del self._open[stamp]

    def diag_value(self, node: str, key: str, default=math.nan) -> float:
        with self.lock:
            v = self.diag.get(f"/pose/{node}", {}).get(key)
        try:
            return float(v)
        except (TypeError, ValueError):
            return default

    def ready(self) -> bool:
        """The graph is up: the estimator (active) subscribes to the camera, tracked skeletons have a
        publisher, the classifier (active) subscribes to them (the probe is one of each count)."""
        n = self.node
        return (n.count_subscribers(CAMERA) >= (1 if self.frames_by_info else 2)
                and n.count_publishers(self.skeleton_topic) >= 1
                and n.count_subscribers(self.skeleton_topic) >= 2)

    def close(self) -> None:
        import rclpy
        self._spin.stop()   # before the node and context go (pose_ros.spin)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


# ------------------------------------------------------------------ the run
@dataclass
class SoakConfig:
    duration: float = 600.0      # seconds from the first skeleton array
    warmup: float = 30.0         # seconds before memory/CPU/latency baselines
    window: float = 60.0         # seconds per latency row
    backend: str = "thunder"
    tracker: str = "node"        # node: pose_tracker process; inline: the estimator tracks (launch file)
    workdir: Path | None = None  # logs and the clip; a temporary folder when None
    clip: Path | None = None     # a ready 640x480 clip; made from the demo video when None
    fps: float = FPS             # the clip's rate, published in real time
    source: dict | None = None   # video_source parameter overrides (e.g. stamp_source, loop)
    estimator: dict | None = None  # pose_estimator parameter overrides
    record: bool = False         # keep every skeleton array (Probe.frames)
    frames_by_info: bool = False  # the probe counts frames by their CameraInfo, not the image (Probe)
    finite: bool = False         # the clip is played once: video_source finishing ends the run
    start_timeout: float = 120.0
    quiet: bool = False


@dataclass
class SoakResult:
    config: dict
    t0: float                          # monotonic time of the first skeleton array (for a seen image)
    t_end: float                       # end of the measured period (before stopping)
    samples: list[dict]                # 1 Hz: t, per-process rss/cpu/threads/fds, diag counters, probe counts
    img_t: list[float]
    img_lat: list[float]
    skel_t: list[float]
    angles_t: list[float]
    totals: dict
    alive: dict[str, bool]             # at the end of the measured period
    exit_codes: dict[str, int | None]
    log_errors: dict[str, list[str]]
    logs: dict[str, str]
    early_stop: str | None = None
    frames: dict | None = None          # stamp ns -> [(id, keypoints)] with SoakConfig.record


def _proc_sample(p, children: bool = True) -> dict | None:
    """RSS (MB), CPU seconds, threads and fds of a process (and its children)."""
    import psutil
    try:
        procs = [p] + (p.children(recursive=True) if children else [])
        rss = cpu = 0.0
        threads = fds = 0
        for q in procs:
            with q.oneshot():
                rss += q.memory_info().rss
                t = q.cpu_times()
                cpu += t.user + t.system
                threads += q.num_threads()
                fds += q.num_fds()
        return {"rss": rss / 2**20, "cpu": cpu, "threads": threads, "fds": fds}
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _log(cfg: SoakConfig, msg: str) -> None:
    if not cfg.quiet:
        print(f"[soak] {msg}", file=sys.stderr, flush=True)


def _tails(workdir: Path, names, n: int = 800) -> str:
    out = []
    for name in names:
        f = workdir / f"{name}.log"
        if f.is_file():
            out.append(f"--- {name}.log ---\n" + f.read_text(errors="replace")[-n:])
    return "\n".join(out)


def run_soak(cfg: SoakConfig) -> SoakResult:
    """Start the graph, measure for ``cfg.duration`` s after the first skeleton array, stop it.

    Raises RuntimeError (with the nodes' log tails) when the graph does not come up.
    """
    import psutil

    tmp = None
    if cfg.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="pose_ros_soak_")
        workdir = Path(tmp.name)
    else:
        workdir = Path(cfg.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        return _run(cfg, workdir, psutil)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _last_published(samples: list[dict]) -> int | None:
    vals = [s["published"] for s in samples if not math.isnan(s["published"])]
    return int(vals[-1]) if vals else None


class _SoakRun:
    """One soak run, step by step: start the graph, sample once a second, drain, collect."""

    def __init__(self, cfg: SoakConfig, workdir: Path, psutil) -> None:
        self.cfg, self.workdir, self.psutil = cfg, workdir, psutil
        clip = cfg.clip or make_clip(workdir)
        self.cmds = graph_commands(clip, cfg.backend, cfg.tracker, cfg.fps, cfg.source, cfg.estimator)
        _log(cfg, f"ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID')} clip {clip} ({W}x{H} @ {FPS:g} Hz, looped); "
                  f"logs in {workdir}")
        self.probe = Probe(record=cfg.record, frames_by_info=cfg.frames_by_info)
        self.procs: dict[str, subprocess.Popen] = {}
        self.handles = {PROBE: psutil.Process()}
        self.samples: list[dict] = []
        self.codes: dict[str, int | None] = {}
        self.t_start = time.monotonic()

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def wait_until(self, pred, what: str) -> None:
        while not pred():
            if self.dead() or time.monotonic() > self.t_start + self.cfg.start_timeout:
                why = f"exited: {', '.join(self.dead())}" if self.dead() else f"timeout {self.cfg.start_timeout:.0f} s"
                raise RuntimeError(f"{what} ({why})\n{_tails(self.workdir, self.procs)}")
            time.sleep(0.05)

    def start(self) -> float:
        """Start the pipeline, then the camera once it listens; t0 of the first answered image."""
        for name in NODES:  # the pipeline first, the camera once it listens
            if name in self.cmds and name != "video_source":
                self.procs[name] = start_process(self.cmds[name], self.workdir / f"{name}.log")
        self.wait_until(self.probe.ready, "graph did not come up")
        self.procs["video_source"] = start_process(self.cmds["video_source"], self.workdir / "video_source.log")
        for name, p in self.procs.items():
            self.handles[name] = self.psutil.Process(p.pid)
        # t0: the first result for an image the probe saw (video_source starts with its first
        # subscriber, which may be the estimator: the probe can miss the first frames)
        self.wait_until(lambda: self.probe.first_match is not None, "no skeletons")
        t0 = self.probe.first_match
        _log(self.cfg, f"first skeletons {t0 - self.t_start:.1f} s after start; measuring {self.cfg.duration:.0f} s")
        return t0

    def sample(self, now: float, t0: float) -> dict:
        """One second's sample: CPU and memory per process, the graph's counters."""
        probe = self.probe
        s = {"t": now - t0, "machine_cpu": self.psutil.cpu_percent()}
        for name, h in self.handles.items():
            s[name] = _proc_sample(h, children=name != PROBE)  # the nodes are the probe's children
        s["published"] = probe.diag_value("video_source", "frames published")
        for key, k in (("received", "received"), ("processed", "processed"), ("dropped", "dropped frames")):
            s["est_" + key] = probe.diag_value("pose_estimator", k)
        with probe.lock:
            s["images"], s["skeleton_arrays"] = len(probe.img_t), probe.skeleton_arrays
            s["joint_angles"] = probe.joint_angles
        return s

    def measure(self, t0: float) -> str | None:
        """Sample once a second until the duration, the clip's end or a death; why it stopped early."""
        cfg, procs = self.cfg, self.procs
        self.psutil.cpu_percent()  # machine-wide busy %, from here
        next_t = t0
        last_report = t0
        while True:
            now = time.monotonic()
            s = self.sample(now, t0)
            self.samples.append(s)
            self.probe.prune()
            if cfg.finite and self.dead() == ["video_source"] and procs["video_source"].returncode == 0:
                time.sleep(3.0)   # the clip is over: let the last frames through
                return None
            if self.dead():
                early = f"process exited during the run: {', '.join(self.dead())}"
                _log(cfg, early)
                return early
            if now - t0 >= cfg.duration:
                return None
            if now - last_report >= 60.0:
                last_report = now
                _log(cfg, f"{now - t0:.0f} s: {s['images']} images, {s['skeleton_arrays']} skeleton arrays")
            next_t += 1.0
            try:
                time.sleep(max(0.0, next_t - time.monotonic()))
            except KeyboardInterrupt:
                return "interrupted"

    def drain(self) -> dict:
        """Stop the camera, let the last frames through, read the final counters."""
        self.codes["video_source"] = stop_process(self.procs["video_source"])
        time.sleep(3.0)
        probe = self.probe
        final = {"est_" + k: probe.diag_value("pose_estimator", key) for k, key in (
            ("received", "received"), ("processed", "processed"), ("dropped", "dropped frames"),
            ("bad_input", "bad input"))}
        final["tracker_resets"] = probe.diag_value("pose_tracker", "stamp resets")
        with probe.lock:   # the estimator's budget and per-stage times, as its diagnostics last said
            est = probe.diag.get("/pose/pose_estimator", {})
            final["est_diag"] = {k: v for k, v in est.items() if k.endswith(" ms") or k in (
                "frames behind", "ms per crop unit", "crop budget", "dropped frames", "lost in transport")}
        return final

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.codes[name] = stop_process(self.procs[name])
        self.probe.close()

    def result(self, t0: float, t_end: float, early: str | None, machine_cpu: float, alive: dict,
               final: dict) -> SoakResult:
        probe, samples = self.probe, self.samples
        logs = {n: (self.workdir / f"{n}.log").read_text(errors="replace") for n in self.procs}
        m = re.search(r"video source finished: (\d+) frames published", logs.get("video_source", ""))
        img_lat = list(probe.img_lat)
        totals = {
            # the node's last word, else its last /diagnostics (up to 1 s old)
            "published": int(m.group(1)) if m else _last_published(samples), "images_seen": len(probe.img_t),
            "skeleton_arrays": probe.skeleton_arrays, "answered": int(np.sum(~np.isnan(img_lat))),
            "unmatched_skeletons": probe.unmatched_skeletons, "stamp_not_increasing": probe.stamp_not_increasing,
            "stamp_jumps": list(probe.stamp_jumps), "track_ids": len(probe.track_ids),
            "confirmed_ids": len(probe.confirmed_ids),
            "joint_angles": probe.joint_angles, "people_per_array": probe.people / max(probe.skeleton_arrays, 1),
            "predicted_per_array": probe.predicted / max(probe.skeleton_arrays, 1),
            "machine_cpu_pct": machine_cpu, **final,
        }
        res = SoakResult(
            config={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self.cfg).items()},
            t0=t0, t_end=t_end, samples=samples, img_t=list(probe.img_t), img_lat=img_lat,
            skel_t=list(probe.skel_t), angles_t=list(probe.angles_t), totals=totals, alive=alive,
            exit_codes=self.codes, early_stop=early, logs={n: t[-4000:] for n, t in logs.items()},
            log_errors={n: [ln for ln in t.splitlines() if "Traceback" in ln or "[ERROR]" in ln][:20]
                        for n, t in logs.items()})
        res.frames = probe.frames
        return res


def _run(cfg: SoakConfig, workdir: Path, psutil) -> SoakResult:
    run = _SoakRun(cfg, workdir, psutil)
    try:
        t0 = run.start()
        early = run.measure(t0)
        t_end = time.monotonic()
        busy = [x["machine_cpu"] for x in run.samples[1:]]
        machine_cpu = float(np.mean(busy)) if busy else math.nan
        alive = {n: p.poll() is None for n, p in run.procs.items()}
        final = run.drain()
    finally:
        run.stop_all()
    return run.result(t0, t_end, early, machine_cpu, alive, final)


# ------------------------------------------------------------------ analysis
def theil_sen(t: np.ndarray, y: np.ndarray) -> float:
    """Median of pairwise slopes (robust to a few outliers and steps)."""
    if len(t) < 3:
        return math.nan
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    ok = dt > 0
    return float(np.median((y[j] - y[i])[ok] / dt[ok]))


def series(res: SoakResult, proc: str, key: str, t_from: float = 0.0, t_to: float = math.inf):
    pts = [(s["t"], s[proc][key]) for s in res.samples if s.get(proc) and t_from <= s["t"] < t_to]
    if not pts:
        return np.zeros(0), np.zeros(0)
    a = np.array(pts, dtype=float)
    return a[:, 0], a[:, 1]


def memory_report(res: SoakResult, proc: str, warmup: float, edge: float = 10.0) -> dict:
    """RSS after the warm-up and at the end (medians of ``edge`` s of samples), growth, slope, and the
    floor (10th percentile) of each third of the post-warm-up period."""
    t, rss = series(res, proc, "rss", warmup)
    if len(t) < 6:
        return {"start": math.nan, "end": math.nan, "growth_pct": math.nan, "slope_mb_min": math.nan,
                "peak": math.nan, "floors": [math.nan] * 3}
    start = float(np.median(rss[t <= t[0] + edge]))
    end = float(np.median(rss[t >= t[-1] - edge]))
    thirds = np.array_split(rss, 3)
    return {"start": start, "end": end, "growth_pct": 100.0 * (end - start) / start,
            "slope_mb_min": 60.0 * theil_sen(t, rss), "peak": float(rss.max()),
            # a leak lifts the floor in every third; a transient peak or a one-off step does not
            "floors": [float(np.percentile(x, 10)) for x in thirds]}


def cpu_report(res: SoakResult, proc: str, warmup: float) -> float:
    """Mean CPU after the warm-up, % of one core."""
    t, cpu = series(res, proc, "cpu", warmup)
    if len(t) < 2 or t[-1] <= t[0]:
        return math.nan
    return 100.0 * (cpu[-1] - cpu[0]) / (t[-1] - t[0])


def latency_stats(lat: np.ndarray) -> dict:
    lat = lat[~np.isnan(lat)]
    if not len(lat):
        return {"n": 0, "p50": math.nan, "p95": math.nan, "max": math.nan}
    return {"n": int(len(lat)), "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "max": float(lat.max())}


def window_rows(res: SoakResult, window: float, t_from: float = 0.0, t_to: float | None = None) -> list[dict]:
    """Per window (by image arrival, seconds from the first skeleton array): images, answered, dropped %,
    latency p50/p95/max, estimator processed, classifier outputs."""
    t_img = np.array(res.img_t, dtype=float) - res.t0
    lat = np.array(res.img_lat, dtype=float)
    t_skel = np.array(res.skel_t, dtype=float) - res.t0
    t_ang = np.array(res.angles_t, dtype=float) - res.t0
    end = (res.t_end - res.t0) if t_to is None else t_to
    diag_t = np.array([s["t"] for s in res.samples], dtype=float)
    processed = np.array([s["est_processed"] for s in res.samples], dtype=float)
    busy = np.array([s.get("machine_cpu", math.nan) for s in res.samples], dtype=float)
    edges = list(np.arange(t_from, end, window)) + [end]
    if len(edges) > 2 and edges[-1] - edges[-2] < window / 2:
        del edges[-2]  # a short tail joins the previous row
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):
        sel = (t_img >= a) & (t_img < b)
        n = int(sel.sum())
        answered = int((~np.isnan(lat[sel])).sum())
        in_w = (diag_t >= a) & (diag_t <= b) & ~np.isnan(processed)
        proc = float(processed[in_w][-1] - processed[in_w][0]) if in_w.sum() >= 2 else math.nan
        rows.append({"from": a, "to": b, "images": n, "answered": answered,
                     "dropped_pct": 100.0 * (n - answered) / n if n else math.nan,
                     "fps_in": n / (b - a), "skeleton_arrays": int(((t_skel >= a) & (t_skel < b)).sum()),
                     "joint_angles": int(((t_ang >= a) & (t_ang < b)).sum()),
                     "est_processed": proc, "machine_cpu": float(np.nanmean(busy[in_w])) if in_w.any() else math.nan,
                     **latency_stats(lat[sel])})
    return rows


def _first_last(res: SoakResult, proc: str, key: str, t_from: float) -> list[float]:
    y = series(res, proc, key, t_from)[1]
    return [float(y[0]), float(y[-1])] if len(y) else []


def summarize(res: SoakResult) -> dict:
    cfg = res.config
    warmup, window = cfg["warmup"], cfg["window"]
    procs = [n for n in (*NODES, PROBE) if any(s.get(n) for s in res.samples)]
    t_img = np.array(res.img_t, dtype=float) - res.t0
    lat = np.array(res.img_lat, dtype=float)
    run = res.t_end - res.t0
    base = latency_stats(lat[(t_img >= warmup) & (t_img < warmup + window)])
    last = latency_stats(lat[(t_img >= run - window) & (t_img < run)])
    tot = dict(res.totals)
    measured = t_img < run
    tot["images_measured"] = int(measured.sum())
    tot["dropped_measured"] = int(np.isnan(lat[measured]).sum())
    return {
        "processes": {n: {**memory_report(res, n, warmup), "cpu_pct": cpu_report(res, n, warmup),
                          "threads": _first_last(res, n, "threads", warmup), "fds": _first_last(res, n, "fds", warmup),
                          "alive": res.alive.get(n, True), "exit_code": res.exit_codes.get(n)}
                      for n in procs},
        "windows": window_rows(res, window),
        "latency_baseline": base, "latency_last": last, "latency_all": latency_stats(lat[t_img >= warmup]),
        "totals": tot, "run_s": run, "early_stop": res.early_stop, "log_errors": res.log_errors,
    }


def check_targets(summary: dict, max_growth: float = 5.0, latency_ratio: float = 1.5,
                  latency_slack: float = 0.020) -> list[str]:
    """The soak's targets; an empty list when all are met."""
    fails = []
    if summary["early_stop"]:
        fails.append(summary["early_stop"])
    for n, p in summary["processes"].items():
        if n == PROBE:
            continue
        if not p["alive"]:
            fails.append(f"{n} died (exit code {p['exit_code']})")
        if not p["growth_pct"] < max_growth:
            fails.append(f"{n}: RSS grew {p['growth_pct']:.1f} % after the warm-up "
                         f"({p['start']:.0f} -> {p['end']:.0f} MB; target < {max_growth:g} %)")
    base, last = summary["latency_baseline"], summary["latency_last"]
    if not base["n"] or not last["n"]:
        fails.append("no latency measured after the warm-up")
    else:
        for q in ("p50", "p95"):
            if last[q] > latency_ratio * base[q] + latency_slack:
                fails.append(f"latency {q} grew: {1e3 * base[q]:.0f} ms (first window after warm-up) -> "
                             f"{1e3 * last[q]:.0f} ms (last window); allowed {latency_ratio:g}x + "
                             f"{1e3 * latency_slack:.0f} ms")
    return fails


def check_no_leak(summary: dict, abs_mb: float = 3.0, rel: float = 0.01, max_new: int = 5,
                  procs=NODES) -> list[str]:
    """Memory does not keep growing after the warm-up.

    The post-warm-up samples of each node are cut in thirds; the floor of each (10th percentile
    of RSS) must not rise by more than max(abs_mb, rel * RSS) from the first to the second third
    AND again from the second to the last. A leak lifts the floor steadily; noise on a shared
    machine (buffers allocated and freed, a transient peak) does not move the floor, and a
    one-off step (an arena, a cache filled once) lifts it only once. Threads and open fds may
    not grow by more than ``max_new``.
    """
    fails = []
    for n, p in summary["processes"].items():
        if n not in procs:
            continue
        f1, f2, f3 = p["floors"]
        tol = max(abs_mb, rel * f1)
        if f2 - f1 > tol and f3 - f2 > tol:
            fails.append(f"{n}: RSS keeps growing after the warm-up: floors of the thirds {f1:.1f} -> {f2:.1f} "
                         f"-> {f3:.1f} MB (tolerance {tol:.1f} MB per third; {p['slope_mb_min']:.1f} MB/min)")
        for key in ("threads", "fds"):
            if len(p[key]) == 2 and p[key][1] - p[key][0] > max_new:
                fails.append(f"{n}: {key} {p[key][0]:.0f} -> {p[key][1]:.0f} after the warm-up")
    return fails


def check_flow(summary: dict, res: SoakResult, window: float = 10.0) -> list[str]:
    """Frames keep flowing: in every ``window`` s the estimator's processed count rises and skeleton
    arrays and joint angles (classifier) arrive."""
    fails = []
    for r in window_rows(res, window):
        what = f"{r['from']:.0f}-{r['to']:.0f} s"
        if not r["est_processed"] > 0:
            fails.append(f"{what}: estimator processed count did not rise ({r['est_processed']})")
        if r["skeleton_arrays"] == 0:
            fails.append(f"{what}: no skeleton arrays")
        if r["joint_angles"] == 0:
            fails.append(f"{what}: no joint angles from action_classifier")
    return fails


# ------------------------------------------------------------------ report
def _ms(x: float) -> str:
    return "   n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{1e3 * x:6.0f}"


def _mmss(s: float) -> str:
    return f"{int(s // 60)}:{int(round(s % 60)):02d}"


def format_table(summary: dict, res: SoakResult) -> str:
    cfg = res.config
    out = []
    out.append(f"soak: {cfg['backend']}, tracker {cfg['tracker']}, {W}x{H} @ {FPS:g} Hz looped, "
               f"{summary['run_s']:.0f} s measured, warm-up {cfg['warmup']:g} s, "
               f"machine CPU busy {res.totals['machine_cpu_pct']:.0f} % (both cores, all processes)")
    out.append("")
    out.append(f"{'process':<18} {'RSS start':>9} {'RSS end':>8} {'growth':>7} {'slope':>10} {'peak':>7} "
               f"{'CPU %':>6} {'threads':>9} {'fds':>9} {'alive':>5}")
    for n, p in summary["processes"].items():
        th = "-".join(str(int(x)) for x in p["threads"]) if p["threads"] else "?"
        fd = "-".join(str(int(x)) for x in p["fds"]) if p["fds"] else "?"
        label = n + (" (this)" if n == PROBE else "")
        out.append(f"{label:<18} {p['start']:7.1f}MB {p['end']:6.1f}MB {p['growth_pct']:6.1f}% "
                   f"{p['slope_mb_min']:6.2f}MB/m {p['peak']:5.0f}MB {p['cpu_pct']:6.1f} {th:>9} {fd:>9} "
                   f"{'yes' if p['alive'] else 'NO':>5}")
    out.append("  RSS start/end: medians of the first/last 10 s after the warm-up; slope: Theil-Sen over all "
               "samples after the warm-up; CPU: % of one core after the warm-up")
    out.append("")
    out.append(f"{'window':<11} {'images':>6} {'Hz':>5} {'answered':>8} {'dropped':>8} {'p50 ms':>6} "
               f"{'p95 ms':>6} {'max ms':>6} {'est.proc':>8} {'angles':>6} {'busy':>5}")
    for r in summary["windows"]:
        out.append(f"{_mmss(r['from']) + '-' + _mmss(r['to']):<11} {r['images']:6d} {r['fps_in']:5.1f} "
                   f"{r['answered']:8d} {r['dropped_pct']:7.1f}% {_ms(r['p50'])} {_ms(r['p95'])} {_ms(r['max'])} "
                   f"{r['est_processed']:8.0f} {r['joint_angles']:6d} {r['machine_cpu']:4.0f}%")
    b, last, a = summary["latency_baseline"], summary["latency_last"], summary["latency_all"]
    out.append(f"  latency = SkeletonArray arrival - image arrival (same stamp) at the probe; after warm-up: "
               f"p50 {_ms(a['p50']).strip()} / p95 {_ms(a['p95']).strip()} / max {_ms(a['max']).strip()} ms; "
               f"first window after warm-up p50/p95 {_ms(b['p50']).strip()}/{_ms(b['p95']).strip()} ms, "
               f"last window {_ms(last['p50']).strip()}/{_ms(last['p95']).strip()} ms; busy: the machine's CPU "
               f"(both cores, every process, ours and others')")
    t = summary["totals"]
    out.append("")
    pub = t["published"] if t["published"] is not None else "?"
    out.append(f"frames: published {pub} (video_source), seen by the probe {t['images_seen']}, "
               f"received by the estimator {t['est_received']:.0f}, dropped by the estimator (newest-frame-wins) "
               f"{t['est_dropped']:.0f}, processed {t['est_processed']:.0f}, skeleton arrays out "
               f"{t['skeleton_arrays']} ({t['people_per_array']:.2f} people each), joint angle arrays "
               f"{t['joint_angles']}")
    if isinstance(t["published"], int) and t["published"]:
        lost = t["published"] - t["skeleton_arrays"]
        out.append(f"dropped frames: published - skeleton arrays = {lost} ({100 * lost / t['published']:.1f} %); "
                   f"lost before the estimator (DDS) {t['published'] - t['est_received']:.0f}")
    resets = t.get("tracker_resets", math.nan)
    out.append(f"stamps: {t['stamp_not_increasing']} not increasing"
               + (" (WARNING: e.g. " + ", ".join(f"{a:.3f} -> {b:.3f}" for a, b in t["stamp_jumps"][:3]) + ")"
                  if t["stamp_not_increasing"] else "")
               + f"; {t['unmatched_skeletons']} skeleton arrays without a seen image; "
               f"{t['track_ids']} track ids; pose_tracker stamp resets "
               + ("n/a" if math.isnan(resets) else f"{resets:.0f}"))
    errs = {n: e for n, e in summary["log_errors"].items() if e}
    if errs:
        out.append("log errors: " + "; ".join(f"{n}: {e[0][:120]} (+{len(e) - 1})" for n, e in errs.items()))
    return "\n".join(out)


def _jsonable(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return x


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=600.0, help="seconds after the first skeletons (600)")
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds before the baselines (30)")
    ap.add_argument("--window", type=float, default=60.0, help="seconds per latency row (60)")
    ap.add_argument("--backend", default="thunder")
    ap.add_argument("--tracker", choices=("node", "inline"), default="node",
                    help="node: a pose_tracker process (default); inline: the estimator tracks (launch file)")
    ap.add_argument("--max-growth", type=float, default=5.0, help="RSS growth target after warm-up, %% (5)")
    ap.add_argument("--latency-ratio", type=float, default=1.5,
                    help="last window p50/p95 may be this times the first after warm-up (+20 ms) (1.5)")
    ap.add_argument("--json", type=Path, help="write the summary and 1 Hz samples here")
    ap.add_argument("--logs", type=Path, help="keep node logs and the clip in this folder")
    ap.add_argument("--domain", type=int, help="ROS_DOMAIN_ID (default: 201 + pid %% 30)")
    a = ap.parse_args(argv)
    if a.duration <= a.warmup + 10:
        ap.error("--duration must exceed --warmup by more than 10 s")
    # A domain of our own, discovery on this host only: before anything imports rclpy.
    os.environ["ROS_DOMAIN_ID"] = str(a.domain if a.domain is not None else 201 + os.getpid() % 30)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.pop("ROS_LOCALHOST_ONLY", None)
    sys.path.insert(0, str(REPO))
    cfg = SoakConfig(duration=a.duration, warmup=a.warmup, window=a.window, backend=a.backend,
                     tracker=a.tracker, workdir=a.logs)
    try:
        res = run_soak(cfg)
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"[soak] {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # during start-up (later, Ctrl-C ends the run early and reports)
        return 130
    summary = summarize(res)
    fails = check_targets(summary, a.max_growth, a.latency_ratio)
    print(format_table(summary, res))
    print()
    if fails:
        print("TARGETS MISSED:\n  " + "\n  ".join(fails))
    else:
        print(f"targets met: RSS growth < {a.max_growth:g} % for every node, no latency growth, all processes alive")
    if a.json:
        a.json.write_text(json.dumps(_jsonable({"summary": summary, "config": res.config, "samples": res.samples,
                                                "failures": fails}), indent=1))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
