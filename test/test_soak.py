"""A 60 s soak of the full graph (bench/soak.py, which runs it for 10 minutes).

video_source (demo video letterboxed to 640x480, looped, 30 Hz real time), pose_estimator,
pose_tracker and action_classifier as separate processes over real DDS; this process probes.
Checks: every process stays alive and stops cleanly, frames keep flowing (the estimator's
processed count rises, skeleton arrays and joint angles arrive in every 10 s window), and no
node's memory keeps growing after a 20 s warm-up (see soak.check_no_leak). The report (-s)
also shows latency per window, drops, CPU and stamp anomalies.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# bench/ is not a package and must not go on sys.path (its module names are generic).
_spec = importlib.util.spec_from_file_location("pose_ros_bench_soak", Path(__file__).parents[1] / "bench" / "soak.py")
soak = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(soak)

DURATION, WARMUP, WINDOW = 60.0, 20.0, 10.0


@pytest.mark.timeout(400)
def test_soak_60s(demo_video, tmp_path):
    clip = soak.make_clip(tmp_path, demo_video)
    res = soak.run_soak(soak.SoakConfig(duration=DURATION, warmup=WARMUP, window=WINDOW, workdir=tmp_path,
                                        clip=clip, quiet=True))
    summary = soak.summarize(res)
    report = soak.format_table(summary, res)
    print("\n" + report)  # shown with -s or on failure
    logs = "\n".join(f"--- {n} ---\n{t[-1500:]}" for n, t in res.logs.items())

    assert res.early_stop is None, f"{res.early_stop}\n{report}\n{logs}"
    assert set(res.alive) == set(soak.NODES) and all(res.alive.values()), f"{res.alive}\n{logs}"
    assert summary["run_s"] >= DURATION - 1
    bad_exit = {n: c for n, c in res.exit_codes.items() if c not in (0, -2, 130)}
    assert not bad_exit, f"nodes did not stop cleanly on SIGINT: {bad_exit}\n{logs}"
    assert not any(res.log_errors.values()), f"errors in the node logs: {res.log_errors}"

    fails = soak.check_flow(summary, res, WINDOW)
    assert not fails, "frames stopped flowing:\n  " + "\n  ".join(fails) + "\n" + report
    # A stall floor, not a speed target (bench/soak.py reports the rate): how much of a 30 Hz
    # stream the estimator answers depends on the CPU, 99 % on one machine here and 27-33 %
    # on a slower one (Thunder crops 5x slower) with the test suite's load beside it.
    assert res.totals["skeleton_arrays"] >= 0.1 * DURATION * soak.FPS, f"too few frames processed\n{report}"

    fails = soak.check_no_leak(summary)
    assert not fails, "memory keeps growing:\n  " + "\n  ".join(fails) + "\n" + report
