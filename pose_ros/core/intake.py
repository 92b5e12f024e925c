"""The frames waiting for the estimator: the newest, and one older only when both fit.

A live node must not queue frames it cannot process in time (its answers would grow
stale), so a frame that finds another still waiting replaces it. But a camera (or the
DDS transport beside a busy core) sometimes delivers two frames close together: with
only the newest kept, a node that needs 50 ms a frame dropped one of a 7 Hz camera's
frames, and a tracker loses more from one missing frame than it gains from any
freshness (PETS09: IDF1 0.79 -> 0.72). So the older frame is kept while two frames'
work fits in one frame interval, both measured: medians of the last few, so that neither
a slow first frame (inline detection) nor two frames delivered together skews them.
"""
from __future__ import annotations

import math
from collections import deque
from statistics import median
from typing import Any

_WINDOW = 9      # frames whose work and arrival intervals are measured
_TRUSTED = 3     # fewer measurements than this: a waiting frame may stay


class FrameIntake:
    """``offer`` from the subscription callback, ``take`` from the worker, ``done`` after each frame.
    Not thread-safe on its own: the node holds its condition's lock around every call."""

    def __init__(self) -> None:
        self._frames: deque[Any] = deque()
        self._work: deque[float] = deque(maxlen=_WINDOW)       # seconds the worker needed per frame
        self._intervals: deque[float] = deque(maxlen=_WINDOW)  # seconds between arriving frames
        self._last: float | None = None

    def __len__(self) -> int:
        return len(self._frames)

    def affordable(self) -> bool:
        """Two frames' work fits into one frame interval, or too little is measured yet (the first
        frame is the slow one, and a stream's first frames are where tracks start): a waiting
        frame may stay."""
        if len(self._work) < _TRUSTED or len(self._intervals) < _TRUSTED:
            return True
        return 2.0 * median(self._work) <= median(self._intervals)

    def offer(self, frame: Any, t: float) -> int:
        """A frame arrived at monotonic time ``t``; returns how many waiting frames were dropped."""
        if self._last is not None and t > self._last:
            self._intervals.append(t - self._last)
        self._last = t
        keep = 1 if self.affordable() else 0
        dropped = 0
        while len(self._frames) > keep:
            self._frames.popleft()
            dropped += 1
        self._frames.append(frame)
        return dropped

    def take(self) -> Any | None:
        """The oldest waiting frame, or None."""
        return self._frames.popleft() if self._frames else None

    def done(self, busy_s: float) -> None:
        """The worker spent ``busy_s`` on a frame."""
        if busy_s >= 0 and math.isfinite(busy_s):
            self._work.append(busy_s)

    def clear(self) -> None:
        self._frames.clear()
        self._last = None


__all__ = ["FrameIntake"]
