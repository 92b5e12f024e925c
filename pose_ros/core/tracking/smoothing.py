"""Temporal smoothing of keypoints: the One Euro filter, per track.

One Euro (Casiez, Roussel, Vogel, CHI 2012) is a low-pass filter whose cutoff
rises with speed: a still joint is smoothed hard (no jitter), a moving one
lightly (little lag). It is driven by header stamps, so a replayed bag smooths
exactly as live, and dropped frames only lengthen ``dt``.
"""
from __future__ import annotations

import math

import numpy as np

from pose_ros.core.skeleton import Person, TrackState, coords_ok


def _alpha(cutoff: np.ndarray | float, dt: np.ndarray) -> np.ndarray:
    """Smoothing factor of a first-order low-pass with ``cutoff`` Hz over ``dt`` s."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One Euro filter over an array of any shape, element by element.

    Invalid samples (``valid`` False, or not finite) are skipped: the filter keeps
    its state for them and returns the raw input there unchanged, so a joint the
    detector loses is never dragged toward a NaN or a low-score guess. Each element
    keeps its own last time, so a joint that comes back after ``max_gap`` seconds
    restarts from its new position instead of sliding in from the old one, and so
    does one whose update overflows (a huge jump over a tiny ``dt``): the output for a
    finite sample is always finite.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0,
                 max_gap: float = 1.0) -> None:
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0):   # NaN fails too
            raise ValueError("min_cutoff and d_cutoff must be > 0, beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.max_gap = float(max_gap)
        self.reset()

    def reset(self) -> None:
        """Forget everything; the next sample passes through unchanged."""
        self._x: np.ndarray | None = None    # filtered value
        self._dx: np.ndarray | None = None   # filtered derivative, units per second
        self._raw: np.ndarray | None = None  # last valid raw sample
        self._t: np.ndarray | None = None    # last valid time per element (NaN = never)

    @property
    def derivative(self) -> np.ndarray | None:
        """Filtered rate of change (units per second) of each element; NaN if never seen."""
        return None if self._dx is None else self._dx.copy()

    @property
    def value(self) -> np.ndarray | None:
        """Last filtered value of each element (NaN if never seen)."""
        return None if self._x is None else self._x.copy()

    def __call__(self, x: np.ndarray, t: float, valid: np.ndarray | None = None) -> np.ndarray:
        """Filter sample ``x`` taken at time ``t`` (seconds); ``valid`` broadcasts to ``x``
        from the left, e.g. a (17,) mask for (17, 2) points."""
        x = np.asarray(x, dtype=np.float64)
        ok = np.isfinite(x)
        if valid is not None:
            v = np.asarray(valid, dtype=bool)
            ok &= v.reshape(v.shape + (1,) * (x.ndim - v.ndim))
        if self._x is None or self._x.shape != x.shape:
            self._x = np.full(x.shape, np.nan)
            self._dx = np.zeros(x.shape)
            self._t = np.full(x.shape, np.nan)
            self._raw = np.full(x.shape, np.nan)
        with np.errstate(invalid="ignore"):
            dt = t - self._t
        fresh = ok & ~(dt <= self.max_gap)          # never seen, or gone too long (NaN-safe)
        step = ok & ~fresh & (dt > 0.0)             # dt <= 0: same stamp, keep the last output
        self._x[fresh], self._dx[fresh], self._t[fresh] = x[fresh], 0.0, t
        if step.any():
            # The rate uses the previous raw sample, as in the authors' later reference
            # code: differencing against the lagging filtered value (the paper's form)
            # overestimates a steady speed by lag/dt, which matters once published.
            dts, xs, xp, dxp = dt[step], x[step], self._x[step], self._dx[step]
            with np.errstate(over="ignore", invalid="ignore"):   # checked just below
                dx = _alpha(self.d_cutoff, dts) * ((xs - self._raw[step]) / dts - dxp) + dxp
                cutoff = self.min_cutoff + self.beta * np.abs(dx)
                xn = xp + _alpha(cutoff, dts) * (xs - xp)
            blown = ~(np.isfinite(xn) & np.isfinite(dx))
            if blown.any():     # overflow: restart these elements from the sample
                xn[blown], dx[blown] = xs[blown], 0.0
            self._x[step] = xn
            self._dx[step], self._t[step] = dx, t
        self._raw[fresh | step] = x[fresh | step]
        return np.where(ok, self._x, x)


class SkeletonSmoother:
    """One One-Euro filter per track id over the (17, 2) keypoint pixels.

    Defaults suit pixels at 10-60 fps: ``min_cutoff`` 1 Hz removes detector jitter on
    a still person; ``beta`` 0.05 opens the cutoff by 1 Hz per 20 px/s, so a waving
    hand at ~500 px/s follows with little lag. Joints scoring below ``min_score``
    are passed through untouched and do not move the filter.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0,
                 min_score: float = 0.3, forget_after: float = 5.0, max_gap: float = 1.0) -> None:
        self._filters: dict[str, OneEuroFilter] = {}
        self.set_params(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff, min_score=min_score,
                        forget_after=forget_after, max_gap=max_gap)
        self._filters: dict[str, OneEuroFilter] = {}
        self._seen: dict[str, float] = {}
        self._state: dict[str, TrackState] = {}
        self._last_stamp: float | None = None

    def set_params(self, **changes: float) -> None:
        """Change constants, also while smoothing: checked as at construction (ValueError,
        TypeError for an unknown name, nothing changed then); running filters take the new
        constants and keep their state, so a change makes no jump."""
        names = ("min_cutoff", "beta", "d_cutoff", "min_score", "forget_after", "max_gap")
        bad = set(changes) - set(names)
        if bad:
            raise TypeError(f"unknown smoother parameters: {sorted(bad)}")
        p = {n: float(changes[n]) if n in changes else getattr(self, n) for n in names}
        OneEuroFilter(p["min_cutoff"], p["beta"], p["d_cutoff"], p["max_gap"])   # its checks
        if not (math.isfinite(p["min_cutoff"]) and math.isfinite(p["d_cutoff"]) and math.isfinite(p["beta"])):
            raise ValueError("min_cutoff, d_cutoff and beta must be finite")
        if not (p["forget_after"] >= 0 and p["max_gap"] >= 0):   # NaN fails too
            raise ValueError("forget_after and max_gap must be >= 0 seconds")
        for n, v in p.items():
            setattr(self, n, v)
        for f in self._filters.values():
            f.min_cutoff, f.beta, f.d_cutoff, f.max_gap = p["min_cutoff"], p["beta"], p["d_cutoff"], p["max_gap"]

    def reset(self) -> None:
        """Forget all tracks."""
        self._filters.clear()
        self._seen.clear()
        self._state.clear()
        self._last_stamp = None

    def __len__(self) -> int:
        return len(self._filters)

    def apply(self, people: list[Person], stamp: float, velocities: bool = False) -> list[Person]:
        """Smooth the keypoints of tracked ``people`` in place (new arrays); returns ``people``.

        Untracked people (empty id) have no history and pass through. With
        ``velocities`` each tracked person gets ``velocities`` (17, 2) in px/s (NaN for
        joints not seen this frame). A non-finite stamp is a ValueError.
        """
        stamp = float(stamp)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()                     # bag loop: the past is not this track's past
        self._last_stamp = stamp
        for p in people:
            if not p.track_id:
                continue
            f = self._filters.get(p.track_id)
            reborn = (p.track_state == TrackState.TENTATIVE
                      and self._state.get(p.track_id, TrackState.TENTATIVE) != TrackState.TENTATIVE)
            if f is None:
                f = self._filters[p.track_id] = OneEuroFilter(
                    self.min_cutoff, self.beta, self.d_cutoff, self.max_gap)
            elif reborn:
                f.reset()
            self._seen[p.track_id], self._state[p.track_id] = stamp, p.track_state
            with np.errstate(over="ignore"):   # a value beyond float32 is garbage: not valid below
                kp = np.array(p.keypoints, dtype=np.float32, copy=True)
            if kp.ndim != 2 or kp.shape[1] != 3:
                continue             # not keypoints the filter can read: passed through
            with np.errstate(invalid="ignore"):
                valid = (kp[:, 2] >= self.min_score) & np.isfinite(kp[:, 2]) & coords_ok(kp[:, :2])
            kp[:, :2] = f(kp[:, :2], stamp, valid)
            p.keypoints = kp
            if velocities:
                v = f.derivative
                v[~valid] = np.nan
                p.velocities = v.astype(np.float32)
        for tid in [k for k, s in self._seen.items() if stamp - s > self.forget_after]:
            del self._filters[tid], self._seen[tid], self._state[tid]
        return people
