#!/usr/bin/env python3
"""Real time through the graph: publish a clip at its own rate, count the answers.

The launch file's graph (video_source -> pose_estimator, tracking inline ->
action_classifier, one process each) plays a clip at its real rate, free running as
a camera would; the soak bench's probe (``bench/soak.py``) records when each image
and its skeletons arrive. Reported per run: frames answered, latency p50/p95/max,
people and predicted people per answered frame, distinct track ids (all, and those once
published confirmed, as hri_bridge publishes bodies), RSS growth, and
for the PETS09 7 Hz run the acceptance scorer's MOTA / IDF1 / switches on what the
graph published (``../shared/eval/tools/mot_eval.py``). ``--busy`` keeps one core
busy throughout (a robot's shared CPU, or a slower machine); ``--lockstep`` makes
video_source wait for each frame's skeletons instead (every frame processed). The probe
counts the frames by the CameraInfo video_source sends with each image (same stamp, just
before it), so that it is not a second reader of every image as no user's robot code is
(``--probe-images``: by the images, as before 2026-12-07).

Clips (made from ``../shared/eval/pets09/vtest.avi`` and the demo video):
  pets640    PETS09 at 640x480, 30 Hz, looped            (about 8 people)
  crowd      PETS09 tiled 2x2 to 1280x960, 30 Hz, looped  (four scenes at once: 20-30 people)
  pets7      PETS09 frames 1-124 at 768x576, 7 Hz, once   (scored against the ground truth)
  demo       the demo clip at 640x480, 30 Hz, looped      (2-3 people)

Usage: python bench/realtime.py pets640 [crowd pets7 demo] [--duration 30] [--busy] [--lockstep] [--json out]
Quote the machine's raw model times with the numbers (bench/raw_models.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from busy import busy_core

REPO = Path(__file__).resolve().parents[1]
CLIPS = {  # name -> (source, width, height, fps, frames or 0 = all, tiles, played once)
    "pets640": ("pets", 640, 480, 30.0, 0, 1, False),
    "crowd": ("pets", 1280, 960, 30.0, 0, 2, False),
    "pets7": ("pets", 768, 576, 7.0, 124, 1, True),
    "demo": ("demo", 640, 480, 30.0, 0, 1, False),
}


def make_clip(name: str, out_dir: Path, shared: Path) -> Path:
    """The named clip as an MJPG file in ``out_dir`` (tiles: the clip at four offsets, 2x2); a clip
    that is scored (played once) as a folder of PNG frames instead, lossless."""
    import cv2
    from pose_ros.core.imaging.raw import letterbox
    kind, w, h, fps, frames, tiles, _ = CLIPS[name]
    if kind == "pets":
        src = shared / "eval" / "pets09" / "vtest.avi"
        if not src.exists():
            raise FileNotFoundError(f"{src} is missing (../shared/eval, see its README)")
    else:
        from pose_ros.training.demo_media import demo_video_path
        src = demo_video_path(download=False)
    cap = cv2.VideoCapture(str(src))
    imgs = []
    while not frames or len(imgs) < frames:
        ok, bgr = cap.read()
        if not ok:
            break
        imgs.append(bgr)
    cap.release()
    if CLIPS[name][6]:   # scored: lossless PNG frames (an image folder), the very pixels bench/pets09.py reads
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(imgs):
            cv2.imwrite(str(folder / f"{i:06d}.png"), img if img.shape[:2] == (h, w) else letterbox(img, w, h))
        return folder
    out = out_dir / f"{name}.avi"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    tw, th = w // tiles, h // tiles
    n = len(imgs)
    for i in range(n):
        if tiles == 1:
            frame = letterbox(imgs[i], w, h) if imgs[i].shape[:2] != (h, w) else imgs[i]
        else:   # each tile its own moment of the clip, so the crowd is four scenes at once
            rows = [np.hstack([letterbox(imgs[(i + (r * tiles + c) * n // 4) % n], tw, th) for c in range(tiles)])
                    for r in range(tiles)]
            frame = np.vstack(rows)
        writer.write(frame)
    writer.release()
    return out


def run(name: str, duration: float, busy: bool, lockstep: bool, shared: Path, estimator: dict,
        workdir: Path, probe_images: bool = False) -> dict:
    import soak
    kind, w, h, fps, frames, tiles, once = CLIPS[name]
    clip = make_clip(name, workdir, shared)
    source = {"stamp_source": "media", "loop": not once and not lockstep}
    if lockstep:   # every frame processed: reliable images, as a bag replay test uses
        source.update(wait_for="/pose/skeletons", rate=0.0, wait_timeout=30.0)
        estimator = {"image_reliability": "reliable", **estimator}
    cfg = soak.SoakConfig(duration=duration, warmup=min(5.0, duration / 4), window=max(duration / 3, 5.0),
                          tracker="inline", workdir=workdir / name, clip=clip, fps=fps, source=source,
                          estimator=estimator, record=once, finite=once or lockstep, quiet=True,
                          frames_by_info=not probe_images)
    with busy_core(busy):
        res = soak.run_soak(cfg)
    summary = soak.summarize(res)
    tot = summary["totals"]
    lat = np.array(res.img_lat, float)
    answered = ~np.isnan(lat)
    row = {
        "clip": name, "size": f"{w}x{h}", "rate_hz": fps, "busy_core": busy, "lockstep": lockstep,
        "estimator": estimator, "probe_reads_images": probe_images, "images": int(len(lat)),
        "answered_pct": round(100.0 * answered.mean(), 1),
        "latency_ms": {k: round(1000 * float(np.percentile(lat[answered], q)), 1)
                       for k, q in (("p50", 50), ("p95", 95), ("max", 100))} if answered.any() else None,
        "people_per_answer": round(tot["people_per_array"], 2),
        "predicted_per_answer": round(tot["predicted_per_array"], 2),
        "distinct_ids": tot["track_ids"],
        "confirmed_ids": tot["confirmed_ids"],
        "rss_growth_pct": {n: round(p.get("growth_pct", float("nan")), 1) for n, p in summary["processes"].items()
                           if n != "probe"},
        "cpu_pct": {n: round(p.get("cpu_pct", float("nan"))) for n, p in summary["processes"].items()},
        "early_stop": res.early_stop,
        "estimator_diag": tot.get("est_diag", {}),
    }
    if name == "pets7":
        row["mot"] = score_pets(res.frames, fps, shared, workdir)
    return row


def score_pets(frames: dict, fps: float, shared: Path, workdir: Path) -> dict:
    """What the graph published, as mot_eval reads it (index from the media stamp), scored."""
    from pets09 import score
    dump = workdir / "pets7_dump.jsonl"
    with dump.open("w") as f:
        for stamp_ns, people in sorted(frames.items()):
            f.write(json.dumps({"index": int(round(stamp_ns * 1e-9 * fps)), "skeletons": [
                {"id": i, "kps": [[None if not np.isfinite(v) else v for v in k] for k in kps]}
                for i, kps in people]}) + "\n")
    return score(dump, shared)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", default=["pets640", "crowd", "pets7", "demo"], choices=sorted(CLIPS))
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per looped clip (30)")
    ap.add_argument("--busy", action="store_true", help="keep one core busy")
    ap.add_argument("--lockstep", action="store_true", help="video_source waits for each frame's skeletons")
    ap.add_argument("--probe-images", action="store_true",
                    help="the probe counts frames by the images (a second image reader), not their CameraInfo")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="pose_estimator parameter")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--domain", type=int, default=None)
    a = ap.parse_args()
    os.environ["ROS_DOMAIN_ID"] = str(a.domain if a.domain is not None else 150 + os.getpid() % 40)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    from pets09 import parse_value
    estimator = dict((k, parse_value(v)) for k, v in (s.split("=", 1) for s in a.set))
    rows = []
    with tempfile.TemporaryDirectory(prefix="pose_ros_realtime_") as tmp:
        for name in a.clips:
            dur = 124 / CLIPS[name][3] + 30 if (CLIPS[name][6] or a.lockstep) else a.duration
            row = run(name, dur, a.busy, a.lockstep, a.shared, estimator, Path(tmp), a.probe_images)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
