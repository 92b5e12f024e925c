#!/usr/bin/env python3
"""Learned action classifier: held-out synthetic accuracy, real demo video, cost.

    python bench/actions.py [--weights F.pt] [--n 60] [--no-video] [--rules] [--pets09 SECONDS]

1. Held-out synthetic set (split "test": camera yaws, elevations and body heights
   never seen in training; seed different from training): per-class precision and
   recall, confusion matrix, and how much junk is rejected as 'unknown'.
2. The demo video (Sports2D clip, 1768x994, 30 fps): MoveNet MultiPose
   (input_size 384) + Tracker + the classifier on each track's 2 s window at every
   frame. Ground truth by position and time: the man on the box (left-centre)
   does jumping jacks until frame ~80, then turns and walks on the box until his
   track ends (frame ~126; his windows still hold jacks until ~110); the woman
   enters from the right at ~1.9 s and walks the whole time she is seen.
   Reports the fraction of frames each is given the right label (and, with
   ``--rules``, the same for the rule baseline with gestures).
   ``--pets09 S`` also labels the first S seconds of PETS09-S2L1 (../shared/eval,
   MoveNet at 768: small people), reporting label shares only.
3. Milliseconds per classification of one 2 s track window at 30 fps.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose_ros.training import synth
from pose_ros.core.actions.learned import LearnedActionClassifier, default_weights
from pose_ros.core.actions.stage import ActionStage
from pose_ros.core.features.pose import TrackWindow
from pose_ros.training.train import evaluate, format_metrics

FPS = 30.0
# Ground truth of the demo video (frame ranges, inclusive), see the module docstring.
JUMPING_FRAMES = (20, 80)       # windows ending here hold >= 0.5 s of jumping jacks
WALKER_SETTLE = 1.0             # s after the woman's track starts (the window fills)


def synthetic(clf: LearnedActionClassifier, n: int, seed: int) -> dict:
    test = synth.make_dataset(n, seed, "test", junk=n, duration=2.5)
    t0 = time.perf_counter()
    m = evaluate(clf, test)
    dt = time.perf_counter() - t0
    print(f"== held-out synthetic: {n} tracks per class + {n} junk, seed {seed} ({dt:.1f} s)")
    print(format_metrics(m))
    return m


def timing(clf: LearnedActionClassifier, runs: int = 300) -> tuple[float, float]:
    rng = np.random.default_rng(7)
    stamps, kps = synth.generate("walking", rng, 2.0, fps=30.0, jitter=False)
    win = TrackWindow(2.0)
    for s, k in zip(stamps, kps):
        win.add(s, k)
    for _ in range(20):
        clf.classify(win, set())
    t0 = time.perf_counter()
    for _ in range(runs):
        clf.features(win.stamps, win.keypoints)
    t_feat = (time.perf_counter() - t0) / runs * 1e3
    times = []
    for _ in range(runs):
        win._cache.clear()              # as after a new sample: the window arrays are rebuilt
        t0 = time.perf_counter()
        clf.classify(win, set())
        times.append(time.perf_counter() - t0)
    t_all = float(np.median(times) * 1e3)
    print(f"== cost: {t_all:.2f} ms per classification (median of {runs}; features {t_feat:.2f} ms), "
          f"{len(win)} samples in the window, torch threads {clf._torch.get_num_threads()}")
    return t_all, t_feat


def run_tracks(clf: LearnedActionClassifier, frames, rules: bool = False):
    """Classify every track at every frame on its 2 s window: the node's ActionStage, with no
    rate limit and tracks kept for as long as the clip (a window only ever holds 2 s)."""
    opts = {"window": 2.0, "rate": 1e6, "track_timeout": 1e6}
    stages = {"learned": ActionStage(classifier=clf, **opts)}
    if rules:
        stages["rules"] = ActionStage(model="rules", **opts)
    first: dict[str, int] = {}
    xs: dict[str, list[float]] = {}
    labels: dict[str, dict[str, dict[int, str]]] = {"learned": {}, "rules": {}}
    for i, (stamp, people) in enumerate(frames):
        tracked = [(p.track_id, p) for p in people if p.track_id]
        for tid, p in tracked:
            first.setdefault(tid, i)
            xs.setdefault(tid, []).append(float(np.nanmean(p.keypoints[:, 0])))
        for title, stage in stages.items():
            for tid, r in stage.update(stamp, tracked).actions or []:
                labels[title].setdefault(tid, {})[i] = r.label
    return first, xs, labels


def _dist(labs: list[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in Counter(labs).most_common())


def demo_video(clf: LearnedActionClassifier, rules: bool) -> dict:
    from pose_ros.training.demo_media import demo_video_path
    from pose_ros.training.dataset import record_video
    try:
        video = demo_video_path(download=False)
    except FileNotFoundError as exc:
        print(f"== demo video skipped: {exc}")
        return {}
    t0 = time.perf_counter()
    frames, (w, h) = record_video(video, "movenet", {"input_size": 384, "num_threads": 2})
    print(f"== demo video: {len(frames)} frames {w}x{h}, MoveNet (384) + tracker in "
          f"{time.perf_counter() - t0:.1f} s; labels at every frame on the track's 2 s window")
    first, xs, labels = run_tracks(clf, frames, rules)
    # who is who: the jumper starts left-centre at the beginning, the walker enters later from the right
    early = [t for t in first if first[t] < 10]
    jumper = min(early, key=lambda t: abs(np.median(xs[t][:30]) / w - 0.36)) if early else None
    walker = next((t for t in first if 30 < first[t] < 120 and xs[t][0] / w > 0.6), None)
    back = next((t for t in first if first[t] > 150 and len(xs[t]) > 15), None)
    result: dict[str, float] = {}
    for title, table in labels.items():
        if not table:
            continue
        print(f" {title}:")
        if jumper is None or walker is None:
            print("  jumping man or walking woman not tracked")
            continue
        got = [lab for i, lab in table[jumper].items() if JUMPING_FRAMES[0] <= i <= JUMPING_FRAMES[1]]
        result[f"{title}_jumping"] = float(np.mean([g == "jumping" for g in got]))
        print(f"  jumping man (track {jumper}), frames {JUMPING_FRAMES[0]}-{JUMPING_FRAMES[1]}: "
              f"{result[f'{title}_jumping']:.2f} of {len(got)} frames 'jumping'   [{_dist(got)}]")
        w0 = first[walker] + int(WALKER_SETTLE * FPS)
        got = [lab for i, lab in table[walker].items() if i >= w0]
        result[f"{title}_walking"] = float(np.mean([g == "walking" for g in got]))
        print(f"  walking woman (track {walker}), frames {w0}-{max(table[walker])}: "
              f"{result[f'{title}_walking']:.2f} of {len(got)} frames 'walking'   [{_dist(got)}]")
        got = [lab for i, lab in table[jumper].items() if i > JUMPING_FRAMES[1]]
        print(f"  jumping man after the jacks (turns, walks on the box; the window still holds jacks "
              f"until ~frame 110), frames {JUMPING_FRAMES[1] + 1}-{max(table[jumper])}: [{_dist(got)}]")
        if back is not None:
            got = list(table[back].values())
            print(f"  the man again after his back flip (lands crouching, then runs; no single class), "
                  f"track {back}: [{_dist(got)}]")
    return result


def pets09(clf: LearnedActionClassifier, shared: Path, seconds: float) -> None:
    """PETS09-S2L1 View 1 (small pedestrians, 10 fps): label shares (no per-frame action truth)."""
    from pose_ros.training.dataset import record_video
    video = shared / "eval" / "pets09" / "vtest.avi"
    if not video.is_file():
        print(f"== PETS09 skipped: {video} not found (../shared/eval/pets09)")
        return
    t0 = time.perf_counter()
    frames, _ = record_video(video, "movenet", {"input_size": 768, "num_threads": 2}, end=seconds)
    first, xs, labels = run_tracks(clf, frames)
    labs = [lab for t in labels["learned"].values() for lab in t.values()]
    print(f"== PETS09-S2L1 first {seconds:.0f} s ({len(frames)} frames, MoveNet 768, "
          f"{time.perf_counter() - t0:.0f} s): {len(labels['learned'])} tracks, labels over all "
          f"track-frames (mostly walkers, some stand and talk): [{_dist(labs)}]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=str(default_weights()))
    ap.add_argument("--n", type=int, default=60, help="held-out synthetic tracks per class")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument("--rules", action="store_true", help="also run the rule baseline on the video")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is the classifier's default)")
    ap.add_argument("--pets09", type=float, default=0.0, metavar="SECONDS",
                    help="also label the first SECONDS of PETS09-S2L1 (from --shared)")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    a = ap.parse_args(argv)
    clf = LearnedActionClassifier(a.weights, num_threads=a.threads)
    synthetic(clf, a.n, a.seed)
    timing(clf)
    if not a.no_video:
        demo_video(clf, a.rules)
    if a.pets09 > 0:
        pets09(clf, Path(a.shared), a.pets09)
    return 0


if __name__ == "__main__":
    sys.exit(main())
