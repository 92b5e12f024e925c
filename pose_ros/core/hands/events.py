"""Hand signs per frame -> start/end events, with the same hysteresis as the body gestures.

Events are named ``hand_<sign>_<side>`` (e.g. ``hand_thumb_up_right``; side is the
person's own hand), so consumers treat them like any other gesture.
"""
from __future__ import annotations

import math

from pose_ros.core.gestures.detector import GestureEvent, Hysteresis


class HandSignEvents:
    def __init__(self, on: float = 0.6, off: float = 0.4, min_duration: float = 0.2,
                 release_duration: float = 0.3) -> None:
        self._args = (on, off, min_duration, release_duration)
        self._tracks: dict[str, dict[str, Hysteresis]] = {}
        self._last: dict[str, float] = {}   # last stamp per track

    def update(self, track_id: str, stamp: float, signs: dict[str, tuple[str, float]]) -> list[GestureEvent]:
        """Feed one frame's signs of one track ({'left': (sign, conf), ...}); returns new events.

        As for body gestures, a stamp earlier than the track's last one ends its active
        signs and restarts the track; a non-finite stamp is a ValueError.
        """
        stamp = float(stamp)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        restart = self.end_track(track_id, stamp) if stamp < self._last.get(track_id, stamp) else []
        self._last[track_id] = stamp
        hyst = self._tracks.setdefault(track_id, {})
        scores = {f"hand_{sign}_{side}": conf for side, (sign, conf) in signs.items() if sign and sign != "none"}
        for name in scores:
            hyst.setdefault(name, Hysteresis(*self._args))
        events = []
        for name, h in hyst.items():
            ev = h.update(stamp, scores.get(name, 0.0))
            if ev is not None:
                events.append(self._event(track_id, name, ev, h, stamp))
        return restart + events

    def end_track(self, track_id: str, stamp: float) -> list[GestureEvent]:
        """End the active signs of a track and forget it; at its last stamp if ``stamp`` is earlier."""
        stamp = float(stamp)
        last = self._last.pop(track_id, stamp)
        if not (math.isfinite(stamp) and stamp >= last):
            stamp = last
        events = [self._event(track_id, name, GestureEvent.END, h, stamp)
                  for name, h in self._tracks.pop(track_id, {}).items() if h.active]
        return events

    def reset(self) -> None:
        self._tracks.clear()
        self._last.clear()

    def set_thresholds(self, on: float, off: float, min_duration: float, release_duration: float) -> None:
        """New hysteresis constants, for running and future signs."""
        self._args = (on, off, min_duration, release_duration)
        for hyst in self._tracks.values():
            for h in hyst.values():
                h.on, h.off, h.min_duration, h.release_duration = self._args

    @staticmethod
    def _event(track_id: str, name: str, kind: str, h: Hysteresis, stamp: float) -> GestureEvent:
        start = h.run_start if kind == GestureEvent.START else h.started
        return GestureEvent(track_id=track_id, gesture=name, event=kind, confidence=h.confidence,
                            window_start=start, window_end=stamp)
