#!/usr/bin/env python3
"""Milliseconds per 640x480 frame for each pose backend, by number of people in view.

Top-down backends pay per person, single-pass ones do not, so one number per
backend would mislead: this runs every backend on the same frames with 1, 2 and
4+ people (photos from ../shared/eval whose people are annotated, letterboxed to
640x480) and reports the median over ``--runs`` calls after ``--warmup`` calls,
plus how many people the backend found. Machine load changes the numbers: compare
backends within one run, not across runs.

Usage: python bench/speed.py [BACKEND[:key=value,...] ...] [--shared PATH] [--runs N]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DEFAULT_BACKENDS, default_shared, make_backend, read_rgb, require_eval

W, H = 640, 480

# (label, file under eval/, annotated people with keypoints) — counts from the GT files.
FRAMES = [
    ("1 person", "coco17/000000000785.jpg", 1),
    ("2 people", "posetrack18/images/val/009473_mpii_test/000000.jpg", 2),
    ("5 people", "coco17/000000197388.jpg", 5),
    ("11 people", "posetrack18/images/val/012834_mpii_test/000000.jpg", 11),
]


def letterbox(img: np.ndarray, width: int = W, height: int = H) -> np.ndarray:
    """The frame fitted into width x height, aspect kept, black padding (pose_ros.core.imaging.raw)."""
    from pose_ros.core.imaging.raw import letterbox as fit
    return fit(img, width, height)


def load_frames(shared: Path) -> list[tuple[str, np.ndarray, int]]:
    """The benchmark frames, or [] with a message when the eval photos are missing."""
    frames = []
    for label, rel, n in FRAMES:
        path = shared / "eval" / rel
        if not path.is_file():
            print(f"[speed] {path} missing, frame '{label}' skipped", file=sys.stderr)
            continue
        frames.append((label, letterbox(read_rgb(path)), n))
    return frames


def time_all(backends: dict, frames: list, runs: int, warmup: int) -> list[dict]:
    """Median ms per ``infer`` for every (backend, frame), interleaved round-robin.

    Interleaving spreads load changes on a shared machine over all backends alike,
    instead of penalising whichever backend happened to run during a busy second.
    """
    found: dict[tuple[str, str], int] = {}
    times: dict[tuple[str, str], list[float]] = {}
    for spec, backend in backends.items():
        for label, rgb, _ in frames:
            for _ in range(warmup):
                found[spec, label] = len(backend.infer(rgb))
            times[spec, label] = []
    for _ in range(runs):
        for spec, backend in backends.items():
            for label, rgb, _ in frames:
                t0 = time.perf_counter()
                people = backend.infer(rgb)
                times[spec, label].append(time.perf_counter() - t0)
                found[spec, label] = len(people)
    return [{"backend": spec, "frame": label, "people": n, "found": found[spec, label],
             "ms": 1e3 * float(np.median(times[spec, label]))}
            for spec in backends for label, _, n in frames]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("backends", nargs="*", default=DEFAULT_BACKENDS)
    ap.add_argument("--shared", type=Path, default=default_shared(),
                    help="folder holding eval/ (default: ../shared next to the repository)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    if not require_eval(args.shared, "speed"):
        return 2
    frames = load_frames(args.shared)
    if not frames:
        return 2
    print(f"[speed] {W}x{H} frames from {args.shared / 'eval'}; median of {args.runs} runs "
          f"after {args.warmup} warm-up")
    backends = {spec: b for spec in dict.fromkeys(args.backends) if (b := make_backend(spec)) is not None}
    if not backends:
        return 2
    results = time_all(backends, frames, args.runs, args.warmup)
    for backend in backends.values():
        backend.close()

    width = max([len(r["backend"]) for r in results] + [7])
    print(f"{'backend':<{width}} " + " ".join(f"{label:>16}" for label, _, _ in frames))
    print(f"{'':<{width}} " + " ".join(f"{'ms (found/GT)':>16}" for _ in frames))
    for spec in dict.fromkeys(r["backend"] for r in results):
        cells = [f"{r['ms']:7.1f} ({r['found']:>2}/{r['people']:<2})"
                 for r in results if r["backend"] == spec]
        print(f"{spec:<{width}} " + " ".join(f"{c:>16}" for c in cells))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
