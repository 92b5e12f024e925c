"""Per-frame geometry of the gesture rules: joints, torso scale, arm and leg scores.

:class:`GestureGeometry` is the scoring half of
:class:`~pose_ros.core.gestures.detector.GestureDetector` (which holds one): pure
functions of the parameters and the frame / window given, with no reference back to
the detector or its tracks (the one piece of track state, the fall latch, goes in and
comes back out). The semantics of every rule are documented in
:mod:`pose_ros.core.gestures.detector`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pose_ros.core.features.pose import angle_between, body_centres
from pose_ros.core.gestures.params import NAN, POSTURE_NAMES, GestureParams
from pose_ros.core.skeleton import Coco, coords_ok, visible

__all__ = ["Frame", "GestureGeometry"]

DEG10 = math.radians(10.0)


def step(x: float, at: float, width: float) -> float:
    """Soft threshold: 0.5 at ``at``, 1 at ``at + width`` (0 at ``at - width``); NaN -> 0."""
    if not math.isfinite(x):
        return 0.0
    return min(1.0, max(0.0, 0.5 + (x - at) / (2.0 * width)))


def below(x: float, at: float, width: float) -> float:
    """Soft ``x <= at``."""
    return step(-x, -at, width)


# Per-frame derived values stored in the track window.
F_SCALE, F_THETA, F_HIP_Y, F_SIG_L, F_UP_L, F_SIG_R, F_UP_R = range(7)


@dataclass
class Arm:
    ok: bool = False
    shoulder: np.ndarray | None = None
    elbow: np.ndarray | None = None
    wrist: np.ndarray | None = None


@dataclass
class Frame:
    """Geometry of one frame; NaN / None where joints are missing."""

    kp: np.ndarray
    vis: np.ndarray
    scale: float = NAN          # torso length, else shoulder width / 0.75
    torso: float = NAN          # shoulder centre -> hip centre (both needed)
    sc: np.ndarray | None = None
    hc: np.ndarray | None = None
    theta: float = NAN          # |trunk angle from vertical|
    head_y: float = NAN
    arms: dict[str, Arm] = field(default_factory=dict)


class GestureGeometry:
    """Geometric scores of one frame and of a track window under one set of parameters."""

    def __init__(self, params: GestureParams) -> None:
        self.params = params

    def frame(self, kp: np.ndarray) -> Frame:
        p = self.params
        if kp.shape != (17, 3):
            raise ValueError(f"expected (17, 3) keypoints, got {kp.shape}")
        vis = visible(kp, p.min_keypoint_score)   # no inf from huge garbage either
        fr = Frame(kp=kp, vis=vis)

        C = Coco
        sc, hc = body_centres(kp, p.min_keypoint_score)
        fr.sc = sc if np.isfinite(sc).all() else None
        fr.hc = hc if np.isfinite(hc).all() else None
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
            arm = Arm()
            arm.shoulder = kp[s, :2] if vis[s] else None
            arm.elbow = kp[e, :2] if vis[e] else None
            arm.wrist = kp[w, :2] if vis[w] else None
            arm.ok = bool(vis[s] and vis[e] and vis[w]) and fr.scale > 0
            fr.arms[side] = arm
        return fr

    @staticmethod
    def wave_sample(fr: Frame, side: str) -> tuple[float, float]:
        """(wrist_x - elbow_x) / scale and raised flag (1 / 0 / NaN when missing)."""
        arm = fr.arms[side]
        if arm.elbow is None or arm.wrist is None or not fr.scale > 0:
            return NAN, NAN
        sig = (arm.wrist[0] - arm.elbow[0]) / fr.scale
        return float(sig), float(arm.wrist[1] < arm.elbow[1])

    def window_features(self, fr: Frame) -> np.ndarray:
        """The per-frame values stored in the track window (layout: ``_F_*``)."""
        return np.array([fr.scale, fr.theta,
                         fr.hc[1] if fr.hc is not None else NAN,
                         *self.wave_sample(fr, "left"), *self.wave_sample(fr, "right")])

    def wave_score(self, t: np.ndarray, sig: np.ndarray, up: np.ndarray,
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
        return step(amp, p.wave_min_amplitude, 0.5 * p.wave_min_amplitude)

    def arm_geom(self, fr: Frame, side: str) -> tuple[float, float, float, float] | None:
        """(elbow angle, dx, dy, elevation) of an arm, or None when a joint is missing."""
        arm = fr.arms[side]
        if not arm.ok:
            return None
        u = arm.shoulder - arm.elbow
        v = arm.wrist - arm.elbow
        nu, nv = float(np.hypot(*u)), float(np.hypot(*v))
        if nu < 1e-6 or nv < 1e-6:
            return None
        elbow = float(angle_between(u, v))
        dx, dy = (arm.wrist - arm.shoulder) / fr.scale
        elev = math.atan2(-dy, abs(dx))
        return elbow, float(dx), float(dy), elev

    def point(self, fr: Frame, side: str) -> tuple[float, float, float] | None:
        p = self.params
        g = self.arm_geom(fr, side)
        if g is None:
            return None
        elbow, dx, dy, elev = g
        raw = min(step(elbow, p.point_min_elbow_angle, DEG10),
                  step(abs(dx), p.point_min_extension, 0.15),
                  below(abs(elev), p.point_max_elevation, DEG10))
        return raw, math.atan2(dy, dx), dx

    @staticmethod
    def ray(k3: Any, side: str) -> tuple[np.ndarray | None, np.ndarray | None]:
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

    def side_axis(self, fr: Frame) -> np.ndarray | None:
        """Unit vector from the right to the left shoulder (None if side-on / missing)."""
        ls, rs = fr.arms["left"].shoulder, fr.arms["right"].shoulder
        if ls is None or rs is None or not fr.scale > 0:
            return None
        u = ls - rs
        n = float(np.hypot(*u))
        if n < 0.2 * fr.scale:
            return None
        return u / n

    def tpose(self, fr: Frame) -> float:
        p = self.params
        u = self.side_axis(fr)
        if u is None:
            return 0.0
        s = 1.0
        for side, sign in (("left", 1.0), ("right", -1.0)):
            g = self.arm_geom(fr, side)
            if g is None:
                return 0.0
            elbow, _, _, elev = g
            arm = fr.arms[side]
            out = sign * float((arm.wrist - arm.shoulder) @ u) / fr.scale
            s = min(s, step(elbow, p.point_min_elbow_angle, DEG10),
                    step(out, p.point_min_extension, 0.15),
                    below(abs(elev), p.tpose_max_elevation, DEG10))
        return s

    def crossed(self, fr: Frame) -> float:
        u = self.side_axis(fr)
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
            s = min(s, step(across, 0.05, 0.1), below(across, 0.7, 0.15),
                    step(height, 0.1, 0.1), below(height, 0.85, 0.1))
        return s

    def postures(self, fr: Frame) -> dict[str, float]:
        p = self.params
        out = {n: 0.0 for n in POSTURE_NAMES}
        if not math.isfinite(fr.theta):
            return out
        up = below(fr.theta, p.lying_angle, DEG10)
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
        out["standing"] = min(up, step(leg, p.standing_min_leg, 0.15),
                              step(knee, math.radians(140.0), math.radians(15.0)))
        out["crouching"] = min(up, below(leg, p.crouch_max_leg, 0.15))
        out["sitting"] = min(up, step(leg, p.crouch_max_leg, 0.15),
                             below(leg, p.standing_min_leg, 0.15),
                             below(thigh, p.sitting_max_thigh, 0.15))
        return out

    def fall(self, latched: bool, fr: Frame, feats: np.ndarray, t: np.ndarray) -> tuple[float, bool]:
        """Fall score of this frame and the new latch (a fall stays active until back up)."""
        p = self.params
        theta = fr.theta
        if latched:
            if math.isfinite(theta) and theta < p.lying_angle:
                latched = False          # back up
            return (1.0 if latched else 0.0), latched
        if not (math.isfinite(theta) and theta > p.fall_lying_angle):
            return 0.0, False
        th = feats[:, F_THETA]
        recent = (t >= t[-1] - p.fall_max_duration) & (th < p.fall_upright_angle)
        idx = np.flatnonzero(recent)                # NaN compares False
        if idx.size == 0:
            return 0.0, False
        j = idx[-1]
        scale = feats[j, F_SCALE]
        drop = (feats[-1, F_HIP_Y] - feats[j, F_HIP_Y]) / scale
        if not drop >= p.fall_min_drop:
            return 0.0, False
        return 1.0, True
