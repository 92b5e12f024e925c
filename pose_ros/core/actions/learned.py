"""Per-track action labels over a time window: learned temporal model and rule baseline.

Both classifiers share one interface, ``classify(window, active) -> ActionResult``:

* :class:`LearnedActionClassifier` (default weights :func:`default_weights`, which
  ``make setup`` trains into the model cache with ``pose-ros train --seed 0`` on
  procedural motion from :mod:`pose_ros.training.synth`; or a file of your own, with
  real recordings added) labels :data:`LEARNED_CLASSES`;
* :class:`RuleActionClassifier` (in :mod:`pose_ros.core.actions.rules`) labels
  :data:`ACTION_CLASSES` from speed, bounce and the active gestures.

The learned model sees the last ``HORIZON`` seconds of the window resampled by
linear interpolation of the stamps onto a fixed ``RATE`` Hz grid (time-driven: the
camera rate and dropped frames do not change the input), as :data:`N_FEATURES`
channels per grid step: the body-centred pose (x, y of 17 joints, each frame
normalised by its own torso), the velocity of every joint in a window frame
(origin: the newest hip centre, unit: the window's median torso length, so whole-body
travel and bounce stay visible), the hip-centre track, torso length and keypoint
extent in that frame, and per-joint visibility. A 1D dilated CNN maps this to the
classes plus a reject class trained on junk tracks. The result is ``unknown`` with
score 0 when the window is too short, has too few samples or mostly missing joints,
and ``unknown`` with the (low) best score when the reject class wins or no class
reaches ``min_confidence``.

torch is imported only when a LearnedActionClassifier is built.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pose_ros.core.actions.rules import ACTION_CLASSES, UNKNOWN, ActionResult, RuleActionClassifier
from pose_ros.core.features.pose import TrackWindow, normalize_pose, visible_mask
from pose_ros.core.models import ModelError, cache_dir, one_line, resolve_built
from pose_ros.core.skeleton import NUM_COCO17, Coco

LEARNED_CLASSES: tuple[str, ...] = (
    "standing", "walking", "running", "waving", "jumping", "sitting_down", "standing_up",
    "squatting", "falling", "sitting", "lying")
HORIZON = 2.0          # seconds of history the model looks at
RATE = 15.0            # Hz of the resampling grid
GRID = int(round(HORIZON * RATE))
N_FEATURES = 2 * 34 + 2 + 1 + 2 + NUM_COCO17     # 90 channels per grid step
DEFAULT_SEED = 0       # `make setup` trains the default weights from this seed
WEIGHTS_PARAMETER = "actions.weights"     # the action_classifier parameter, quoted in errors
FORMAT_VERSION = 1

_HIPS = [Coco.LEFT_HIP, Coco.RIGHT_HIP]
_SHOULDERS = [Coco.LEFT_SHOULDER, Coco.RIGHT_SHOULDER]


# ------------------------------------------------------------------------- features
def resample(stamps: np.ndarray, kps: np.ndarray, grid: np.ndarray, min_score: float = 0.2,
             max_gap: float = 0.4, tol: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints at the ``grid`` times by linear interpolation between visible samples.

    Returns (G (N, 17, 2) pixels, NaN where unknown; V (N, 17) bool). A joint is unknown
    at a grid time farther than ``tol`` s outside its visible samples or inside a gap
    between visible samples longer than ``max_gap`` s.
    """
    s = np.asarray(stamps, np.float64)
    k = np.asarray(kps, np.float64)
    vis = visible_mask(k, min_score)
    # only visible samples are ever interpolated: zero the rest so that a NaN/inf there
    # never meets a zero weight (inf * 0 -> NaN and a warning)
    xy = np.where(vis[..., None], k[..., :2], 0.0)
    n, m = len(s), len(grid)
    if n == 0:
        return np.full((m, NUM_COCO17, 2), np.nan), np.zeros((m, NUM_COCO17), bool)
    idx = np.arange(n)[:, None]
    prev = np.maximum.accumulate(np.where(vis, idx, -1), axis=0)         # last visible <= i
    nxt = np.minimum.accumulate(np.where(vis, idx, n)[::-1], axis=0)[::-1]  # first visible >= i
    gi = np.searchsorted(s, grid, side="right")                        # first sample > g
    lo = np.where((gi > 0)[:, None], prev[np.maximum(gi - 1, 0)], -1)  # (m, 17)
    hi = np.where((gi < n)[:, None], nxt[np.minimum(gi, n - 1)], n)
    has_lo, has_hi = lo >= 0, hi < n
    lo_c, hi_c = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
    t_lo, t_hi = s[lo_c], s[hi_c]
    g = grid[:, None]
    # outside the visible samples: the nearest one within tol
    lo_c = np.where(has_lo, lo_c, hi_c)
    hi_c = np.where(has_hi, hi_c, lo_c)
    ok = ((has_lo & has_hi & (t_hi - t_lo <= max_gap))
          | (~has_lo & has_hi & (t_hi - g <= tol)) | (has_lo & ~has_hi & (g - t_lo <= tol)))
    t_lo, t_hi = s[lo_c], s[hi_c]
    span = t_hi - t_lo
    w = np.clip(np.divide(g - t_lo, span, out=np.zeros_like(span), where=span > 1e-9), 0.0, 1.0)
    j = np.arange(NUM_COCO17)[None]
    val = xy[lo_c, j] * (1 - w)[..., None] + xy[hi_c, j] * w[..., None]
    out = np.where(ok[..., None], val, np.nan)
    return out, ok


def _mean_pts(g: np.ndarray, v: np.ndarray, idx: list[int] | slice) -> np.ndarray:
    cnt = v[:, idx].sum(1)
    s = np.where(v[:, idx, None], g[:, idx], 0.0).sum(1)
    return np.where(cnt[:, None] > 0, s / np.maximum(cnt, 1)[:, None], np.nan)


def window_features(stamps: np.ndarray, kps: np.ndarray, min_score: float = 0.2,
                    horizon: float = HORIZON, rate: float = RATE
                    ) -> tuple[np.ndarray | None, dict[str, float]]:
    """(N_FEATURES, GRID) float32 model input for a track ending at its last stamp, and quality.

    ``quality`` holds ``duration`` (s of data inside the horizon), ``samples`` and
    ``visible`` (mean fraction of joints known over the covered grid steps). The
    features are None when nothing usable is in the window (no stamps, no scale).
    """
    s = np.asarray(stamps, np.float64).reshape(-1)
    q = {"duration": 0.0, "samples": 0.0, "visible": 0.0}
    if s.size == 0:
        return None, q
    n = int(round(horizon * rate))
    t_end = s[-1]
    grid = t_end - (n - 1 - np.arange(n)) / rate
    keep = s >= grid[0] - 0.5        # a little before the grid, for interpolation
    s, k = s[keep], np.asarray(kps, np.float64)[keep]
    inside = s >= grid[0] - 1e-9
    q["samples"] = float(inside.sum())
    q["duration"] = float(t_end - s[inside][0]) if inside.any() else 0.0
    g, v = resample(s, k, grid, min_score)
    covered = grid >= t_end - q["duration"] - 1e-9
    q["visible"] = float(v[covered].mean()) if covered.any() else 0.0
    if not v.any():
        return None, q

    sc, hc = _mean_pts(g, v, _SHOULDERS), _mean_pts(g, v, _HIPS)
    torso = np.linalg.norm(sc - hc, axis=1)
    gx = np.where(v, g[..., 0], np.nan)
    gy = np.where(v, g[..., 1], np.nan)
    anyv = v.any(1)
    ext = np.full((n, 2), np.nan)
    if anyv.any():
        ext[anyv, 0] = np.nanmax(gx[anyv], 1) - np.nanmin(gx[anyv], 1)
        ext[anyv, 1] = np.nanmax(gy[anyv], 1) - np.nanmin(gy[anyv], 1)
    # scale: median torso length; shoulder width / 0.75 when the hips are rarely seen; never
    # below 0.15 of the keypoint extent (a torso seen end-on is short)
    sw = np.where(v[:, _SHOULDERS].all(1), np.linalg.norm(g[:, _SHOULDERS[0]] - g[:, _SHOULDERS[1]], axis=1),
                  np.nan)
    if np.isfinite(torso).sum() >= max(2, 0.25 * covered.sum()):
        scale = np.nanmedian(torso)
    elif np.isfinite(sw).any():
        scale = np.nanmedian(sw) / 0.75
    else:
        scale = np.nan
    big = np.nanmedian(ext.max(1)) if np.isfinite(ext).any() else np.nan
    scale = np.nanmax([scale, 0.15 * big]) if np.isfinite([scale, big]).any() else np.nan
    if not np.isfinite(scale) or scale < 1e-3:
        return None, q
    cen = _mean_pts(g, v, slice(None))
    ref = hc if np.isfinite(hc).all(1).any() else cen
    last = np.flatnonzero(np.isfinite(ref).all(1))[-1]
    origin = ref[last]

    kp = np.concatenate([np.where(v[..., None], g, np.nan), v[..., None].astype(np.float64)], -1)
    local = np.clip(np.nan_to_num(normalize_pose(kp)[..., :2]), -6, 6)
    w = (g - origin) / scale
    vel = np.zeros_like(w)
    both = v[1:] & v[:-1]
    vel[1:] = np.where(both[..., None], (w[1:] - w[:-1]) * rate, 0.0)
    vel = np.clip(np.nan_to_num(vel), -25, 25)
    hip = np.clip(np.nan_to_num((hc - origin) / scale), -15, 15)
    extra = np.clip(np.nan_to_num(np.column_stack([torso / scale, ext / scale])), 0, 15)
    f = np.concatenate([local.reshape(n, -1), vel.reshape(n, -1), hip, extra, v.astype(np.float64)], 1)
    return f.T.astype(np.float32), q


# ---------------------------------------------------------------------------- model
def build_net(n_in: int = N_FEATURES, n_out: int = len(LEARNED_CLASSES) + 1, width: int = 64):
    """The temporal CNN: 4 dilated 1D convolutions (receptive field > GRID), mean+max pool, linear.

    Input (B, n_in, T) raw features; standardisation (``mean``/``std`` buffers, set
    by training) is part of the model so the weights file is self-contained.
    """
    import torch
    from torch import nn

    class ActionNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.zeros(n_in))
            self.register_buffer("std", torch.ones(n_in))
            layers: list[nn.Module] = [nn.Conv1d(n_in, width, 3, padding=1), nn.ReLU()]
            for d in (2, 4, 8):
                layers += [nn.Conv1d(width, width, 3, padding=d, dilation=d), nn.ReLU()]
            self.body = nn.Sequential(*layers)
            self.drop = nn.Dropout(0.2)
            self.head = nn.Linear(2 * width, n_out)

        def forward(self, x):
            x = (x - self.mean[:, None]) / self.std[:, None]
            h = self.body(x)
            h = torch.cat([h.mean(-1), h.amax(-1)], 1)
            return self.head(self.drop(h))

    return ActionNet()


class ActionModelError(ModelError, ValueError):
    """The action weights cannot be used; the message names the file and what to do."""


class ActionModelMissing(ModelError, FileNotFoundError):
    """The action weights file does not exist; the message names the file and what to do."""


def default_weights() -> Path:
    """The default weights: trained by `make setup` into the model cache (no model file is
    committed); :func:`default_sidecar` records their sha256."""
    return cache_dir() / "models" / "actions" / "actions.pt"


def default_sidecar() -> Path:
    """Beside the default weights: their sha256 and training summary, written by `pose-ros train`."""
    return default_weights().with_suffix(".json")


def _fix(path: Path, packaged: bool) -> str:
    if packaged:
        return (f"run `make setup` (it trains the default {path.name}, about a minute), or set "
                f"{WEIGHTS_PARAMETER} to weights from `pose-ros train`")
    return (f"set {WEIGHTS_PARAMETER} to a weights file written by `pose-ros train`, or to '' to use "
            "the default weights")


def load_checkpoint(path: str | Path, packaged: bool = False) -> dict[str, Any]:
    """Read a weights file safely (``weights_only=True``: tensors and plain data only).

    ``packaged``: the default weights, checked against the sha256 `make setup` recorded.
    A mismatch, a file torch cannot read and a dict that is not an action model raise
    :class:`ActionModelError` (a ModelError and a ValueError), a missing file
    :class:`ActionModelMissing` (also FileNotFoundError).
    """
    import torch
    path = Path(path)
    if not path.is_file():
        raise ActionModelMissing(f"the default action model {str(path)!r} is not installed; {_fix(path, True)}"
                                 if packaged else f"action model {str(path)!r} not found; "
                                 f"run `pose-ros train --out {path}`, or {_fix(path, False)}")
    if packaged:
        try:
            resolve_built(path, default_sidecar(), "sha256", "the default action model", _fix(path, True))
        except ModelError as exc:
            raise ActionModelError(str(exc)) from None
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, another format, a pickle weights_only refuses, ...
        text = str(exc).strip()
        first = text.splitlines()[0].split(". ")[0] if text else ""  # torch's first sentence says enough
        detail = one_line(f"{type(exc).__name__}: {first}" if first else type(exc).__name__, 120)
        raise ActionModelError(f"cannot read action model {str(path)!r} ({detail}); it is not a "
                               f"weights file from `pose-ros train` (truncated or another format): "
                               f"{_fix(path, packaged)}") from None
    if not isinstance(ck, dict) or not isinstance(ck.get("state_dict"), dict):
        raise ActionModelError(f"action model {str(path)!r} is not a pose_ros action model (no state_dict); "
                               f"{_fix(path, packaged)}")
    if tuple(ck.get("classes", ())) != LEARNED_CLASSES or ck.get("version", 0) != FORMAT_VERSION:
        raise ActionModelError(f"action model {str(path)!r} was trained for classes {ck.get('classes')} (format "
                               f"{ck.get('version')}); this pose_ros expects {LEARNED_CLASSES} (format "
                               f"{FORMAT_VERSION}): retrain with `pose-ros train`, or "
                               f"{_fix(path, packaged)}")
    return ck


# ----------------------------------------------------------------------- classifier
class LearnedActionClassifier:
    """Temporal CNN over the track window; see the module docstring.

    ``weights_path`` defaults to :func:`default_weights`; ``checkpoint``
    (an in-memory dict as saved by training) overrides it. ``active`` (gesture names)
    is accepted for interface parity and not used.

    ``num_threads`` sets torch's intra-op threads **for the whole process** (None: leave
    them). One thread is fastest for this tiny network and, on a loaded machine, two
    threads were measured several times slower (threads waiting for each other).
    """

    classes = LEARNED_CLASSES

    def __init__(self, weights_path: str | Path | None = None, min_keypoint_score: float = 0.2,
                 min_duration: float = 0.6, min_samples: int = 4, min_visible: float = 0.35,
                 min_confidence: float = 0.4, checkpoint: dict[str, Any] | None = None,
                 num_threads: int | None = 1) -> None:
        try:
            import torch
        except ImportError as exc:
            raise ModelError(f"the learned action model needs torch ({exc}); run `make setup`, or set "
                             "actions.model to rules") from exc
        self._torch = torch
        if num_threads is not None and torch.get_num_threads() != int(num_threads):
            torch.set_num_threads(int(num_threads))
        if checkpoint is not None:
            ck, source = checkpoint, "the given checkpoint"
        elif weights_path:
            ck, source = load_checkpoint(weights_path), repr(str(weights_path))
        else:  # the default file: checked against its sidecar
            ck, source = load_checkpoint(default_weights(), packaged=True), repr(str(default_weights()))
        try:
            cfg = ck.get("config", {})
            self.horizon = float(cfg.get("horizon", HORIZON))
            self.rate = float(cfg.get("rate", RATE))
            self.net = build_net(int(cfg.get("n_in", N_FEATURES)), len(LEARNED_CLASSES) + 1,
                                 int(cfg.get("width", 64)))
            self.net.load_state_dict(ck["state_dict"])
            # a dry inference: weights that cannot run fail here, not at the first track
            self.net.eval()
            with torch.inference_mode():
                self.net(torch.zeros(1, int(cfg.get("n_in", N_FEATURES)),
                                     int(round(self.horizon * self.rate))))
        except Exception as exc:  # wrong shapes or keys, a bad config
            first = str(exc).strip().splitlines()
            detail = " ".join(line.strip() for line in first[:2]) if first else type(exc).__name__
            raise ActionModelError(
                f"action model {source} does not fit the network ({one_line(detail)}); retrain with "
                f"`pose-ros train`, or set {WEIGHTS_PARAMETER} to a weights file it wrote "
                "('' for the shipped weights)") from None
        self.min_score = float(min_keypoint_score)
        self.min_duration = float(min_duration)
        self.min_samples = int(min_samples)
        self.min_visible = float(min_visible)
        self.min_confidence = float(min_confidence)
        self.metadata = {k: v for k, v in ck.items() if k != "state_dict"}

    def features(self, stamps: np.ndarray, kps: np.ndarray) -> tuple[np.ndarray | None, dict[str, float]]:
        """Model input and quality for a (stamps, keypoints) track; None when it must be 'unknown'."""
        f, q = window_features(stamps, kps, self.min_score, self.horizon, self.rate)
        if (f is None or q["duration"] < self.min_duration or q["samples"] < self.min_samples
                or q["visible"] < self.min_visible):
            return None, q
        return f, q

    def probabilities(self, feats: np.ndarray) -> np.ndarray:
        """(B, len(classes) + 1) softmax for a batch of features (last column: reject)."""
        torch = self._torch
        with torch.inference_mode():
            logits = self.net(torch.from_numpy(np.ascontiguousarray(feats, np.float32)))
            return torch.softmax(logits, -1).numpy()

    def classify_track(self, stamps: np.ndarray, kps: np.ndarray) -> ActionResult:
        """Label a track given as arrays (same rules as :meth:`classify`)."""
        s = np.asarray(stamps, np.float64).reshape(-1)
        start, end = (float(s[0]), float(s[-1])) if s.size else (0.0, 0.0)
        n = len(self.classes)
        f, _ = self.features(s, kps)
        if f is None:
            return ActionResult(UNKNOWN, 0.0, np.full(n, 1.0 / n, np.float32), start, end)
        p = self.probabilities(f[None])[0]
        real = p[:n]
        scores = (real / max(float(real.sum()), 1e-9)).astype(np.float32)
        best = int(np.argmax(real))
        conf = float(real[best])
        ok = conf >= self.min_confidence and conf > float(p[n])
        return ActionResult(self.classes[best] if ok else UNKNOWN, conf, scores, start, end)

    def classify(self, window: TrackWindow, active: set[str] | None = None) -> ActionResult:
        return self.classify_track(window.stamps, window.keypoints)


def create_action_classifier(kind: str = "learned", **options: Any):
    """'learned' -> LearnedActionClassifier, 'rules' -> RuleActionClassifier (options passed on)."""
    if kind == "learned":
        return LearnedActionClassifier(**options)
    if kind == "rules":
        return RuleActionClassifier(**options)
    raise ValueError(f"unknown action classifier {kind!r}; choose 'learned' or 'rules'")


__all__ = ["ACTION_CLASSES", "ActionModelError", "ActionModelMissing", "DEFAULT_SEED", "GRID", "HORIZON",
           "LEARNED_CLASSES", "N_FEATURES", "RATE", "UNKNOWN", "ActionResult", "LearnedActionClassifier",
           "RuleActionClassifier", "build_net", "create_action_classifier", "default_sidecar", "default_weights",
           "load_checkpoint", "resample", "window_features"]
