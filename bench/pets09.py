#!/usr/bin/env python3
"""PETS09-S2L1 frames 1-124 through the estimator's own pipeline, in lock-step, scored as acceptance scores.

The pipeline is built from pose_estimator's parameter defaults (``--set NAME=VALUE``
overrides them), exactly as the node builds it, and fed the clip's frames at 768x576
with stamps at its real rate (7 Hz). What it publishes would be the same skeletons;
they are written as JSON lines (index, id, keypoints) and scored by
``../shared/eval/tools/mot_eval.py``, the scorer acceptance uses (MOTA, IDF1, id
switches; boxes from keypoints, every hypothesis counted). The graph in lock-step
(``bench/realtime.py --lockstep``) must give the same numbers; ``--runs 3`` checks
that in-process runs agree with each other.

``--rate 30 --width 640 --frames 600 --set thunder.crop_budget=0.5`` plays the clip as the
real-time bench's pets640 does (7 fps frames stamped at 30 Hz, so people move 4.3x faster)
under a pinned budget (a pinned ceiling is waited for: the run is exact), scores frames
1-124 and counts the ids of all frames: what a crop budget does to identities, repeatably.

Usage: python bench/pets09.py [--set thunder.crop_budget=2] [--runs N] [--noise-seed S] [--seeds N] [--dump out.jsonl]
                              [--rate HZ] [--width PX] [--frames N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FPS = 7.0


def pets_root(shared: str | Path) -> Path | None:
    root = Path(shared) / "eval" / "pets09"
    if not (root / "vtest.avi").exists():
        print(f"PETS09 skipped: {root}/vtest.avi is missing (../shared/eval, see its README)", file=sys.stderr)
        return None
    return root


def score(dump: Path, shared: str | Path) -> dict:
    """The acceptance scorer's numbers for a JSON-lines dump of what was published."""
    root = Path(shared) / "eval"
    out = subprocess.run([sys.executable, str(root / "tools" / "mot_eval.py"), str(dump),
                          str(root / "pets09" / "gt_PETS09-S2L1_frames001-124.txt")],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def dump_line(index: int, people, scale: float = 1.0) -> str:
    """One frame as mot_eval reads it: track ids and keypoints in source pixels (None for NaN);
    ``scale`` takes the keypoints of a resized frame back to the clip's pixels."""
    return json.dumps({"index": index, "skeletons": [
        {"id": p.track_id, "kps": [[None if not np.isfinite(v) else round(float(v), 3) for v in k]
                                   for k in _source(p.keypoints, scale)]} for p in people]})


def _source(kp: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return kp
    kp = np.asarray(kp, np.float64).copy()
    kp[:, :2] *= scale
    return kp


def run_inprocess(video: Path, overrides: dict, frames: int = 124, noise_seed: int | None = None,
                  rate: float = FPS, width: int = 0, stats: dict | None = None) -> list[str]:
    """Dump lines of the estimator pipeline on the first ``frames`` frames (the first 124, the
    ones with ground truth, in the clip's pixels), every frame processed, stamped at ``rate``
    Hz, resized to ``width`` (0: as recorded). ``stats`` gets ids, confirmed ids and people
    and predicted people per frame over all frames."""
    import cv2
    from pose_ros.core.detection import create_backend
    from pose_ros.core.pipeline import PosePipeline
    from pose_ros.core.skeleton import TrackState
    from pose_ros.nodes.estimator_params import backend_options, estimator_values, group, pipeline_options

    values = estimator_values(**overrides)
    name = values["backend"]
    pipe = PosePipeline(create_backend(name, **backend_options(name, group(values, name))), **pipeline_options(values))
    cap = cv2.VideoCapture(str(video))
    lines, ids, confirmed, people, predicted = [], set(), set(), 0, 0
    try:
        for i in range(frames):
            ok, bgr = cap.read()
            if not ok:
                break
            scale = 1.0
            if width:
                scale = bgr.shape[1] / width
                bgr = cv2.resize(bgr, (width, round(bgr.shape[0] / scale)), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if noise_seed is not None:   # +-1 grey level: invisible, yet every pose moves a little
                noise = np.random.default_rng([noise_seed, i]).integers(-1, 2, rgb.shape, dtype=np.int16)
                rgb = np.clip(rgb + noise, 0, 255).astype(np.uint8)
            out = pipe.process(rgb, i / rate).people
            ids.update(p.track_id for p in out)
            confirmed.update(p.track_id for p in out if p.track_state == TrackState.TRACKED)
            people += len(out)
            predicted += sum(p.predicted for p in out)
            if i < 124:
                lines.append(dump_line(i, out, scale))
    finally:
        cap.release()
        pipe.close()
    if stats is not None:
        n = max(i + 1, 1)
        stats.update(ids=len(ids), confirmed_ids=len(confirmed), people_per_frame=round(people / n, 2),
                     predicted_per_frame=round(predicted / n, 2))
    return lines


def parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(REPO.parent / "shared"))
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a pose_estimator parameter, e.g. thunder.crop_budget=2")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--noise-seed", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=0, metavar="N",
                    help="also run noise seeds 1..N and print the mean of the clean run and them (ids swing by "
                         "+-10 and IDF1 by +-0.1 between seeds: compare means)")
    ap.add_argument("--dump", default="", help="keep the (last run's) dump here")
    ap.add_argument("--rate", type=float, default=FPS, help="stamps at this rate (Hz); the clip's own is 7")
    ap.add_argument("--width", type=int, default=0, help="resize frames to this width (0: 768, as recorded)")
    ap.add_argument("--frames", type=int, default=124, help="frames to play (scored: the first 124)")
    a = ap.parse_args()
    root = pets_root(a.shared)
    if root is None:
        return 0
    overrides = dict((k, parse_value(v)) for k, v in (s.split("=", 1) for s in a.set))
    streams = []
    for _ in range(a.runs):
        stats: dict = {}
        lines = run_inprocess(root / "vtest.avi", overrides, a.frames, a.noise_seed, a.rate, a.width, stats)
        streams.append(lines)
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(a.dump) if a.dump else Path(tmp) / "dump.jsonl"
            dump.write_text("\n".join(lines) + "\n")
            print(json.dumps({"overrides": overrides, "noise_seed": a.noise_seed, "rate": a.rate,
                              "width": a.width or None, "frames": a.frames, **stats, **score(dump, a.shared)}))
    if a.runs > 1:
        same = all(s == streams[0] for s in streams)
        print(json.dumps({"runs": a.runs, "identical_streams": same}))
    if a.seeds > 0:
        rows = [{**stats, **score_lines(streams[-1], a.shared)}]
        for seed in range(1, a.seeds + 1):
            stats = {}
            lines = run_inprocess(root / "vtest.avi", overrides, a.frames, seed, a.rate, a.width, stats)
            rows.append({**stats, **score_lines(lines, a.shared)})
            print(json.dumps({"noise_seed": seed, **rows[-1]}))
        keys = ("ids", "confirmed_ids", "mota", "idf1", "num_switches")
        means = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys}
        print(json.dumps({"mean_of_runs": len(rows), **means}))
    return 0


def score_lines(lines: list[str], shared: str | Path) -> dict:
    """The acceptance scorer's numbers for dump lines."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump.jsonl"
        dump.write_text("\n".join(lines) + "\n")
        return score(dump, shared)


if __name__ == "__main__":
    sys.exit(main())
