"""The action stage: tracked people in; gesture events, actions and joint angles out.

One object holds everything stateful between skeleton frames so that the
``action_classifier`` node, the benchmarks and tests run the very same loop: one
:class:`~pose_ros.core.features.window.TrackWindow` per track (shared by the gesture
rules and the action classifier), track timeouts, stamp resets (time going back, e.g.
a bag loop), the gesture detector, the hand-sign events and the action rate gate.
Time only comes from the stamps given. No rclpy import.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from pose_ros.core.actions.learned import create_action_classifier
from pose_ros.core.actions.rules import ActionResult
from pose_ros.core.features.pose import joint_angle_array
from pose_ros.core.features.window import TrackWindow
from pose_ros.core.gestures.detector import GestureDetector
from pose_ros.core.gestures.params import GestureEvent, GestureParams
from pose_ros.core.hands.events import HandSignEvents
from pose_ros.core.skeleton import Person

__all__ = ["ActionStage", "StageResult"]


@dataclass
class StageResult:
    """What one frame produced (all lists in publication order)."""

    reset_events: list[GestureEvent] = field(default_factory=list)  # ends because time went back
    events: list[GestureEvent] = field(default_factory=list)        # this frame's starts and ends
    angles: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (track id, (9,) radians, NaN = unknown)
    actions: list[tuple[str, ActionResult]] | None = None  # None: not due at this stamp (rate)
    reset: bool = False       # this frame's stamp went back: every track started over
    tracks: int = 0           # tracks with a window after this frame
    resets: int = 0           # stamp resets so far


def _check(window: float, track_timeout: float, rate: float, min_keypoint_score: float) -> None:
    """The stage's own parameter rules (NaN fails every comparison, so it is refused)."""
    if not (window > 0 and math.isfinite(window)):
        raise ValueError(f"window must be a finite number of seconds > 0, got {window}")
    if not (track_timeout > 0 and math.isfinite(track_timeout)):
        raise ValueError(f"track_timeout must be a finite number of seconds > 0, got {track_timeout}")
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a finite number of Hz > 0, got {rate}")
    if not 0.0 <= min_keypoint_score <= 1.0:
        raise ValueError(f"min_keypoint_score must be in [0, 1], got {min_keypoint_score}")


class ActionStage:
    """Per-track gestures, actions and joint angles over a stream of stamped frames.

    ``window``: seconds of history the classifier sees; ``track_timeout``: seconds
    without a sample after which a track's gestures end and its window goes;
    ``rate``: actions at most this often (Hz of stamp time); ``min_keypoint_score``:
    below it a keypoint is missing (angles, gesture rules, classifier); ``gestures``:
    :class:`GestureParams` overrides; ``classifier``: an object with
    ``classify(window, active)`` and ``classes``, else one is built from ``model``,
    ``weights`` and ``min_confidence`` (a missing or corrupt weights file raises the
    classifier's ModelError here).
    """

    def __init__(self, *, window: float = 2.0, track_timeout: float = 1.0, rate: float = 5.0,
                 min_keypoint_score: float = 0.2, gestures: dict[str, Any] | None = None,
                 classifier: Any = None, model: str = "learned", weights: str | None = None,
                 min_confidence: float = 0.4) -> None:
        _check(window, track_timeout, rate, min_keypoint_score)
        self.window, self.track_timeout, self.rate = float(window), float(track_timeout), float(rate)
        self.min_keypoint_score = float(min_keypoint_score)
        gestures = {"min_keypoint_score": self.min_keypoint_score, **(gestures or {})}
        self._rules_window = gestures.get("window")   # None: as long as the rules need
        if self._rules_window is None:
            gestures = self._stretched(GestureParams(), gestures)
        self.detector = GestureDetector(**gestures)
        g = self.detector.params
        self.signs = HandSignEvents(g.on_threshold, g.off_threshold, g.min_duration, g.release_duration)
        if classifier is None:
            opts: dict[str, Any] = {"min_keypoint_score": self.min_keypoint_score, "min_confidence": min_confidence}
            if model == "learned":
                opts["weights_path"] = weights or None
            classifier = create_action_classifier(model, **opts)
        self.classifier = classifier
        self.windows: dict[str, TrackWindow] = {}
        self.last_seen: dict[str, float] = {}
        self._angles: dict[str, np.ndarray] = {}      # per track: the angles of its last measured pose
        self._labelled: dict[str, tuple] = {}          # per track: (window key, its action result)
        self.resets = 0
        self._last_actions = -math.inf

    @staticmethod
    def _stretched(cur: GestureParams, changes: dict[str, Any]) -> dict[str, Any]:
        """``changes`` plus the rules' window when none was given: the default 2 s, longer when
        ``fall_max_duration`` or a wave period at ``wave_min_freq`` needs it (the parameters
        allow a fall of up to 10 s, which a fixed 2 s window would refuse)."""
        merged = {**{f.name: getattr(cur, f.name) for f in fields(GestureParams)}, **changes}
        need = [GestureParams.window, merged["fall_max_duration"]]
        if merged["wave_min_freq"] > 0:
            need.append(1.0 / merged["wave_min_freq"])
        return {**changes, "window": max(need)}

    @property
    def _span(self) -> float:
        """Length of the shared windows: enough for both the classifier and the gesture rules."""
        return max(self.window, self.detector.params.window)

    def set_params(self, **changes: Any) -> None:
        """Change parameters while running (names as in the constructor, ``gestures`` a dict of
        GestureParams fields); checked as the constructor checks them, all or nothing."""
        known = {"window", "track_timeout", "rate", "min_keypoint_score", "gestures"}
        bad = set(changes) - known
        if bad:
            raise TypeError(f"unknown action stage parameters: {sorted(bad)}")
        new = {k: float(changes.get(k, getattr(self, k)))
               for k in ("window", "track_timeout", "rate", "min_keypoint_score")}
        _check(**new)
        g = dict(changes.get("gestures") or {})
        if "min_keypoint_score" in changes:
            g.setdefault("min_keypoint_score", new["min_keypoint_score"])
        cur = self.detector.params
        rules_window = g.get("window", self._rules_window)
        if g and rules_window is None:
            g = self._stretched(cur, g)
        # the detector's checks, before anything changes (TypeError / ValueError)
        GestureParams(**{**{f.name: getattr(cur, f.name) for f in fields(GestureParams)}, **g}).validate()
        self._rules_window = rules_window
        if g:
            self.detector.set_params(**g)
        p = self.detector.params
        self.signs.set_thresholds(p.on_threshold, p.off_threshold, p.min_duration, p.release_duration)
        self.window, self.track_timeout, self.rate = new["window"], new["track_timeout"], new["rate"]
        self.min_keypoint_score = new["min_keypoint_score"]
        if hasattr(self.classifier, "min_score"):
            self.classifier.min_score = self.min_keypoint_score
        for win in self.windows.values():
            win.window = self._span
        self._labelled.clear()   # the same window may now get another answer

    def update(self, stamp: float, people: list[tuple[str, Person]]) -> StageResult:
        """One frame at ``stamp`` (s): ``people`` are (track id, Person), ids unique and non-empty."""
        stamp = float(stamp)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        out = StageResult()
        # bag looped (or a frame stamped by another clock went by): start over. _last_actions
        # counts too: a far-future stamp on a frame without tracks would hold the actions back
        if stamp < max([self._last_actions, *self.last_seen.values()]) - 1e-6:
            out.reset_events = self._end_all(stamp)
            out.reset = True
        events = out.events
        fresh = []   # (row in out.angles, tid, keypoints) measured in this frame: angles in one call
        for tid, person in people:
            self.last_seen[tid] = stamp
            win = self.windows.get(tid)
            if person.predicted and win is not None:
                # a predicted pose is the last measured one moved: no new sample for the
                # rules or the classifier (it would dilute a wave with copies), same angles
                out.angles.append((tid, self._angles[tid]))
                continue
            if win is None:
                win = self.windows[tid] = TrackWindow(self._span)
            events += self.detector.update(tid, stamp, person, window=win)
            signs = person.extra.get("hand_signs")
            if signs:
                events += self.signs.update(tid, stamp, signs)
            out.angles.append((tid, None))
            fresh.append((len(out.angles) - 1, tid, person.keypoints))
        if fresh:
            angles = joint_angle_array(np.stack([kp for _, _, kp in fresh]), min_score=self.min_keypoint_score)
            for (i, tid, _), a in zip(fresh, angles):
                out.angles[i] = (tid, a)
                self._angles[tid] = a
        # tracks that disappeared: end their gestures, drop their windows
        for tid in [t for t, last in self.last_seen.items() if stamp - last > self.track_timeout]:
            events += self.detector.end_track(tid, stamp) + self.signs.end_track(tid, stamp)
            self.windows.pop(tid, None)
            self.last_seen.pop(tid, None)
            self._angles.pop(tid, None)
            self._labelled.pop(tid, None)
        if stamp - self._last_actions >= 1.0 / self.rate:
            self._last_actions = stamp
            out.actions = [(tid, self._classify(tid, win))
                           for tid, win in self.windows.items() if self.last_seen.get(tid) == stamp]
        out.tracks, out.resets = len(self.windows), self.resets
        return out

    def _classify(self, tid: str, win: TrackWindow) -> ActionResult:
        """The track's action; the last answer again while its window and active gestures are
        unchanged (a predicted person adds no sample: in a crowd most tracks, most frames)."""
        active = self.detector.active(tid)
        key = (len(win), win.end, frozenset(active))
        done = self._labelled.get(tid)
        if done is None or done[0] != key:
            done = self._labelled[tid] = (key, self.classifier.classify(win.tail(self.window), active))
        return done[1]

    def _end_all(self, stamp: float) -> list[GestureEvent]:
        """Time went back: end every gesture, forget every window and track."""
        self.resets += 1
        events = [e for tid in list(self.windows)
                  for e in self.detector.end_track(tid, stamp) + self.signs.end_track(tid, stamp)]
        self.reset()
        return events

    def reset(self) -> None:
        """Forget every track (no events); the reset counter stays."""
        self.detector.reset()
        self.signs.reset()
        self.windows.clear()
        self.last_seen.clear()
        self._angles.clear()
        self._labelled.clear()
        self._last_actions = -math.inf
