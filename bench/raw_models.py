#!/usr/bin/env python3
"""The machine's raw model times: one MoveNet Thunder crop, one Lightning crop and one
NanoDet frame, on 1 and 2 threads, per engine (median of ``--runs`` calls).

Machines here differ about 2x in inference speed, so every timing the benches report
is quoted with these numbers. ``--busy`` keeps one core busy (a spinning process) while
measuring, as a robot's CPU shared with navigation would be.

Usage: python bench/raw_models.py [--runs N] [--busy] [--engines openvino,onnxruntime]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from busy import busy_core


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1000.0 * float(np.median(times)), 1)


def measure(engine: str, threads: int, runs: int) -> dict[str, float]:
    from pose_ros.core.detection import nanodet
    from pose_ros.core.detection.runtime import Model
    from pose_ros.core.detection.thunder import NANODET_FILE, POSE_MODELS
    from pose_ros.core.models import resolve_converted
    rng = np.random.default_rng(0)
    out = {}
    for name, (file, size) in POSE_MODELS.items():
        m = Model(resolve_converted(file), engine=engine, threads=threads)
        x = rng.integers(0, 255, (1, size, size, 3)).astype(np.int32)
        out[f"{name}_crop_ms"] = median_ms(lambda: m.run(x), runs)
        m.close()
    det = Model(resolve_converted(NANODET_FILE), engine=engine, threads=threads)
    x, _, _ = nanodet.preprocess(rng.integers(0, 255, (480, 640, 3)).astype(np.uint8))
    out["nanodet_ms"] = median_ms(lambda: det.run(x), runs)
    det.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--busy", action="store_true", help="keep one core busy while measuring")
    ap.add_argument("--engines", default="openvino,onnxruntime")
    a = ap.parse_args()
    rows = []
    with busy_core(a.busy):
        for engine in a.engines.split(","):
            for threads in (1, 2):
                rows.append({"engine": engine, "threads": threads, "busy_core": a.busy,
                             **measure(engine, threads, a.runs)})
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
