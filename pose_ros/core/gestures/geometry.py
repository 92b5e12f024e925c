"""Per-frame geometry of the gesture rules: joints, torso scale, arm and leg scores.

:class:`GestureGeometry` is the scoring half of
:class:`~pose_ros.core.gestures.detector.GestureDetector` (which inherits it); the semantics
of every rule are documented in :mod:`pose_ros.core.gestures.detector`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_ros.core.gestures.params import _NAN, POSTURE_NAMES, GestureParams
from pose_ros.core.skeleton import Coco, coords_ok

if TYPE_CHECKING:
    from pose_ros.core.gestures.detector import _Track

__all__ = ["GestureGeometry"]

_DEG10 = math.radians(10.0)


def _step(x: float, at: float, width: float) -> float:
    """Soft threshold: 0.5 at ``at``, 1 at ``at + width`` (0 at ``at - width``); NaN -> 0."""
    if not math.isfinite(x):
        return 0.0
    return min(1.0, max(0.0, 0.5 + (x - at) / (2.0 * width)))


def _below(x: float, at: float, width: float) -> float:
    """Soft ``x <= at``."""
    return _step(-x, -at, width)


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


class GestureGeometry:
    """Geometric scores of one frame and of a track window (mixin; needs ``self.params``)."""

    params: GestureParams

    def _frame(self, kp: np.ndarray) -> _Frame:
        p = self.params
        if kp.shape != (17, 3):
            raise ValueError(f"expected (17, 3) keypoints, got {kp.shape}")
        vis = coords_ok(kp[:, :2]) & np.isfinite(kp[:, 2])   # no inf from huge garbage either
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

    def _window_features(self, fr: _Frame) -> np.ndarray:
        """The per-frame values stored in the track window (layout: ``_F_*``)."""
        return np.array([fr.scale, fr.theta,
                         fr.hc[1] if fr.hc is not None else _NAN,
                         *self._wave_sample(fr, "left"), *self._wave_sample(fr, "right")])

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
        if k3.ndim != 2 or k3.shape[1] < 3 or k3.shape[0] <= max(s, w) \
                or not coords_ok(k3[[s, w], :3]).all():
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
