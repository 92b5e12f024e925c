"""Real skeleton recordings for the learned action classifier.

A recording is one person's track over time, saved as ``.npz`` with

* ``stamps``    (T,) float64 seconds (non-decreasing, from the media timeline),
* ``keypoints`` (T, 17, 3) float32 COCO-17 pixels + score (NaN / 0 when missing),
* ``label``     0-d string, one of :data:`pose_ros.core.actions.learned.LEARNED_CLASSES`,
* ``image_size`` (2,) width, height; ``track_id``, ``source`` and ``backend`` strings.

``pose-ros dataset VIDEO --label L --out F.npz`` runs a pose backend and the
tracker (the same :class:`~pose_ros.core.pipeline.PosePipeline` the estimator
node runs) over a video and keeps one track (the longest by default) or all of
them; ``pose-ros train --real DIR`` adds every ``.npz`` under DIR to the
synthetic training set.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pose_ros.core.skeleton import NUM_COCO17, Person

Recording = tuple[np.ndarray, np.ndarray, str]  # stamps (T,), keypoints (T, 17, 3), label


# ------------------------------------------------------------------ frames -> tracks
def record_video(video: str | Path, backend: str = "movenet", backend_options: dict | None = None,
                 max_width: int = 0, smoothing: bool = True, start: float = 0.0,
                 end: float = float("inf")) -> tuple[list[tuple[float, list[Person]]], tuple[int, int]]:
    """Run ``backend`` + tracker (+ smoother) over a video file or image folder.

    Returns ``([(stamp, tracked people), ...], (width, height))``; stamps are the media
    timeline in seconds, frames outside [start, end] are skipped (not inferred).
    """
    from pose_ros.core.detection import create_backend
    import cv2

    from pose_ros.core.pipeline import PosePipeline
    from pose_ros.core.imaging.video import FrameSource

    opts = dict(backend_options or {})
    if backend == "movenet":
        opts.setdefault("input_size", 384)
    pipe = PosePipeline(create_backend(backend, **opts), tracking=True, smoothing=smoothing)
    src = FrameSource(str(video), max_width=max_width)
    out: list[tuple[float, list[Person]]] = []
    size = (0, 0)
    try:
        for fr in src.frames():
            if fr.t < start:
                continue
            if fr.t > end:
                break
            size = (fr.bgr.shape[1], fr.bgr.shape[0])
            out.append((fr.t, pipe.process(cv2.cvtColor(fr.bgr, cv2.COLOR_BGR2RGB), fr.t).people))
    finally:
        src.close()
        pipe.close()
    return out, size


def track_sequences(frames: Iterable[tuple[float, Sequence[Person]]], tracker=None,
                    min_samples: int = 2) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Group a stream of ``(stamp, people)`` into per-track ``(stamps, keypoints)``.

    People that already carry a ``track_id`` keep it; when none does, a fresh
    :class:`~pose_ros.core.tracking.tracker.Tracker` (or ``tracker``) assigns ids. Tracks
    with fewer than ``min_samples`` samples are dropped; dict order is first
    appearance.
    """
    seqs: dict[str, tuple[list[float], list[np.ndarray]]] = {}
    own = tracker
    for stamp, people in frames:
        people = list(people)
        if people and not any(p.track_id for p in people):
            if own is None:
                from pose_ros.core.tracking.tracker import Tracker
                own = Tracker()
            people = own.update(people, stamp)
        for p in people:
            if not p.track_id:
                continue
            kp = np.asarray(p.keypoints, dtype=np.float32)
            if kp.shape != (NUM_COCO17, 3):
                continue
            s, k = seqs.setdefault(p.track_id, ([], []))
            s.append(float(stamp))
            k.append(kp)
    return {tid: (np.asarray(s, np.float64), np.stack(k)) for tid, (s, k) in seqs.items()
            if len(s) >= min_samples}


# ------------------------------------------------------------------------- npz files
def save_recording(path: str | Path, stamps: np.ndarray, keypoints: np.ndarray, label: str,
                   **meta: object) -> Path:
    """Write one recording (see the module docstring); returns the path."""
    stamps = np.asarray(stamps, np.float64).reshape(-1)
    kp = np.asarray(keypoints, np.float32)
    if kp.shape != (len(stamps), NUM_COCO17, 3):
        raise ValueError(f"keypoints {kp.shape} do not match {len(stamps)} stamps x (17, 3)")
    if len(stamps) > 1 and np.any(np.diff(stamps) < 0):
        raise ValueError("stamps must be non-decreasing")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {k: np.asarray(v) for k, v in meta.items()}
    np.savez_compressed(path, stamps=stamps, keypoints=kp, label=np.asarray(str(label)), **extra)
    return path


def load_recording(path: str | Path) -> Recording:
    """(stamps, keypoints, label) from one ``.npz`` (never unpickles objects)."""
    with np.load(path, allow_pickle=False) as z:
        return (np.asarray(z["stamps"], np.float64), np.asarray(z["keypoints"], np.float32),
                str(z["label"]))


def load_recordings(paths: Iterable[str | Path]) -> list[Recording]:
    """Every recording in the given files and folders (folders searched recursively)."""
    out: list[Recording] = []
    for p in paths:
        p = Path(p)
        files = sorted(p.rglob("*.npz")) if p.is_dir() else [p]
        out += [load_recording(f) for f in files]
    return out


# ------------------------------------------------------------------------------ CLI
def dataset_main(argv: list[str] | None = None) -> int:
    """``pose-ros dataset VIDEO --label L --out F.npz``: video -> labelled skeleton track(s)."""
    from pose_ros.core.actions.learned import LEARNED_CLASSES

    ap = argparse.ArgumentParser(prog="pose-ros dataset",
                                 description="Turn a video of one action into labelled skeleton tracks (.npz).")
    ap.add_argument("video", help="video file or image folder")
    ap.add_argument("--label", required=True, choices=LEARNED_CLASSES)
    ap.add_argument("--out", required=True, help="output .npz (with --track all: F_<id>.npz per track)")
    ap.add_argument("--backend", default="movenet")
    ap.add_argument("--track", default="longest", help="'longest', 'all' or a track id")
    ap.add_argument("--start", type=float, default=0.0, help="first second of the video to use")
    ap.add_argument("--end", type=float, default=float("inf"), help="last second of the video to use")
    ap.add_argument("--max-width", type=int, default=0, help="downscale wider frames (0 = keep)")
    ap.add_argument("--min-duration", type=float, default=1.0, help="drop shorter tracks (seconds)")
    a = ap.parse_args(argv)
    try:
        frames, size = record_video(a.video, a.backend, max_width=a.max_width, start=a.start, end=a.end)
    except Exception as exc:  # backend / source errors carry their own advice
        print(f"pose-ros dataset: {exc}", file=sys.stderr)
        return 1
    seqs = {tid: v for tid, v in track_sequences(frames).items()
            if v[0][-1] - v[0][0] >= a.min_duration}
    if not seqs:
        print(f"pose-ros dataset: no track of at least {a.min_duration} s in {a.video}", file=sys.stderr)
        return 1
    if a.track == "longest":
        chosen = [max(seqs, key=lambda t: seqs[t][0][-1] - seqs[t][0][0])]
    elif a.track == "all":
        chosen = list(seqs)
    elif a.track in seqs:
        chosen = [a.track]
    else:
        print(f"pose-ros dataset: no track {a.track!r}; tracks: {', '.join(seqs)}", file=sys.stderr)
        return 1
    out = Path(a.out)
    for tid in chosen:
        path = out if len(chosen) == 1 else out.with_name(f"{out.stem}_{tid}{out.suffix or '.npz'}")
        s, k = seqs[tid]
        save_recording(path, s, k, a.label, image_size=np.array(size), track_id=tid,
                       source=str(a.video), backend=a.backend)
        print(f"{path}: track {tid}, {len(s)} samples, {s[-1] - s[0]:.2f} s, label {a.label}")
    return 0


if __name__ == "__main__":
    sys.exit(dataset_main())
