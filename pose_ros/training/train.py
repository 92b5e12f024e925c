"""Train the learned action classifier: ``pose-ros train [--seed --out --real DIR ...]``.

Everything comes from the seed: the synthetic training set (:func:`pose_ros.training.synth.make_dataset`,
split "train"), the held-out test set (split "test": unseen camera yaws, elevations and
body heights, another seed), the weight initialisation and the batch order (fixed
thread count, deterministic algorithms), so the same seed on the same machine and
library versions gives the same weights. Real recordings (``.npz`` from
``pose-ros dataset``, see :mod:`pose_ros.training.dataset`) are cut into windows every
``real_step`` seconds and added, repeated ``real_weight`` times.

The model file is a plain dict (``state_dict`` + class list, format version,
feature config, training summary) readable with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from pose_ros.training import synth
from pose_ros.core.actions.learned import (DEFAULT_SEED, FORMAT_VERSION, GRID, HORIZON, LEARNED_CLASSES, N_FEATURES,
                                   RATE, UNKNOWN, build_net, default_sidecar, default_weights,
                                   window_features)
from pose_ros.core.skeleton import COCO17_FLIP, NUM_COCO17

JUNK_INDEX = len(LEARNED_CLASSES)
# Still postures that cannot be told apart without hips: trained as 'unknown' then.
AMBIGUOUS_WITHOUT_HIPS = ("standing", "sitting")
Sample = tuple[np.ndarray, np.ndarray, str]


# --------------------------------------------------------------------------- data
def featurize(samples: Iterable[Sample], min_score: float = 0.2, min_duration: float = 0.6,
              min_visible: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """(X (M, N_FEATURES, GRID) float32, y (M,) int) for the samples that pass the quality gate.

    Junk tracks ('unknown') are kept whenever they have features at all: the reject
    class must also learn the near-empty ones the gate would catch at run time.
    Standing / sitting windows with the hips seen less than 20 % of the time are
    trained as 'unknown' (an upper body alone does not say which it is).
    """
    xs, ys = [], []
    hips = N_FEATURES - NUM_COCO17 + np.array([11, 12])
    for stamps, kps, label in samples:
        f, q = window_features(stamps, kps, min_score)
        if f is None:
            continue
        junk = label == UNKNOWN
        if label in AMBIGUOUS_WITHOUT_HIPS and f[hips].max(0).mean() < 0.2:
            junk = True     # upper body only: standing and sitting look the same
        if not junk and (q["duration"] < min_duration or q["visible"] < min_visible):
            continue
        xs.append(f)
        ys.append(JUNK_INDEX if junk else LEARNED_CLASSES.index(label))
    if not xs:
        return np.zeros((0, N_FEATURES, GRID), np.float32), np.zeros(0, np.int64)
    return np.stack(xs), np.array(ys, np.int64)


def recording_windows(stamps: np.ndarray, kps: np.ndarray, label: str, step: float = 0.2,
                      min_length: float = 1.0) -> list[Sample]:
    """Windows of a real recording ending every ``step`` s once ``min_length`` s are available."""
    s = np.asarray(stamps, np.float64)
    out: list[Sample] = []
    if s.size < 2:
        return out
    t = s[0] + min_length
    while t <= s[-1] + 1e-9:
        end = int(np.searchsorted(s, t, side="right"))
        start = int(np.searchsorted(s, s[end - 1] - HORIZON - 0.5, side="left"))
        out.append((s[start:end], kps[start:end], label))
        t += step
    return out


def _mirror_index() -> tuple[np.ndarray, np.ndarray]:
    """Channel permutation and sign flip that mirror the features left <-> right."""
    perm = np.arange(N_FEATURES)
    sign = np.ones(N_FEATURES, np.float32)
    for base in (0, 34):
        for j in range(NUM_COCO17):
            perm[base + 2 * j] = base + 2 * COCO17_FLIP[j]
            perm[base + 2 * j + 1] = base + 2 * COCO17_FLIP[j] + 1
            sign[base + 2 * j] = -1.0
    sign[68] = -1.0                          # hip-centre x
    vis = N_FEATURES - NUM_COCO17
    perm[vis:] = vis + COCO17_FLIP
    return perm, sign


# ----------------------------------------------------------------------- metrics
def confusion_metrics(y_true: Sequence[str], y_pred: Sequence[str],
                      classes: Sequence[str] = LEARNED_CLASSES) -> dict:
    """Accuracy, per-class precision / recall and the confusion matrix.

    Rows: true classes; columns: predicted classes then 'unknown'. A true 'unknown'
    (junk) is reported as ``reject_rate`` (fraction predicted 'unknown') instead.
    """
    cols = list(classes) + [UNKNOWN]
    cm = np.zeros((len(classes), len(cols)), np.int64)
    junk_total = junk_rejected = 0
    for t, p in zip(y_true, y_pred):
        if t == UNKNOWN:
            junk_total += 1
            junk_rejected += p == UNKNOWN
            continue
        cm[classes.index(t), cols.index(p)] += 1
    per = {}
    for i, c in enumerate(classes):
        tp = cm[i, i]
        pred = cm[:, i].sum()
        true = cm[i].sum()
        per[c] = {"precision": float(tp / pred) if pred else float("nan"),
                  "recall": float(tp / true) if true else float("nan"), "support": int(true)}
    total = cm.sum()
    return {"accuracy": float(np.trace(cm[:, :len(classes)]) / total) if total else float("nan"),
            "unknown_rate": float(cm[:, -1].sum() / total) if total else float("nan"),
            "per_class": per, "confusion": cm.tolist(), "columns": cols,
            "reject_rate": float(junk_rejected / junk_total) if junk_total else float("nan")}


def format_metrics(m: dict, classes: Sequence[str] = LEARNED_CLASSES) -> str:
    """Human-readable table of :func:`confusion_metrics` output."""
    lines = [f"accuracy {m['accuracy']:.3f}   unknown {m['unknown_rate']:.3f}   "
             f"junk rejected {m['reject_rate']:.3f}", "",
             f"{'class':<13}{'precision':>10}{'recall':>8}{'n':>6}"]
    for c in classes:
        r = m["per_class"][c]
        lines.append(f"{c:<13}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['support']:>6}")
    short = [c[:5] for c in m["columns"]]
    lines += ["", "confusion (rows true, columns predicted):", " " * 13 + "".join(f"{s:>6}" for s in short)]
    for c, row in zip(classes, m["confusion"]):
        lines.append(f"{c:<13}" + "".join(f"{v:>6}" for v in row))
    return "\n".join(lines)


def evaluate(classifier, samples: Iterable[Sample]) -> dict:
    """Run ``classifier.classify_track`` on every sample; :func:`confusion_metrics` of the result."""
    y_true, y_pred = [], []
    for stamps, kps, label in samples:
        y_true.append(label)
        y_pred.append(classifier.classify_track(stamps, kps).label)
    return confusion_metrics(y_true, y_pred)


# -------------------------------------------------------------------------- train
def train(seed: int = DEFAULT_SEED, out: str | Path | None = None, n_per_class: int = 800, epochs: int = 30,
          real: Sequence[str | Path] = (), n_test: int = 60, junk_fraction: float = 1.0,
          real_weight: int = 3, real_step: float = 0.2, width: int = 64, batch_size: int = 128,
          lr: float = 3e-3, threads: int = 1, log: Callable[[str], None] = print) -> dict:
    """Generate data, train, evaluate on the held-out split and save; returns the metrics.

    ``junk_fraction``: junk tracks per class-sized share (1.0 = as many junk tracks as
    one class). ``out=None`` skips saving.
    """
    import torch

    prev = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(int(threads))
    torch.use_deterministic_algorithms(True)
    try:
        return _train(seed, out, n_per_class, epochs, real, n_test, junk_fraction, real_weight, real_step,
                      width, batch_size, lr, log)
    finally:
        torch.set_num_threads(prev[0])
        torch.use_deterministic_algorithms(prev[1])


def _train(seed, out, n_per_class, epochs, real, n_test, junk_fraction, real_weight, real_step, width,
           batch_size, lr, log) -> dict:
    import torch
    import torch.nn.functional as F

    t_start = time.perf_counter()
    torch.manual_seed(seed)
    n_junk = int(round(junk_fraction * n_per_class))
    samples = synth.make_dataset(n_per_class, seed, "train", junk=n_junk, duration=2.3, short_fraction=0.2)
    n_real = 0
    if real:
        from pose_ros.training.dataset import load_recordings
        for stamps, kps, label in load_recordings(real):
            if label not in LEARNED_CLASSES:
                raise ValueError(f"real recording label {label!r} is not one of {LEARNED_CLASSES}")
            wins = recording_windows(stamps, kps, label, real_step)
            n_real += len(wins)
            samples += wins * int(real_weight)
    X, y = featurize(samples)
    t_data = time.perf_counter() - t_start
    log(f"{len(X)} training windows ({n_real} real x {real_weight}) from {len(samples)} tracks "
        f"in {t_data:.1f} s")

    net = build_net(N_FEATURES, len(LEARNED_CLASSES) + 1, width)
    flat = X.transpose(0, 2, 1).reshape(-1, N_FEATURES)
    net.mean.copy_(torch.from_numpy(flat.mean(0)))
    net.std.copy_(torch.from_numpy(np.maximum(flat.std(0), 1e-2)))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    perm, sign = (torch.from_numpy(a) for a in _mirror_index())
    counts = np.bincount(y, minlength=len(LEARNED_CLASSES) + 1).astype(np.float64)
    weight = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(counts), dtype=torch.float32)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-3)
    steps = epochs * int(np.ceil(len(X) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.2)
    gen = torch.Generator().manual_seed(seed)
    for ep in range(epochs):
        net.train()
        order = torch.randperm(len(X), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = Xt[idx], yt[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None], xb[:, perm] * sign[None, :, None], xb)
            xb = xb + 0.02 * torch.randn(xb.shape, generator=gen) * net.std[None, :, None]
            logits = net(xb)
            loss = F.cross_entropy(logits, yb, weight=weight, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            total += len(idx)
        if ep == epochs - 1 or ep % 5 == 0:
            log(f"epoch {ep + 1}/{epochs}: loss {loss_sum / total:.3f}, train accuracy {correct / total:.3f}")
    net.eval()
    t_train = time.perf_counter() - t_start - t_data

    checkpoint = {
        "version": FORMAT_VERSION, "classes": list(LEARNED_CLASSES),
        "config": {"horizon": HORIZON, "rate": RATE, "n_in": N_FEATURES, "width": int(width), "grid": GRID},
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "training": {"seed": int(seed), "n_per_class": int(n_per_class), "epochs": int(epochs),
                     "windows": int(len(X)), "real_windows": int(n_real), "torch": str(torch.__version__)},
    }
    from pose_ros.core.actions.learned import LearnedActionClassifier
    clf = LearnedActionClassifier(checkpoint=checkpoint)
    test = synth.make_dataset(n_test, seed + 1000, "test", junk=n_test, duration=2.5)
    metrics = evaluate(clf, test)
    metrics.update(train_seconds=t_train, data_seconds=t_data, windows=int(len(X)), real_windows=n_real,
                   total_seconds=time.perf_counter() - t_start)
    checkpoint["training"]["test_accuracy"] = metrics["accuracy"]
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, out)
        metrics["out"] = str(out)
        log(f"saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
        if out.resolve() == default_weights().resolve():  # the default weights: record their sha256
            import json

            from pose_ros.core.models import sha256_file
            default_sidecar().write_text(json.dumps({"sha256": sha256_file(out), **checkpoint["training"]}))
    log(f"held-out synthetic test (unseen viewpoints and heights):\n{format_metrics(metrics)}")
    log(f"data {t_data:.1f} s, training {t_train:.1f} s, total {metrics['total_seconds']:.1f} s")
    return metrics


def train_main(argv: list[str] | None = None) -> int:
    """``pose-ros train``: regenerate the synthetic data and the model from a seed."""
    ap = argparse.ArgumentParser(prog="pose-ros train", description="Train the learned action classifier.")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", default=str(default_weights()), help="weights file to write (default: the "
                    "default weights in the model cache, which `make setup` trains)")
    ap.add_argument("--real", nargs="*", default=[], metavar="DIR",
                    help="folders / .npz files of real recordings (pose-ros dataset) to add")
    ap.add_argument("--n-per-class", type=int, default=800, help="synthetic tracks per class")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--n-test", type=int, default=60, help="held-out synthetic tracks per class")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (fixed for reproducibility)")
    a = ap.parse_args(argv)
    try:
        train(seed=a.seed, out=a.out, n_per_class=a.n_per_class, epochs=a.epochs, real=a.real,
              n_test=a.n_test, threads=a.threads)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"pose-ros train: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(train_main())
