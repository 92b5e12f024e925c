"""Time-bounded window of the recent samples of one track (keypoints, 3D, per-sample features).

Shared by the gesture rules and the action classifiers. No rclpy import.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from pose_ros.core.skeleton import NUM_COCO17

__all__ = ["TrackWindow"]


class TrackWindow:
    """The recent samples of one track, bounded by time (seconds), not frame count.

    ``add(stamp, person)`` appends a sample (``person`` is a :class:`Person` or a
    (17, 3) keypoint array); samples older than ``stamp - window`` are dropped, and a
    stamp earlier than the newest one (bag loop, clock reset) clears the window first.
    ``features`` lets a caller store a per-sample vector alongside (e.g. derived
    scalars), kept and dropped with the sample. ``max_samples`` bounds memory when
    stamps are dense. A non-finite stamp or keypoints that are not (17, 3) are a
    ValueError and leave the window as it was; ``keypoints_3d`` that are not (17, 3)
    count as "no 3D" for that sample.
    """

    def __init__(self, window: float = 2.0, max_samples: int = 1024) -> None:
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, got {window}")
        self.window = float(window)
        self.max_samples = int(max_samples)
        self._s: deque[float] = deque()
        self._kp: deque[np.ndarray] = deque()
        self._kp3: deque[np.ndarray | None] = deque()
        self._f: deque[np.ndarray | None] = deque()
        self._cache: dict[str, np.ndarray | None] = {}
        self.resets = 0

    def __len__(self) -> int:
        return len(self._s)

    def reset(self) -> None:
        self._s.clear()
        self._kp.clear()
        self._kp3.clear()
        self._f.clear()
        self._cache.clear()

    def add(self, stamp: float, person: Any, features: np.ndarray | None = None) -> bool:
        """Append one sample; returns True when time went backwards and the window reset."""
        stamp = float(stamp)
        if not np.isfinite(stamp):   # would never be trimmed and would break the order
            raise ValueError(f"stamp must be finite, got {stamp}")
        kp = np.asarray(getattr(person, "keypoints", person), dtype=np.float64)
        if kp.shape != (NUM_COCO17, 3):
            raise ValueError(f"expected (17, 3) keypoints, got {kp.shape}")
        k3 = getattr(person, "keypoints_3d", None)
        if k3 is not None:
            k3 = np.asarray(k3, dtype=np.float64)
            if k3.shape != (NUM_COCO17, 3):
                k3 = None        # a 3D array of another layout: no 3D for this sample
        reset = bool(self._s) and stamp < self._s[-1]
        if reset:
            self.reset()
            self.resets += 1
        self._s.append(stamp)
        self._kp.append(kp)
        self._kp3.append(k3)
        self._f.append(None if features is None else np.asarray(features, dtype=np.float64))
        self._cache.clear()
        limit = stamp - self.window - 1e-9
        while self._s and (self._s[0] < limit or len(self._s) > self.max_samples):
            self._s.popleft()
            self._kp.popleft()
            self._kp3.popleft()
            self._f.popleft()
        return reset

    def tail(self, seconds: float) -> "TrackWindow":
        """The samples of the last ``seconds`` as a window of that length (``self`` when
        that is all of them): what a ``TrackWindow(seconds)`` fed the same samples holds,
        so one window can serve consumers with different horizons."""
        if not self._s or self._s[0] >= self._s[-1] - seconds - 1e-9:
            return self
        limit = self._s[-1] - seconds - 1e-9
        first = next(i for i, s in enumerate(self._s) if s >= limit)
        out = TrackWindow(seconds, self.max_samples)
        for mine, theirs in ((self._s, out._s), (self._kp, out._kp), (self._kp3, out._kp3), (self._f, out._f)):
            theirs.extend(list(mine)[first:])
        return out

    def _get(self, key: str, build) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @property
    def stamps(self) -> np.ndarray:
        """(N,) seconds, non-decreasing."""
        return self._get("s", lambda: np.fromiter(self._s, np.float64, len(self._s)))

    @property
    def keypoints(self) -> np.ndarray:
        """(N, 17, 3) float64 (empty (0, 17, 3) when the window is empty)."""
        return self._get("kp", lambda: np.stack(self._kp) if self._kp
                         else np.zeros((0, NUM_COCO17, 3)))

    @property
    def keypoints_3d(self) -> np.ndarray | None:
        """(N, 17, 3) with NaN rows for samples without 3D; None when no sample has 3D."""
        def build() -> np.ndarray | None:
            if all(k is None for k in self._kp3):
                return None
            nan = np.full((NUM_COCO17, 3), np.nan)
            return np.stack([nan if k is None else k for k in self._kp3])
        return self._get("kp3", build)

    @property
    def features(self) -> np.ndarray | None:
        """(N, F) per-sample vectors given to :meth:`add`; None if none was given."""
        def build() -> np.ndarray | None:
            fs = [f for f in self._f if f is not None]
            if not fs:
                return None
            nan = np.full(fs[0].shape, np.nan)
            return np.stack([nan if f is None else f for f in self._f])
        return self._get("f", build)

    @property
    def start(self) -> float:
        return self._s[0] if self._s else float("nan")

    @property
    def end(self) -> float:
        return self._s[-1] if self._s else float("nan")

    @property
    def duration(self) -> float:
        """Seconds between the oldest and the newest sample (0 when < 2 samples)."""
        return self._s[-1] - self._s[0] if len(self._s) > 1 else 0.0
