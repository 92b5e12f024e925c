#!/usr/bin/env python3
"""Milliseconds per 640x480 frame in video, cold and steady, for backends that keep state.

bench/speed.py times one still frame over and over, which is right for stateless
backends; a backend that follows people between detections (thunder's video mode,
its background detector and crop budget) must be timed over a real clip, where
people move and the detector's frames are the expensive ones. This plays the cached demo video
(letterboxed to 640x480, 2-3 people) and, for the still frames of bench/speed.py
(1, 2, 5 people), repeats each one as a "video". Reported per backend: the first
call (cold: includes the engines' first-run allocations), median, p95 and mean
ms, and the share of frames done within 1/30 s (a 30 Hz camera's budget, before
the rest of the graph takes its share of the CPU).

Usage: python bench/video_speed.py [BACKEND[:key=value,...] ...] [--frames N] [--shared PATH]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import default_shared, make_backend
from speed import load_frames, letterbox

DEFAULT = ["thunder", "thunder:crop_budget=2",
           "thunder:pose_model=lightning", "movenet"]


def demo_clip(n: int) -> list[np.ndarray]:
    """The first ``n`` frames of the cached demo video, RGB, letterboxed to 640x480."""
    from pose_ros.training.demo_media import cached_demo_video
    path = cached_demo_video()
    if path is None:
        raise SystemExit("demo video not cached; run `make setup`")
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(letterbox(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    cap.release()
    return frames


def time_sequence(spec: str, frames: list[np.ndarray]) -> dict:
    """Build the backend, feed ``frames`` in order, time every call (wall clock)."""
    backend = make_backend(spec)
    if backend is None:
        return {}
    from pose_ros.core.detection import VideoBackend
    times, found = [], []
    for i, rgb in enumerate(frames):
        t0 = time.perf_counter()
        people = backend.infer_frame(rgb, i / 30.0) if isinstance(backend, VideoBackend) else backend.infer(rgb)
        times.append(1e3 * (time.perf_counter() - t0))
        found.append(len(people))
    backend.close()
    t = np.array(times)
    steady = t[1:] if len(t) > 1 else t
    return {"cold": float(t[0]), "median": float(np.median(steady)), "p95": float(np.percentile(steady, 95)),
            "mean": float(steady.mean()), "in_budget": float((steady <= 1e3 / 30).mean()),
            "people": float(np.median(found))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("backends", nargs="*", default=DEFAULT)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--shared", type=Path, default=default_shared())
    args = ap.parse_args(argv)
    clips = [("demo clip", demo_clip(args.frames))]
    if (args.shared / "eval").is_dir():
        clips += [(label, [rgb] * max(30, args.frames // 3)) for label, rgb, _ in load_frames(args.shared)[:3]]
    print(f"{'backend':<44} {'clip':<10} {'people':>6} {'cold':>6} {'median':>6} {'p95':>6} {'mean':>6} "
          f"{'<=33ms':>6}")
    for spec in args.backends:
        for label, frames in clips:
            r = time_sequence(spec, frames)
            if r:
                print(f"{spec:<44} {label:<10} {r['people']:>6.0f} {r['cold']:>6.1f} {r['median']:>6.1f} "
                      f"{r['p95']:>6.1f} {r['mean']:>6.1f} {100 * r['in_budget']:>5.0f}%", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
