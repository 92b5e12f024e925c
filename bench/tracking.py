#!/usr/bin/env python3
"""Tracker and smoother benchmark: cost, identity metrics, jitter.

    python bench/tracking.py                      # synthetic parts only (a, b, c)
    python bench/tracking.py --jitter-video clip.mp4 --backend movenet

Synthetic scenes measure the tracker itself (ground truth is exact, the detector is
simulated with noise, misses and false positives). Behind a real backend on real
video, PETS09 is measured by ``bench/pets09.py`` (the estimator's whole pipeline, as
the node runs it, scored by the acceptance scorer) and ``bench/realtime.py pets7``
(through the graph at the clip's rate). Everything runs the same Tracker /
SkeletonSmoother objects the node ships.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose_ros.core.tracking.smoothing import SkeletonSmoother
from pose_ros.core.skeleton import NUM_COCO17, Person, keypoint_box
from pose_ros.core.geometry import iou_matrix
from pose_ros.core.tracking.tracker import Tracker

FPS = 30.0
# Stick figure in body heights: (x offset, height above feet); legs/arms swing with phase.
_BASE = np.array([
    (0, .93), (-.02, .95), (.02, .95), (-.045, .935), (.045, .935), (-.12, .8), (.12, .8),
    (-.14, .62), (.14, .62), (-.14, .47), (.14, .47), (-.09, .5), (.09, .5),
    (-.09, .26), (.09, .26), (-.09, 0), (.09, 0)])
_SWING = np.array([0, 0, 0, 0, 0, 0, 0, -.05, .05, -.1, .1, 0, 0, .06, -.06, .12, -.12])


# ------------------------------------------------------------------ synthetic
def figure(x: float, y: float, h: float, shape: np.ndarray, phase: float, rng: np.random.Generator,
           noise: float = 2.0, score: float = 0.9) -> tuple[Person, np.ndarray]:
    """(noisy detection, true box xyxy) of a stick figure with per-person proportions."""
    pts = _BASE * shape[:, None] + np.stack([_SWING * np.sin(phase), np.zeros(17)], axis=1)
    kp = np.empty((NUM_COCO17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = x + pts[:, 0] * h, y - pts[:, 1] * h, 0.9
    truth = keypoint_box(kp)
    kp[:, :2] += rng.normal(0, noise, (NUM_COCO17, 2))
    return Person(keypoints=kp, score=score), truth


Scene = list[tuple[float, list[tuple[int, Person, np.ndarray]]]]  # (stamp, [(gt id, det, gt box)])


def scene(kind: str, seed: int = 0, seconds: float = 8.0, n: int = 8) -> Scene:
    """Synthetic scenes: 'crossing', 'crossing_occluded', 'pillar', 'crowd'.

    In 'crowd' people bounce around a 1250 px wide image, overlap often, each
    has a typical person score (some always below high_score), 5 % of
    detections are missed and 5 % of frames add a false positive. Ground truth
    only holds people the detector could see, so hidden frames count neither
    as misses nor as fragmentations, but a wrong id afterwards is a switch.
    """
    rng = np.random.default_rng(seed)
    if kind.startswith("crossing"):
        walkers = [[150, 400, 150, 220], [600, 405, -150, 220]]
        seconds = 3.0
    elif kind == "pillar":   # three people walk behind a pillar at x 330-410 (0.5-1 s hidden)
        walkers = [[60, 400, 110, 220], [700, 380, -90, 190], [20, 430, 80, 240]]
    else:
        walkers = [[rng.uniform(50, 1200), rng.uniform(250, 650), rng.uniform(-120, 120),
                    rng.uniform(100, 260)] for _ in range(n)]
    shapes = [rng.uniform(0.85, 1.15, 17) for _ in walkers]
    base_score = rng.uniform(0.35, 0.95, len(walkers))   # some people are always hard to see
    frames: Scene = []
    for k in range(int(seconds * FPS)):
        t = k / FPS
        frame = []
        xs = [w[0] + w[2] * t for w in walkers]
        for g, (w, x) in enumerate(zip(walkers, xs)):
            if kind == "crowd":                      # bounce inside the image
                x = 50 + abs((x - 50) % 2300 - 1150)
            det, box = figure(x, w[1], w[3], shapes[g], 8 * t + g, rng,
                              score=float(np.clip(base_score[g] + rng.normal(0, 0.1), 0.05, 1))
                              if kind == "crowd" else 0.9)
            hidden = ((kind == "crossing_occluded" and g == 1 and abs(xs[0] - xs[1]) < 60)
                      or (kind == "pillar" and 330 < x < 410)
                      or (kind == "crowd" and rng.random() < 0.05))
            if not hidden:
                frame.append((g, det, box))
        if kind == "crowd" and rng.random() < 0.05:  # a false positive
            det, _ = figure(rng.uniform(0, 1200), rng.uniform(200, 600), 80, np.ones(17), 0, rng,
                            noise=10.0, score=float(rng.uniform(0.2, 0.6)))
            frame.append((-1, det, None))
        frames.append((t, frame))
    return frames


def _int_ids() -> Callable[[str], int]:
    """motmetrics 1.4 casts hypothesis ids to float: give each string id a number."""
    table: dict[str, int] = {}
    return lambda s: table.setdefault(s, len(table) + 1)


def mot_distance(gt_boxes: np.ndarray, hyp_boxes: np.ndarray, min_iou: float = 0.5) -> np.ndarray:
    """1 - IoU, NaN where IoU < min_iou (motmetrics' own iou_matrix needs numpy < 2)."""
    iou = iou_matrix(gt_boxes, hyp_boxes)
    return np.where(iou >= min_iou, 1.0 - iou, np.nan)


def mot_summary(accs: list, names: list[str]):
    import motmetrics as mm
    mh = mm.metrics.create()
    return mh.compute_many(accs, names=names, metrics=[
        "num_frames", "mota", "idf1", "num_switches", "num_fragmentations",
        "num_false_positives", "num_misses", "num_unique_objects"])


def synthetic_mot(kinds: Iterable[str] = ("crossing", "crossing_occluded", "pillar", "crowd",
                                          "crowd12")):
    """motmetrics summary per scene; 'crowd12' is the crowd scene with 12 people."""
    import motmetrics as mm
    accs, names = [], []
    for kind in kinds:
        tracker, num, acc = Tracker(), _int_ids(), mm.MOTAccumulator(auto_id=True)
        frames = scene("crowd", seed=1, n=12) if kind == "crowd12" else scene(kind)
        for t, frame in frames:
            out = tracker.update([d for _, d, _ in frame], t)
            gt = [(g, b) for g, _, b in frame if g >= 0]
            gb = np.array([b for _, b in gt]).reshape(-1, 4)
            hb = np.array([p.box for p in out]).reshape(-1, 4)
            acc.update([g for g, _ in gt], [num(p.track_id) for p in out], mot_distance(gb, hb))
        accs.append(acc)
        names.append(kind)
    return mot_summary(accs, names)


def cost_per_frame(counts: Iterable[int] = (1, 5, 20, 50), frames: int = 150) -> dict[int, float]:
    """Mean milliseconds per Tracker.update with ``n`` walking people in view."""
    res = {}
    for n in counts:
        rng = np.random.default_rng(n)
        walkers = [(rng.uniform(0, 1800), rng.uniform(200, 1000), rng.uniform(-100, 100),
                    rng.uniform(60, 250)) for _ in range(n)]
        shapes = [rng.uniform(0.85, 1.15, 17) for _ in range(n)]
        dets = [[figure(x + vx * k / FPS, y, h, s, k / 4, rng)[0]
                 for (x, y, vx, h), s in zip(walkers, shapes)] for k in range(frames)]
        tracker = Tracker()
        start = time.perf_counter()
        for k, people in enumerate(dets):
            tracker.update(people, k / FPS)
        res[n] = (time.perf_counter() - start) / frames * 1e3
    return res


def acceleration(track: list[np.ndarray], min_score: float = 0.3) -> float:
    """Mean |x[t+1] - 2 x[t] + x[t-1]| (px/frame^2) over joints valid in all three frames.

    Second differences of a still person are pure jitter; for a moving one they
    are jitter plus true acceleration, which smoothing should not remove.
    """
    kp = np.stack(track).astype(np.float64)
    ok = (kp[:, :, 2] >= min_score) & np.isfinite(kp[:, :, :2]).all(axis=2)
    a = np.linalg.norm(kp[2:, :, :2] - 2 * kp[1:-1, :, :2] + kp[:-2, :, :2], axis=2)
    m = ok[2:] & ok[1:-1] & ok[:-2]
    return float(a[m].mean()) if m.any() else float("nan")


def jitter_synthetic(noise: float = 2.0, seconds: float = 10.0,
                     tracker_kwargs: dict | None = None) -> tuple[float, float]:
    """Still person, keypoint noise ``noise`` px: mean acceleration raw and smoothed."""
    rng = np.random.default_rng(7)
    tracker, smoother = Tracker(**(tracker_kwargs or {})), SkeletonSmoother()
    raw, smooth = [], []
    for k in range(int(seconds * FPS)):
        p, _ = figure(400, 450, 250, np.ones(17), 0.0, rng, noise=noise)
        (p,) = tracker.update([p], k / FPS)
        raw.append(p.keypoints.copy())
        smooth.append(smoother.apply([p], k / FPS)[0].keypoints)
    return acceleration(raw), acceleration(smooth)


# ------------------------------------------------------------------ real data
def _backend(name: str, **options):
    """The named backend, or None after printing why it was skipped."""
    try:
        from pose_ros.core.detection import BackendError, create_backend
    except ImportError as exc:
        print(f"  {name}: skipped (backends not importable: {exc})")
        return None
    try:
        return create_backend(name, **options)
    except (BackendError, ImportError, TypeError) as exc:   # TypeError: bad option name
        print(f"  {name}: skipped ({exc})")
        return None


def jitter_on_video(path: str | Path, backend_name: str, frames: int = 300,
                    backend_options: dict | None = None, tracker_kwargs: dict | None = None) -> dict | None:
    """Jitter (mean keypoint acceleration) of the most stable track, raw vs smoothed.

    Meant for a clip of someone standing still: the longest-lived track with the
    least box motion is chosen, and the ratio smoothed/raw is the jitter removed.
    """
    import cv2
    backend = _backend(backend_name, **(backend_options or {}))
    if backend is None:
        return None
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        print(f"  jitter: cannot open {path}")
        backend.close()
        return None
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    tracker, smoother = Tracker(**(tracker_kwargs or {})), SkeletonSmoother()
    raw: dict[str, list[np.ndarray]] = {}
    smooth: dict[str, list[np.ndarray]] = {}
    centers: dict[str, list[np.ndarray]] = {}
    try:
        for k in range(frames):
            ok, bgr = cap.read()
            if not ok:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1e3 or k / fps
            out = tracker.update(backend.infer(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), t)
            for p in out:
                raw.setdefault(p.track_id, []).append(p.keypoints.copy())
                centers.setdefault(p.track_id, []).append((p.box[:2] + p.box[2:]) / 2)
            for p in smoother.apply(out, t):
                smooth.setdefault(p.track_id, []).append(p.keypoints)
    finally:
        cap.release()
        backend.close()
    if not raw:
        print(f"  jitter: nobody found in {path}")
        return None
    # The stillest of the long tracks: at least half the longest (and 30 frames), then the
    # least median centre motion per frame (a walker is long-lived too, but not still).
    longest = max(len(v) for v in raw.values())
    long_ids = [i for i in raw if len(raw[i]) >= min(longest, max(30, longest // 2))]

    def motion(i: str) -> float:
        c = np.asarray(centers[i])
        return float(np.median(np.linalg.norm(np.diff(c, axis=0), axis=1))) if len(c) > 1 else 0.0
    best = min(long_ids, key=motion)
    r, s = acceleration(raw[best]), acceleration(smooth[best])
    return {"track": best, "frames": len(raw[best]), "raw": r, "smoothed": s, "ratio": s / r}


def _parse_opt(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jitter-video", default="", help="clip of a person standing still")
    ap.add_argument("--backend", default="movenet", help="backend for --jitter-video")
    ap.add_argument("--backend-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="backend option for --jitter-video, e.g. input_size=512")
    ap.add_argument("--high-score", type=float, default=None,
                    help="run --jitter-video with this Tracker high_score (small people score low)")
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args()
    opts = dict(_parse_opt(o) for o in args.backend_opt)
    try:
        import pandas as pd
        pd.set_option("display.width", 200)
        pd.set_option("display.max_columns", 20)
    except ImportError:
        pass

    if not args.skip_synthetic:
        print("(a) Tracker.update cost per frame (synthetic walkers):")
        for n, ms in cost_per_frame().items():
            print(f"    {n:3d} people: {ms:6.2f} ms")
        print("(b) identity metrics on synthetic scenes (30 fps, 2 px keypoint noise):")
        try:
            print(synthetic_mot().to_string(float_format=lambda v: f"{v:.3f}"))
        except ImportError:
            print("    skipped: motmetrics is not installed")
        r, s = jitter_synthetic()
        print(f"(c) jitter, still person, 2 px noise: raw {r:.2f}, smoothed {s:.2f} px/frame^2,"
              f" ratio {s / r:.3f}")
    if args.jitter_video:
        kw = {"high_score": args.high_score, "low_score": min(0.1, args.high_score)} if args.high_score else None
        res = jitter_on_video(args.jitter_video, args.backend, backend_options=opts, tracker_kwargs=kw)
        if res is not None:
            print(f"(e) jitter on {args.jitter_video} ({args.backend}, track {res['track']},"
                  f" {res['frames']} frames): raw {res['raw']:.2f}, smoothed {res['smoothed']:.2f},"
                  f" ratio {res['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
