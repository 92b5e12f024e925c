"""Score-stream switches of the gesture rules: two-threshold hysteresis and posture selection."""
from __future__ import annotations

import math

from pose_ros.core.gestures.params import NAN, POSTURE_NAMES, GestureEvent, GestureParams

__all__ = ["Hysteresis"]


class _MeanScore:
    """Mean of the scores seen while a gesture is (becoming) active: its reported confidence."""

    _sum: float = 0.0
    _n: int = 0

    def _add(self, score: float) -> None:
        self._sum += score
        self._n += 1

    @property
    def confidence(self) -> float:
        return self._sum / self._n if self._n else 0.0


class Hysteresis(_MeanScore):
    """Two-threshold, two-timer switch on a score stream driven by stamps (seconds)."""

    def __init__(self, on: float = 0.6, off: float = 0.4, min_duration: float = 0.2,
                 release_duration: float = 0.3) -> None:
        self.on, self.off = on, off
        self.min_duration, self.release_duration = min_duration, release_duration
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.started = NAN           # stamp of the start event
        self.run_start = NAN         # first stamp of the current evidence run
        self._above: float | None = None
        self._below: float | None = None
        self._sum = 0.0
        self._n = 0

    def update(self, stamp: float, score: float) -> str | None:
        """Feed one score (clipped to [0, 1], non-finite -> 0); returns 'start', 'end' or None."""
        score = min(max(score, 0.0), 1.0) if math.isfinite(score) else 0.0   # confidence stays in [0, 1]
        if not self.active:
            if score >= self.on:
                if self._above is None:
                    self._above, self._sum, self._n = stamp, 0.0, 0
                self._add(score)
                if stamp - self._above >= self.min_duration:
                    self.active, self.started, self.run_start = True, stamp, self._above
                    self._above = self._below = None
                    return GestureEvent.START
            else:
                self._above = None
            return None
        self._add(score)
        if score < self.off:
            if self._below is None:
                self._below = stamp
            if stamp - self._below >= self.release_duration:
                self.active = False
                self._below = None
                return GestureEvent.END
        else:
            self._below = None
        return None


class PostureSelector(_MeanScore):
    """Hysteresis over mutually exclusive labels: at most one active at a time."""

    def __init__(self, p: GestureParams) -> None:
        self.p = p
        self.current: str | None = None
        self.started = NAN
        self._cand: str | None = None
        self._cand_since = 0.0
        self._cand_sum = 0.0
        self._cand_n = 0
        self._below: float | None = None
        self._sum = 0.0
        self._n = 0

    def update(self, stamp: float, scores: dict[str, float]
               ) -> list[tuple[str, str, float, float]]:
        """-> [(name, 'start'|'end', confidence, window_start)], ends first."""
        p, ev = self.p, []
        cs = scores.get(self.current, 0.0) if self.current else 0.0
        best = max(POSTURE_NAMES, key=lambda n: scores.get(n, 0.0))
        bs = scores.get(best, 0.0)
        switching = (best != self.current and bs >= p.on_threshold
                     and (self.current is None or bs >= cs + p.posture_switch_margin))
        if self.current is not None:
            self._add(cs)
            if cs < p.off_threshold:
                if self._below is None:
                    self._below = stamp
                # While another posture is taking over, the switch below ends this one,
                # so there is no gap without a posture in between.
                if stamp - self._below >= p.release_duration and not switching:
                    ev.append((self.current, GestureEvent.END, self.confidence, self.started))
                    self.current, cs, self._below = None, 0.0, None
            else:
                self._below = None
        if switching:
            if self._cand != best:
                self._cand, self._cand_since, self._cand_sum, self._cand_n = best, stamp, 0.0, 0
            self._cand_sum += bs
            self._cand_n += 1
            if stamp - self._cand_since >= p.posture_min_duration:
                if self.current is not None:
                    ev.append((self.current, GestureEvent.END, self.confidence, self.started))
                conf = self._cand_sum / self._cand_n
                ev.append((best, GestureEvent.START, conf, self._cand_since))
                self.current, self.started, self._below = best, stamp, None
                self._sum, self._n = bs, 1
                self._cand = None
        else:
            self._cand = None
        return ev
