"""The crop budget a live estimator gives its video backend, frame by frame.

A top-down backend pays per person (one crop each), so a crowd or a slow, shared CPU
makes every frame late, and a late node drops frames and loses people. The budget caps
the crops per frame; this controller sets it from what the node observes:

* While the node keeps up (no frame is waiting when it finishes one) the budget is the
  ceiling, a parameter. So lock-step replay, and any input rate the node keeps up with,
  give a stream that depends on the frames and the parameters only, on any machine.
* When a frame was already waiting after two frames in a row, each of which took longer
  than the input's frame interval (the node is behind and not catching up; a camera that
  sends two frames close together makes a frame wait too, but not a slow one), the budget
  drops to what the measured costs say fits into ``utilisation`` of the input's frame
  interval, and at least by a tenth, down to ``floor``. At the ceiling one late frame alone
  (a burst of newcomers, a descheduled moment) loses nothing: the waiting frame is next, and
  a budget cut for it would change the stream, so replays and live runs differ. Below the
  ceiling (a crowd the node already cannot pose in full) one late frame is enough.
* Once frames have stopped waiting for a while it climbs back a step at a time, as long
  as the measured costs say the next step fits, and straight back to the ceiling once
  posing everyone it follows fits: a camera the node keeps up with gets the ceiling's
  answer again after a transient (a slow first frame, a burst of newcomers).

Costs are measured, not assumed: the time per crop unit and the fixed time per frame
(conversion, tracking, publishing), each an exponential average. Pure Python, no ROS.
"""
from __future__ import annotations

import math

_EMA = 0.1                 # weight of the newest sample in the cost and interval averages
_CALM_FRAMES = 8           # frames without waiting before the budget may climb
_STEP = 0.25               # smallest climb, crop units
_BEHIND_RUN = 2            # frames in a row that found another waiting before the budget drops
# The lowest budget, crop units a frame. A crowd of 20 beside a busy core on the slow state of
# a 2-core machine (30-50 ms a unit) did not fit 0.5 (crowd at 30 Hz: 85-96 % answered), 0.3 did
# (97-99 %); everyone not posed is predicted and re-placed by each detection meanwhile.
FLOOR = 0.3


class BudgetController:
    """``frame_done(...)`` after every frame; ``budget`` for the next one (``math.inf``: unbounded)."""

    def __init__(self, ceiling: float, adaptive: bool = True, utilisation: float = 0.8,
                 floor: float = FLOOR) -> None:
        if not (ceiling > 0 and 0 < utilisation <= 1 and floor >= 0):
            raise ValueError("need ceiling > 0, 0 < utilisation <= 1, floor >= 0")
        self.ceiling = float(ceiling)
        self.adaptive = bool(adaptive)
        self.utilisation = float(utilisation)
        self.floor = min(float(floor), self.ceiling)
        self.budget = self.ceiling
        self.unit_s = math.nan      # seconds per crop unit
        self.fixed_s = math.nan     # seconds per frame besides crops
        self.interval_s = math.nan  # seconds between arriving frames
        self.behind_frames = 0      # frames that found a newer one waiting (counter, for diagnostics)
        self._calm = 0
        self._behind_run = 0
        self._last_arrival: float | None = None

    def arrived(self, t: float) -> None:
        """A frame arrived at monotonic time ``t`` (the input's rate, whatever the node keeps up with)."""
        if self._last_arrival is not None and t > self._last_arrival:
            self.interval_s = _ema(self.interval_s, t - self._last_arrival)
        self._last_arrival = t

    def frame_done(self, busy_s: float, crop_s: float, units: float, behind: bool,
                   demand: float = math.inf) -> float:
        """Account one processed frame (``busy_s`` in all, ``crop_s`` of it on ``units`` crop units);
        ``behind``: another frame was already waiting; ``demand``: units that would pose everyone
        next frame. Returns the budget for the next frame."""
        if units > 0 and crop_s > 0:
            self.unit_s = _ema(self.unit_s, crop_s / units)
        self.fixed_s = _ema(self.fixed_s, max(busy_s - crop_s, 0.0))
        if not self.adaptive:
            return self.budget
        if behind and math.isfinite(self.interval_s) and busy_s < self.interval_s:
            behind = False   # a frame this quick fell behind only because the camera sent two close together
        if behind:
            self.behind_frames += 1
            self._calm = 0
            self._behind_run += 1
            if self._behind_run < _BEHIND_RUN and self.budget >= self.ceiling:
                return self.budget   # one late frame at the ceiling: wait and see (replays stay exact)
            used = units if math.isinf(self.budget) else min(self.budget, max(units, self.floor))
            self.budget = max(self.floor, min(self.fits(), 0.9 * used) if used > 0 else self.fits())
        else:
            self._behind_run = 0
            self._calm += 1
            if self._calm >= _CALM_FRAMES and self.budget < self.ceiling:
                step = max(_STEP, 0.1 * self.budget)
                if demand <= self.fits():
                    self.budget = self.ceiling
                    self._calm = 0
                elif self.budget + step <= self.fits():
                    self.budget = min(self.budget + step, self.ceiling)
                    self._calm = 0
        return self.budget

    def fits(self) -> float:
        """Crop units that fit into ``utilisation`` of the frame interval at the measured costs."""
        if not (math.isfinite(self.unit_s) and math.isfinite(self.interval_s) and self.unit_s > 0):
            return self.ceiling
        fixed = self.fixed_s if math.isfinite(self.fixed_s) else 0.0
        return max((self.utilisation * self.interval_s - fixed) / self.unit_s, 0.0)

    def reset(self) -> None:
        """Back to the ceiling (a new stream)."""
        self.budget = self.ceiling
        self._calm = 0
        self._behind_run = 0
        self._last_arrival = None


def _ema(old: float, new: float) -> float:
    return new if math.isnan(old) else (1.0 - _EMA) * old + _EMA * new


__all__ = ["FLOOR", "BudgetController"]
