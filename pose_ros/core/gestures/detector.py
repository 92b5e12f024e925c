"""Rule-based gestures and postures with hysteresis, per track, on a time window.

:class:`GestureDetector` turns a stream of people (one track id, one stamp in seconds,
one :class:`~pose_ros.core.skeleton.Person` per call) into start / end
:class:`GestureEvent` s. Every rule computes a score in [0, 1] per frame from image
geometry (pixels, y down), measured in *torso lengths* (shoulder centre to hip
centre; shoulder width / 0.75 when the hips are not visible) so it does not depend
on the distance to the camera; a gesture starts when its score stays >= ``on_threshold`` for
``min_duration`` seconds and ends when it stays < ``off_threshold`` for
``release_duration`` seconds. Soft criteria are ramps equal to 0.5 at the parameter
value and 1 a little beyond it, so a gesture "clearly" past its threshold scores 1.

Gestures (names exactly as in :data:`GESTURE_NAMES`):

* ``hand_up_left`` / ``hand_up_right``: the person's own left / right wrist
  (COCO ``left_wrist`` / ``right_wrist``) above the head level (nose, else eyes/ears)
  by ``hand_up_margin`` torso lengths. ``hands_up_both``: both at once (the two
  single-hand gestures stay active as well).
* ``wave_left`` / ``wave_right``: the person's own left / right forearm raised (wrist
  above elbow) and swinging sideways: the zero crossings (with a dead band) of
  ``(wrist_x - elbow_x) / torso`` over the raised part of the window give a
  frequency in [``wave_min_freq``, ``wave_max_freq``] Hz, with at least
  ``wave_min_crossings`` crossings, the last one less than a period ago, and a half
  peak-to-peak amplitude of at least ``wave_min_amplitude``.
* ``point_left`` / ``point_right``: an arm (either one) extended (elbow angle >=
  ``point_min_elbow_angle``, wrist at least ``point_min_extension`` torso lengths
  from the shoulder horizontally, shoulder->wrist within ``point_max_elevation`` of
  horizontal) pointing toward the **image** left (-x) / right (+x), i.e. the
  direction as the robot's camera sees it, not the person's own left/right (a person
  facing the camera points to the image left with their right arm). ``direction``
  is the image angle of shoulder->wrist (0 = +x, pi/2 = +y down, so ~pi for
  ``point_left``); with ``keypoints_3d`` the event carries a ray from the 3D
  shoulder through the 3D wrist (in the skeleton's 3D frame). Suppressed while
  ``t_pose`` scores high.
* ``arms_crossed``: each wrist past the body midline on the other side, at chest
  height (between shoulders and hips) and close to the body.
* ``t_pose``: both arms extended sideways, outward from their own shoulders, within
  ``tpose_max_elevation`` of horizontal.
* postures ``standing``, ``sitting``, ``crouching``, ``lying``: at most one active at
  a time. ``lying`` when the trunk is more than ``lying_angle`` from vertical;
  otherwise from the vertical leg extent (hip->ankle in torso lengths): standing
  when >= ``standing_min_leg`` with straight knees, crouching when <=
  ``crouch_max_leg``, sitting in between with short (foreshortened or horizontal)
  thighs (hip->knee vertical <= ``sitting_max_thigh``). A switch needs the new
  posture >= ``on_threshold`` and ``posture_switch_margin`` above the current one
  for ``posture_min_duration`` seconds; the old posture then ends at the same stamp
  (its end event comes first), so there is no gap between two postures.
* ``fall``: the trunk went from < ``fall_upright_angle`` to > ``fall_lying_angle``
  from vertical within ``fall_max_duration`` seconds while the hip centre moved down
  by at least ``fall_min_drop`` torso lengths. It stays active while the person is
  still down and ends once the trunk is back within ``lying_angle`` of vertical. A
  slow lie-down gives ``lying`` without ``fall``.

The arm gestures (all but postures and ``fall``) are image-upright geometry and are
suppressed while the trunk is more than ``lying_angle`` from vertical (when the hips
are not visible, e.g. an upper-body crop, they are not suppressed).

Missing joints (score <= ``min_keypoint_score`` or NaN) give a score of 0 for the rules
that need them: no gesture, no exception, no warning. Angles are radians.

Events: a ``start`` event has ``window_start`` = the first stamp of the evidence run
(when the score first went above ``on_threshold``) and ``window_end`` = the current
stamp, ``confidence`` = mean score over that run; an ``end`` event has
``window_start`` = the stamp of the start event, ``window_end`` = the current stamp
and ``confidence`` = mean score from the beginning of the evidence run to the end
(postures: while active). ``direction`` and the ray are those of
the current frame for a start and, for an end, of the last frame that still scored
>= ``off_threshold`` (not of the arm already dropping).

Code layout: names, :class:`GestureEvent` and :class:`GestureParams` are in
``params.py``, :class:`Hysteresis` and the posture selector in ``hysteresis.py``,
the per-frame geometric scores in ``geometry.py`` (:class:`GestureGeometry`, which
knows nothing of the detector); this module keeps the detector and the rule table.

No rclpy import: the action_classifier node wraps this object.
"""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import numpy as np

from pose_ros.core.features.window import TrackWindow
from pose_ros.core.gestures.geometry import (
    DEG10, F_SIG_L, F_SIG_R, F_UP_L, F_UP_R, Frame, GestureGeometry, below, step,
)
from pose_ros.core.gestures.hysteresis import Hysteresis, PostureSelector
from pose_ros.core.gestures.params import (
    ARM_GESTURES, GESTURE_NAMES, NAN, POINTING, POSTURE_NAMES, GestureEvent, GestureParams,
)

__all__ = [
    "GESTURE_NAMES", "POSTURE_NAMES", "GestureDetector", "GestureEvent", "GestureParams",
    "Hysteresis",
]


class _Track:
    """Rule state of one track; ``window`` is the detector's own or one the caller shares."""

    def __init__(self, p: GestureParams, window: TrackWindow | None) -> None:
        self.owns_window = window is None
        self.window = TrackWindow(p.window) if window is None else window
        self.hyst = {n: Hysteresis(p.on_threshold, p.off_threshold, p.min_duration,
                                   p.release_duration)
                     for n in GESTURE_NAMES if n not in POSTURE_NAMES}
        self.posture = PostureSelector(p)
        self.fall_latched = False
        self.pointing: dict[str, tuple[float, np.ndarray | None, np.ndarray | None]] = {}
        self.last_stamp = NAN


class GestureDetector:
    """Per-track gesture and posture events from a stream of people (see module doc).

    ``GestureDetector(params=None, **overrides)``: overrides are GestureParams fields.
    The per-frame geometric scores come from a :class:`GestureGeometry`.
    """

    def __init__(self, params: GestureParams | None = None, **overrides: Any) -> None:
        p = params or GestureParams()
        if overrides:
            known = {f.name for f in fields(GestureParams)}
            bad = set(overrides) - known
            if bad:
                raise TypeError(f"unknown gesture parameters: {sorted(bad)}")
            p = GestureParams(**{**{f.name: getattr(p, f.name) for f in fields(p)},
                                 **overrides})
        self.params = p.validate()
        self.geom = GestureGeometry(self.params)
        self._tracks: dict[str, _Track] = {}

    # ------------------------------------------------------------------ public API
    def update(self, track_id: str, stamp: float, person: Any,
               window: TrackWindow | None = None) -> list[GestureEvent]:
        """Feed one observation of ``track_id`` at ``stamp`` (s); returns new events.

        The sample (with the rules' per-frame features) goes into ``window`` when given,
        a window the caller shares with its own consumers (the action classifier) and
        whose lifetime it manages; it must be at least ``params.window`` long (the rules
        read only the last ``params.window`` seconds of it). Without it the detector
        keeps a window of its own per track.

        ``person`` is a Person (``keypoints`` (17, 3), optional ``keypoints_3d``) or a
        bare (17, 3) keypoint array. A stamp earlier than the track's last one ends its
        active gestures (at the track's last stamp, see :meth:`end_track`) and restarts
        the track. Keypoints that are not (17, 3) or a non-finite stamp are a
        ValueError, raised before any state changes.
        """
        stamp = float(stamp)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        kp = np.asarray(getattr(person, "keypoints", person), dtype=np.float64)
        if kp.shape != (17, 3):
            raise ValueError(f"expected (17, 3) keypoints, got {kp.shape}")
        events: list[GestureEvent] = []
        tr = self._tracks.get(track_id)
        if tr is not None and stamp < tr.last_stamp:
            events += self.end_track(track_id, stamp)
            tr = None
        if tr is None:
            tr = self._tracks[track_id] = _Track(self.params, window)
        elif window is not None and window is not tr.window:
            tr.window, tr.owns_window = window, False
        tr.last_stamp = stamp
        with np.errstate(all="ignore"):
            k3 = getattr(person, "keypoints_3d", None)
            fr = self.geom.frame(kp)
            tr.window.add(stamp, person, self.geom.window_features(fr))
            scores, pointing = self._scores(tr, fr, k3, stamp)
        ends: list[GestureEvent] = []
        starts: list[GestureEvent] = []
        for name, h in tr.hyst.items():
            ev = h.update(stamp, scores.get(name, 0.0))
            if name in POINTING and (h.active or ev == GestureEvent.START):
                if name in pointing and scores.get(name, 0.0) >= self.params.off_threshold:
                    tr.pointing[name] = pointing[name]
            if ev is None:
                continue
            d, ro, rd = tr.pointing.get(name, (NAN, None, None)) if name in POINTING \
                else (NAN, None, None)
            if ev == GestureEvent.START:
                starts.append(GestureEvent(track_id, name, ev, h.confidence, d, ro, rd,
                                           h.run_start, stamp))
            else:
                ends.append(GestureEvent(track_id, name, ev, h.confidence, d, ro, rd,
                                         h.started, stamp))
                tr.pointing.pop(name, None)
        for name, ev, conf, t0 in tr.posture.update(stamp, scores):
            (starts if ev == GestureEvent.START else ends).append(
                GestureEvent(track_id, name, ev, conf, window_start=t0, window_end=stamp))
        return events + ends + starts

    def end_track(self, track_id: str, stamp: float) -> list[GestureEvent]:
        """End every active gesture of a track that disappeared and forget the track.

        The ends are at ``stamp``, or at the track's last stamp when ``stamp`` is earlier
        (time went backwards) or not finite: an end never precedes its start.
        """
        tr = self._tracks.pop(track_id, None)
        if tr is None:
            return []
        stamp = float(stamp)
        if not (math.isfinite(stamp) and stamp >= tr.last_stamp):
            stamp = tr.last_stamp
        out = []
        for name, h in tr.hyst.items():
            if h.active:
                d, ro, rd = tr.pointing.get(name, (NAN, None, None))
                out.append(GestureEvent(track_id, name, GestureEvent.END, h.confidence,
                                        d, ro, rd, h.started, float(stamp)))
        ps = tr.posture
        if ps.current is not None:
            out.append(GestureEvent(track_id, ps.current, GestureEvent.END, ps.confidence,
                                    window_start=ps.started, window_end=float(stamp)))
        return out

    def active(self, track_id: str) -> set[str]:
        """Names of the gestures (and posture) currently active for ``track_id``."""
        tr = self._tracks.get(track_id)
        if tr is None:
            return set()
        out = {n for n, h in tr.hyst.items() if h.active}
        if tr.posture.current is not None:
            out.add(tr.posture.current)
        return out

    def set_params(self, **changes: Any) -> None:
        """Change parameters at run time; running tracks keep their state.

        Checked exactly as the constructor checks them (unknown names are a TypeError,
        invalid values a ValueError) before anything changes: a refused change leaves
        the detector as it was.
        """
        known = {f.name for f in fields(GestureParams)}
        bad = set(changes) - known
        if bad:
            raise TypeError(f"unknown gesture parameters: {sorted(bad)}")
        p = GestureParams(**{**{f.name: getattr(self.params, f.name) for f in fields(GestureParams)},
                             **changes}).validate()
        self.params = p
        self.geom = GestureGeometry(p)
        for tr in self._tracks.values():
            if tr.owns_window:
                tr.window.window = p.window
            tr.posture.p = p
            for h in tr.hyst.values():
                h.on, h.off, h.min_duration, h.release_duration = (
                    p.on_threshold, p.off_threshold, p.min_duration, p.release_duration)

    def reset(self) -> None:
        self._tracks.clear()

    # ----------------------------------------------------------------- rule table
    def _scores(self, tr: _Track, fr: Frame, k3: Any, stamp: float
                ) -> tuple[dict[str, float], dict[str, tuple]]:
        p, geom = self.params, self.geom
        sc: dict[str, float] = {n: 0.0 for n in GESTURE_NAMES}
        pointing: dict[str, tuple] = {}
        # hands up
        for side in ("left", "right"):
            w = fr.arms[side].wrist
            if w is not None and math.isfinite(fr.head_y) and fr.scale > 0:
                m = (fr.head_y - w[1]) / fr.scale
                sc[f"hand_up_{side}"] = step(m, p.hand_up_margin, 0.1)
        sc["hands_up_both"] = min(sc["hand_up_left"], sc["hand_up_right"])
        # waves
        feats = tr.window.features
        t = tr.window.stamps
        first = int(np.searchsorted(t, stamp - p.window - 1e-9, side="left"))
        if first:  # a shared window longer than ours: the rules see their own horizon only
            t, feats = t[first:], feats[first:]
        sc["wave_left"] = geom.wave_score(t, feats[:, F_SIG_L], feats[:, F_UP_L], stamp)
        sc["wave_right"] = geom.wave_score(t, feats[:, F_SIG_R], feats[:, F_UP_R], stamp)
        # t-pose and pointing
        tpose = geom.tpose(fr)
        sc["t_pose"] = tpose
        for side in ("left", "right"):
            res = geom.point(fr, side)
            if res is None:
                continue
            raw, direction, dx = res
            name = "point_left" if dx < 0 else "point_right"
            s = min(raw, 1.0 - tpose)
            if s >= sc[name]:
                sc[name] = s
                pointing[name] = (direction, *geom.ray(k3, side))
        sc["arms_crossed"] = geom.crossed(fr)
        if math.isfinite(fr.theta):
            # Arm rules are image-upright geometry: meaningless for a body lying down.
            gate = below(fr.theta, p.lying_angle, DEG10)
            for n in ARM_GESTURES:
                sc[n] = min(sc[n], gate)
        # postures and fall
        sc.update(geom.postures(fr))
        sc["fall"], tr.fall_latched = geom.fall(tr.fall_latched, fr, feats, t)
        return sc, pointing
