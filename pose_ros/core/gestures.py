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

No rclpy import: the action_classifier node wraps this object.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from pose_ros.core.features import TrackWindow
from pose_ros.core.skeleton import Coco

__all__ = [
    "GESTURE_NAMES", "POSTURE_NAMES", "GestureDetector", "GestureEvent", "GestureParams",
    "Hysteresis",
]

POSTURE_NAMES: tuple[str, ...] = ("standing", "sitting", "crouching", "lying")
GESTURE_NAMES: tuple[str, ...] = (
    "hand_up_left", "hand_up_right", "hands_up_both", "wave_left", "wave_right",
    "point_left", "point_right", "arms_crossed", "t_pose",
) + POSTURE_NAMES + ("fall",)
_POINTING = ("point_left", "point_right")
_ARM_GESTURES = ("hand_up_left", "hand_up_right", "hands_up_both", "wave_left", "wave_right",
                 "point_left", "point_right", "arms_crossed", "t_pose")
_NAN = float("nan")
_DEG10 = math.radians(10.0)


@dataclass
class GestureEvent:
    """Start or end of one gesture of one track (maps onto pose_ros/Gesture)."""

    START: ClassVar[str] = "start"
    END: ClassVar[str] = "end"

    track_id: str
    gesture: str
    event: str                       # 'start' | 'end'
    confidence: float
    direction: float = _NAN          # image-plane angle, rad (0 = +x, pi/2 = +y down)
    ray_origin: np.ndarray | None = None      # (3,) in the skeleton's 3D frame
    ray_direction: np.ndarray | None = None   # (3,) unit vector
    window_start: float = 0.0        # seconds
    window_end: float = 0.0


@dataclass
class GestureParams:
    """Thresholds of the rules; distances in torso lengths, angles in radians, times in s."""

    window: float = 2.0
    on_threshold: float = 0.6
    off_threshold: float = 0.4
    min_duration: float = 0.2
    release_duration: float = 0.3
    min_keypoint_score: float = 0.2
    hand_up_margin: float = 0.1
    wave_min_freq: float = 0.8
    wave_max_freq: float = 4.0
    wave_min_amplitude: float = 0.12
    wave_min_crossings: int = 3
    point_min_elbow_angle: float = math.radians(150.0)
    point_min_extension: float = 0.7
    point_max_elevation: float = math.radians(40.0)
    tpose_max_elevation: float = math.radians(20.0)
    lying_angle: float = math.radians(50.0)
    standing_min_leg: float = 1.2
    crouch_max_leg: float = 0.65
    sitting_max_thigh: float = 0.5
    posture_min_duration: float = 0.5
    posture_switch_margin: float = 0.2
    fall_upright_angle: float = math.radians(30.0)
    fall_lying_angle: float = math.radians(60.0)
    fall_max_duration: float = 1.0
    fall_min_drop: float = 0.3

    def validate(self) -> "GestureParams":
        if not 0.0 <= self.off_threshold <= self.on_threshold <= 1.0:
            raise ValueError("need 0 <= off_threshold <= on_threshold <= 1")
        for name in ("min_duration", "release_duration", "posture_min_duration"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0 < self.wave_min_freq < self.wave_max_freq:
            raise ValueError("need 0 < wave_min_freq < wave_max_freq")
        if self.window < max(self.fall_max_duration, 1.0 / self.wave_min_freq):
            raise ValueError("window must cover fall_max_duration and one wave period "
                             "at wave_min_freq")
        if not self.fall_upright_angle < self.fall_lying_angle:
            raise ValueError("need fall_upright_angle < fall_lying_angle")
        if self.wave_min_crossings < 2:
            raise ValueError("wave_min_crossings must be >= 2")
        return self


def _step(x: float, at: float, width: float) -> float:
    """Soft threshold: 0.5 at ``at``, 1 at ``at + width`` (0 at ``at - width``); NaN -> 0."""
    if not math.isfinite(x):
        return 0.0
    return min(1.0, max(0.0, 0.5 + (x - at) / (2.0 * width)))


def _below(x: float, at: float, width: float) -> float:
    """Soft ``x <= at``."""
    return _step(-x, -at, width)


class Hysteresis:
    """Two-threshold, two-timer switch on a score stream driven by stamps (seconds)."""

    def __init__(self, on: float = 0.6, off: float = 0.4, min_duration: float = 0.2,
                 release_duration: float = 0.3) -> None:
        self.on, self.off = on, off
        self.min_duration, self.release_duration = min_duration, release_duration
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.started = _NAN           # stamp of the start event
        self.run_start = _NAN         # first stamp of the current evidence run
        self._above: float | None = None
        self._below: float | None = None
        self._sum = 0.0
        self._n = 0

    @property
    def confidence(self) -> float:
        return self._sum / self._n if self._n else 0.0

    def update(self, stamp: float, score: float) -> str | None:
        """Feed one score; returns 'start', 'end' or None."""
        if not math.isfinite(score):
            score = 0.0
        if not self.active:
            if score >= self.on:
                if self._above is None:
                    self._above, self._sum, self._n = stamp, 0.0, 0
                self._sum += score
                self._n += 1
                if stamp - self._above >= self.min_duration:
                    self.active, self.started, self.run_start = True, stamp, self._above
                    self._above = self._below = None
                    return GestureEvent.START
            else:
                self._above = None
            return None
        self._sum += score
        self._n += 1
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


class _PostureSelector:
    """Hysteresis over mutually exclusive labels: at most one active at a time."""

    def __init__(self, p: GestureParams) -> None:
        self.p = p
        self.current: str | None = None
        self.started = _NAN
        self._cand: str | None = None
        self._cand_since = 0.0
        self._cand_sum = 0.0
        self._cand_n = 0
        self._below: float | None = None
        self._sum = 0.0
        self._n = 0

    @property
    def confidence(self) -> float:
        return self._sum / self._n if self._n else 0.0

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
            self._sum += cs
            self._n += 1
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


# Per-frame derived values stored in the track window.
_F_SCALE, _F_THETA, _F_HIP_Y, _F_SIG_L, _F_UP_L, _F_SIG_R, _F_UP_R = range(7)


@dataclass
class _Arm:
    ok: bool = False
    shoulder: np.ndarray | None = None
    elbow: np.ndarray | None = None
    wrist: np.ndarray | None = None


@dataclass
class _Frame:
    """Geometry of one frame; NaN / None where joints are missing."""

    kp: np.ndarray
    vis: np.ndarray
    scale: float = _NAN          # torso length, else shoulder width / 0.75
    torso: float = _NAN          # shoulder centre -> hip centre (both needed)
    sc: np.ndarray | None = None
    hc: np.ndarray | None = None
    theta: float = _NAN          # |trunk angle from vertical|
    head_y: float = _NAN
    arms: dict[str, _Arm] = field(default_factory=dict)


class _Track:
    def __init__(self, p: GestureParams) -> None:
        self.window = TrackWindow(p.window)
        self.hyst = {n: Hysteresis(p.on_threshold, p.off_threshold, p.min_duration,
                                   p.release_duration)
                     for n in GESTURE_NAMES if n not in POSTURE_NAMES}
        self.posture = _PostureSelector(p)
        self.fall_latched = False
        self.scores: dict[str, float] = {}
        self.pointing: dict[str, tuple[float, np.ndarray | None, np.ndarray | None]] = {}
        self.last_stamp = _NAN


class GestureDetector:
    """Per-track gesture and posture events from a stream of people (see module doc).

    ``GestureDetector(params=None, **overrides)``: overrides are GestureParams fields.
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
        self._tracks: dict[str, _Track] = {}

    # ------------------------------------------------------------------ public API
    def update(self, track_id: str, stamp: float, person: Any) -> list[GestureEvent]:
        """Feed one observation of ``track_id`` at ``stamp`` (s); returns new events.

        ``person`` is a Person (``keypoints`` (17, 3), optional ``keypoints_3d``) or a
        bare (17, 3) keypoint array. A stamp earlier than the track's last one ends its
        active gestures (at this stamp) and restarts the track.
        """
        stamp = float(stamp)
        events: list[GestureEvent] = []
        tr = self._tracks.get(track_id)
        if tr is not None and stamp < tr.last_stamp:
            events += self.end_track(track_id, stamp)
            tr = None
        if tr is None:
            tr = self._tracks[track_id] = _Track(self.params)
        tr.last_stamp = stamp
        with np.errstate(all="ignore"):
            kp = np.asarray(getattr(person, "keypoints", person), dtype=np.float64)
            k3 = getattr(person, "keypoints_3d", None)
            fr = self._frame(kp)
            feats = np.array([fr.scale, fr.theta,
                              fr.hc[1] if fr.hc is not None else _NAN,
                              *self._wave_sample(fr, "left"), *self._wave_sample(fr, "right")])
            tr.window.add(stamp, person, feats)
            scores, pointing = self._scores(tr, fr, k3, stamp)
        tr.scores = scores
        ends: list[GestureEvent] = []
        starts: list[GestureEvent] = []
        for name, h in tr.hyst.items():
            ev = h.update(stamp, scores.get(name, 0.0))
            if name in _POINTING and (h.active or ev == GestureEvent.START):
                if name in pointing and scores.get(name, 0.0) >= self.params.off_threshold:
                    tr.pointing[name] = pointing[name]
            if ev is None:
                continue
            d, ro, rd = tr.pointing.get(name, (_NAN, None, None)) if name in _POINTING \
                else (_NAN, None, None)
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
        """End every active gesture of a track that disappeared and forget the track."""
        tr = self._tracks.pop(track_id, None)
        if tr is None:
            return []
        out = []
        for name, h in tr.hyst.items():
            if h.active:
                d, ro, rd = tr.pointing.get(name, (_NAN, None, None))
                out.append(GestureEvent(track_id, name, GestureEvent.END, h.confidence,
                                        d, ro, rd, h.started, float(stamp)))
        ps = tr.posture
        if ps.current is not None:
            out.append(GestureEvent(track_id, ps.current, GestureEvent.END, ps.confidence,
                                    window_start=ps.started, window_end=float(stamp)))
        return out

    def end_stale(self, stamp: float, timeout: float) -> list[GestureEvent]:
        """End the tracks not updated for more than ``timeout`` seconds before ``stamp``."""
        out: list[GestureEvent] = []
        for tid in [t for t, tr in self._tracks.items() if stamp - tr.last_stamp > timeout]:
            out += self.end_track(tid, stamp)
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

    def scores(self, track_id: str) -> dict[str, float]:
        """Latest per-frame score of every gesture of ``track_id`` (empty if unknown)."""
        tr = self._tracks.get(track_id)
        return dict(tr.scores) if tr is not None else {}

    def tracks(self) -> list[str]:
        return list(self._tracks)

    def reset(self) -> None:
        self._tracks.clear()

    # --------------------------------------------------------------- geometry
    def _frame(self, kp: np.ndarray) -> _Frame:
        p = self.params
        if kp.shape != (17, 3):
            raise ValueError(f"expected (17, 3) keypoints, got {kp.shape}")
        vis = np.isfinite(kp).all(axis=1)
        vis &= np.where(vis, kp[:, 2], 0.0) > p.min_keypoint_score
        fr = _Frame(kp=kp, vis=vis)

        def centre(a: int, b: int) -> np.ndarray | None:
            m = [kp[i, :2] for i in (a, b) if vis[i]]
            return sum(m) / len(m) if m else None

        C = Coco
        fr.sc = centre(C.LEFT_SHOULDER, C.RIGHT_SHOULDER)
        fr.hc = centre(C.LEFT_HIP, C.RIGHT_HIP)
        if fr.sc is not None and fr.hc is not None:
            up = fr.sc - fr.hc
            t = float(np.hypot(*up))
            if t > 1e-6:
                fr.torso = fr.scale = t
                fr.theta = abs(math.atan2(up[0], -up[1]))
        if not fr.scale > 0 and vis[C.LEFT_SHOULDER] and vis[C.RIGHT_SHOULDER]:
            w = float(np.hypot(*(kp[C.LEFT_SHOULDER, :2] - kp[C.RIGHT_SHOULDER, :2])))
            if w > 1e-6:
                fr.scale = w / 0.75
        if vis[C.NOSE]:
            fr.head_y = float(kp[C.NOSE, 1])
        else:
            face = [kp[i, 1] for i in (C.LEFT_EYE, C.RIGHT_EYE, C.LEFT_EAR, C.RIGHT_EAR)
                    if vis[i]]
            if face:
                fr.head_y = float(np.mean(face))
        for side, (s, e, w) in (("left", (C.LEFT_SHOULDER, C.LEFT_ELBOW, C.LEFT_WRIST)),
                                ("right", (C.RIGHT_SHOULDER, C.RIGHT_ELBOW, C.RIGHT_WRIST))):
            arm = _Arm()
            arm.shoulder = kp[s, :2] if vis[s] else None
            arm.elbow = kp[e, :2] if vis[e] else None
            arm.wrist = kp[w, :2] if vis[w] else None
            arm.ok = bool(vis[s] and vis[e] and vis[w]) and fr.scale > 0
            fr.arms[side] = arm
        return fr

    @staticmethod
    def _wave_sample(fr: _Frame, side: str) -> tuple[float, float]:
        """(wrist_x - elbow_x) / scale and raised flag (1 / 0 / NaN when missing)."""
        arm = fr.arms[side]
        if arm.elbow is None or arm.wrist is None or not fr.scale > 0:
            return _NAN, _NAN
        sig = (arm.wrist[0] - arm.elbow[0]) / fr.scale
        return float(sig), float(arm.wrist[1] < arm.elbow[1])

    def _scores(self, tr: _Track, fr: _Frame, k3: Any, stamp: float
                ) -> tuple[dict[str, float], dict[str, tuple]]:
        p = self.params
        sc: dict[str, float] = {n: 0.0 for n in GESTURE_NAMES}
        pointing: dict[str, tuple] = {}
        # hands up
        for side in ("left", "right"):
            w = fr.arms[side].wrist
            if w is not None and math.isfinite(fr.head_y) and fr.scale > 0:
                m = (fr.head_y - w[1]) / fr.scale
                sc[f"hand_up_{side}"] = _step(m, p.hand_up_margin, 0.1)
        sc["hands_up_both"] = min(sc["hand_up_left"], sc["hand_up_right"])
        # waves
        feats = tr.window.features
        t = tr.window.stamps
        sc["wave_left"] = self._wave_score(t, feats[:, _F_SIG_L], feats[:, _F_UP_L], stamp)
        sc["wave_right"] = self._wave_score(t, feats[:, _F_SIG_R], feats[:, _F_UP_R], stamp)
        # t-pose and pointing
        tpose = self._tpose(fr)
        sc["t_pose"] = tpose
        for side in ("left", "right"):
            res = self._point(fr, side)
            if res is None:
                continue
            raw, direction, dx = res
            name = "point_left" if dx < 0 else "point_right"
            s = min(raw, 1.0 - tpose)
            if s >= sc[name]:
                sc[name] = s
                pointing[name] = (direction, *self._ray(k3, side))
        sc["arms_crossed"] = self._crossed(fr)
        if math.isfinite(fr.theta):
            # Arm rules are image-upright geometry: meaningless for a body lying down.
            gate = _below(fr.theta, p.lying_angle, _DEG10)
            for n in _ARM_GESTURES:
                sc[n] = min(sc[n], gate)
        # postures and fall
        sc.update(self._postures(fr))
        sc["fall"] = self._fall(tr, fr, feats, t)
        return sc, pointing

    def _wave_score(self, t: np.ndarray, sig: np.ndarray, up: np.ndarray,
                    stamp: float) -> float:
        p = self.params
        if not (len(up) and up[-1] == 1.0):
            return 0.0
        lowered = np.flatnonzero(up == 0.0)
        start = lowered[-1] + 1 if lowered.size else 0
        sel = np.flatnonzero((up[start:] == 1.0) & np.isfinite(sig[start:])) + start
        if sel.size < 4:
            return 0.0
        x, ts = sig[sel], t[sel]
        amp = 0.5 * float(x.max() - x.min())
        d = x - x.mean()
        band = 0.5 * p.wave_min_amplitude
        state = np.where(d > band, 1, np.where(d < -band, -1, 0))
        nz = np.flatnonzero(state)
        if nz.size < 2:
            return 0.0
        st = state[nz]
        flips = np.flatnonzero(st[1:] != st[:-1]) + 1
        if flips.size < p.wave_min_crossings:
            return 0.0
        tc = ts[nz[flips]]
        span = float(tc[-1] - tc[0])
        if not span > 0:
            return 0.0
        freq = (flips.size - 1) / (2.0 * span)
        if not p.wave_min_freq <= freq <= p.wave_max_freq:
            return 0.0
        if stamp - tc[-1] > 1.0 / freq:      # no crossing for a period: stopped swinging
            return 0.0
        return _step(amp, p.wave_min_amplitude, 0.5 * p.wave_min_amplitude)

    def _arm_geom(self, fr: _Frame, side: str) -> tuple[float, float, float, float] | None:
        """(elbow angle, dx, dy, elevation) of an arm, or None when a joint is missing."""
        arm = fr.arms[side]
        if not arm.ok:
            return None
        u = arm.shoulder - arm.elbow
        v = arm.wrist - arm.elbow
        nu, nv = float(np.hypot(*u)), float(np.hypot(*v))
        if nu < 1e-6 or nv < 1e-6:
            return None
        elbow = math.atan2(abs(u[0] * v[1] - u[1] * v[0]), float(u @ v))
        dx, dy = (arm.wrist - arm.shoulder) / fr.scale
        elev = math.atan2(-dy, abs(dx))
        return elbow, float(dx), float(dy), elev

    def _point(self, fr: _Frame, side: str) -> tuple[float, float, float] | None:
        p = self.params
        g = self._arm_geom(fr, side)
        if g is None:
            return None
        elbow, dx, dy, elev = g
        raw = min(_step(elbow, p.point_min_elbow_angle, _DEG10),
                  _step(abs(dx), p.point_min_extension, 0.15),
                  _below(abs(elev), p.point_max_elevation, _DEG10))
        return raw, math.atan2(dy, dx), dx

    @staticmethod
    def _ray(k3: Any, side: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        if k3 is None:
            return None, None
        k3 = np.asarray(k3, dtype=np.float64)
        s = Coco.LEFT_SHOULDER if side == "left" else Coco.RIGHT_SHOULDER
        w = Coco.LEFT_WRIST if side == "left" else Coco.RIGHT_WRIST
        if k3.shape[0] <= max(s, w) or not (np.isfinite(k3[s, :3]).all()
                                            and np.isfinite(k3[w, :3]).all()):
            return None, None
        d = k3[w, :3] - k3[s, :3]
        n = float(np.linalg.norm(d))
        if n < 1e-9:
            return None, None
        return k3[s, :3].copy(), d / n

    def _side_axis(self, fr: _Frame) -> np.ndarray | None:
        """Unit vector from the right to the left shoulder (None if side-on / missing)."""
        ls, rs = fr.arms["left"].shoulder, fr.arms["right"].shoulder
        if ls is None or rs is None or not fr.scale > 0:
            return None
        u = ls - rs
        n = float(np.hypot(*u))
        if n < 0.2 * fr.scale:
            return None
        return u / n

    def _tpose(self, fr: _Frame) -> float:
        p = self.params
        u = self._side_axis(fr)
        if u is None:
            return 0.0
        s = 1.0
        for side, sign in (("left", 1.0), ("right", -1.0)):
            g = self._arm_geom(fr, side)
            if g is None:
                return 0.0
            elbow, _, _, elev = g
            arm = fr.arms[side]
            out = sign * float((arm.wrist - arm.shoulder) @ u) / fr.scale
            s = min(s, _step(elbow, p.point_min_elbow_angle, _DEG10),
                    _step(out, p.point_min_extension, 0.15),
                    _below(abs(elev), p.tpose_max_elevation, _DEG10))
        return s

    def _crossed(self, fr: _Frame) -> float:
        u = self._side_axis(fr)
        if u is None or fr.sc is None or fr.hc is None or not fr.torso > 0:
            return 0.0
        down = (fr.hc - fr.sc) / fr.torso
        s = 1.0
        for side, sign in (("left", -1.0), ("right", 1.0)):
            w = fr.arms[side].wrist
            if w is None:
                return 0.0
            rel = (w - fr.sc) / fr.torso
            across = sign * float(rel @ u)          # > 0 when past the midline
            height = float(rel @ down)              # 0 shoulders, 1 hips
            s = min(s, _step(across, 0.05, 0.1), _below(across, 0.7, 0.15),
                    _step(height, 0.1, 0.1), _below(height, 0.85, 0.1))
        return s

    def _postures(self, fr: _Frame) -> dict[str, float]:
        p = self.params
        out = {n: 0.0 for n in POSTURE_NAMES}
        if not math.isfinite(fr.theta):
            return out
        up = _below(fr.theta, p.lying_angle, _DEG10)
        out["lying"] = 1.0 - up
        kp, vis, C = fr.kp, fr.vis, Coco
        legs, thighs, knees = [], [], []
        for h, k, a in ((C.LEFT_HIP, C.LEFT_KNEE, C.LEFT_ANKLE),
                        (C.RIGHT_HIP, C.RIGHT_KNEE, C.RIGHT_ANKLE)):
            if not (vis[h] and vis[k] and vis[a]):
                continue
            legs.append((kp[a, 1] - kp[h, 1]) / fr.torso)
            thighs.append((kp[k, 1] - kp[h, 1]) / fr.torso)
            u, v = kp[h, :2] - kp[k, :2], kp[a, :2] - kp[k, :2]
            if np.hypot(*u) > 1e-6 and np.hypot(*v) > 1e-6:
                knees.append(math.atan2(abs(u[0] * v[1] - u[1] * v[0]), float(u @ v)))
        if not legs:
            return out
        leg, thigh = float(np.mean(legs)), float(np.mean(thighs))
        knee = float(np.mean(knees)) if knees else math.pi
        out["standing"] = min(up, _step(leg, p.standing_min_leg, 0.15),
                              _step(knee, math.radians(140.0), math.radians(15.0)))
        out["crouching"] = min(up, _below(leg, p.crouch_max_leg, 0.15))
        out["sitting"] = min(up, _step(leg, p.crouch_max_leg, 0.15),
                             _below(leg, p.standing_min_leg, 0.15),
                             _below(thigh, p.sitting_max_thigh, 0.15))
        return out

    def _fall(self, tr: _Track, fr: _Frame, feats: np.ndarray, t: np.ndarray) -> float:
        p = self.params
        theta = fr.theta
        if tr.fall_latched:
            if math.isfinite(theta) and theta < p.lying_angle:
                tr.fall_latched = False          # back up
            return 1.0 if tr.fall_latched else 0.0
        if not (math.isfinite(theta) and theta > p.fall_lying_angle):
            return 0.0
        th = feats[:, _F_THETA]
        recent = (t >= t[-1] - p.fall_max_duration) & (th < p.fall_upright_angle)
        idx = np.flatnonzero(recent)                # NaN compares False
        if idx.size == 0:
            return 0.0
        j = idx[-1]
        scale = feats[j, _F_SCALE]
        drop = (feats[-1, _F_HIP_Y] - feats[j, _F_HIP_Y]) / scale
        if not drop >= p.fall_min_drop:
            return 0.0
        tr.fall_latched = True
        return 1.0
