"""Building blocks of the synthetic motion models (:mod:`pose_ros.training.motion`).

Neutral pose, smooth drifts, idle arm poses, stance, gait cycle, chair poses.
"""
from __future__ import annotations

import math

import numpy as np
from numpy import radians as _D

from pose_ros.training.body import Pose


def base_pose(t: np.ndarray, heading: float) -> Pose:
    z = np.zeros_like(t)
    p = Pose(heading=z + heading, pitch=z.copy(), roll=z.copy(), head_yaw=z.copy(),
             flight=z.copy(), tilt=z.copy(), tilt_dir=z.copy())
    for s in "lr":
        p[s + "ua"], p[s + "ub"] = z + _D(6), z + _D(10)
        p[s + "fa"], p[s + "fb"] = z + _D(12), z + _D(60)
        p[s + "ta"], p[s + "tb"] = z + _D(2), z + _D(90)
        p[s + "sa"], p[s + "sb"] = z + _D(-1), z + _D(90)
    return p


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def slow_drift(rng: np.random.Generator, t: np.ndarray, amp: float, f_lo: float = 0.1, f_hi: float = 0.6,
          n: int = 2) -> np.ndarray:
    """Smooth random drift: a few low-frequency sines."""
    out = np.zeros_like(t)
    for _ in range(n):
        out += amp / n * np.sin(2 * np.pi * rng.uniform(f_lo, f_hi) * t + rng.uniform(0, 2 * np.pi))
    return out


# Static arm poses for idle people: (ua, ub, fa, fb) in degrees.
_ARM_POSES = {
    "hang": (6, 10, 10, 60), "front": (25, 80, 95, 85), "hips": (35, 5, 150, 150),
    "crossed": (30, 80, 95, 170), "point": (85, 50, 90, 50), "hand_up": (165, 20, 175, 20),
    "phone": (20, 80, 125, 95), "pocket": (12, 60, 25, 100), "chin": (30, 85, 160, 100),
}


def idle_arms(rng: np.random.Generator, p: Pose, t: np.ndarray, allow_raised: bool = True) -> None:
    """Static or slowly changing arm poses with small tremor (no periodic swinging)."""
    names = list(_ARM_POSES)
    if not allow_raised:
        names = [n for n in names if n not in ("point", "hand_up")]
    weights = np.array([4.0 if n == "hang" else 1.0 for n in names])
    for side in "lr":
        na = names[rng.choice(len(names), p=weights / weights.sum())]
        a = np.array(_ARM_POSES[na], float)
        a += rng.normal(0, 8, 4)
        p.meta[side + "_arm"] = na
        if rng.random() < 0.35:  # one slow change of pose during the clip (a gesture, not a wave)
            nb = names[rng.choice(len(names), p=weights / weights.sum())]
            b = np.array(_ARM_POSES[nb], float)
            p.meta[side + "_arm"] = f"{na}->{nb}"
            t0 = rng.uniform(t[0], max(t[-1], t[0] + 1e-3))
            s = smoothstep((t - t0) / rng.uniform(0.5, 1.5))[:, None]
            ang = a[None] * (1 - s) + b[None] * s
        else:
            ang = np.broadcast_to(a, (len(t), 4)).copy()
        for k, key in enumerate(("ua", "ub", "fa", "fb")):
            p[side + key] = _D(ang[:, k]) + slow_drift(rng, t, _D(3), 0.2, 1.0)


def stand_legs(rng: np.random.Generator, p: Pose, t: np.ndarray) -> None:
    """Straight or slightly bent legs, feet a little apart (abduction + flexion combined)."""
    wide = rng.uniform(0, _D(8))
    for side in "lr":
        bend = rng.uniform(0, _D(10)) if rng.random() < 0.5 else 0.0
        p[side + "ta"] = math.hypot(wide, bend) + slow_drift(rng, t, _D(1.5))
        p[side + "tb"] = t * 0 + math.atan2(bend, wide)
        p[side + "sa"] = t * 0 + math.hypot(wide, 0.5 * bend)
        p[side + "sb"] = t * 0 + math.atan2(-0.5 * bend, wide)


def gait_cycle(rng, t, p: Pose, f_stride: float, hip_amp: float, hip_bias: float, knee_sw: float,
          knee_st: float, arm_amp: np.ndarray, elbow: np.ndarray) -> np.ndarray:
    """Fill legs and arms with a gait cycle; returns the phase."""
    phase = 2 * np.pi * f_stride * t + rng.uniform(0, 2 * np.pi)
    for side, off in (("l", 0.0), ("r", np.pi)):
        ph = phase + off
        ta = hip_bias + hip_amp * np.sin(ph)
        knee = knee_sw * ((0.5 + 0.5 * np.cos(ph - 0.3)) ** 2) + knee_st * np.maximum(0, np.sin(ph - 1.9)) ** 2
        p[side + "ta"], p[side + "tb"] = ta, ta * 0 + _D(90) - _D(3)
        p[side + "sa"], p[side + "sb"] = ta - knee, ta * 0 + _D(90)
        k = 0 if side == "l" else 1
        ua = -arm_amp[k] * np.sin(ph) + _D(4)
        p[side + "ua"], p[side + "ub"] = ua, ua * 0 + _D(80)
        p[side + "fa"] = ua + elbow[k] + 0.4 * arm_amp[k] * np.maximum(0, -np.sin(ph))
        p[side + "fb"] = ua * 0 + _D(88)
    return phase


def chair_pose(rng) -> dict[str, float]:
    if rng.random() < 0.15:  # on the floor, legs forward
        return dict(ta=_D(90), sa=rng.uniform(_D(45), _D(90)), pitch=rng.uniform(-_D(10), _D(20)))
    return dict(ta=rng.uniform(_D(70), _D(100)), sa=rng.uniform(-_D(20), _D(30)),
                pitch=rng.uniform(-_D(12), _D(15)))


def sit_arms(rng, p: Pose, t: np.ndarray, s: np.ndarray) -> None:
    """Arms from hanging (s=0) to resting on the thighs / armrests (s=1)."""
    for side in "lr":
        rest = np.array([rng.uniform(_D(10), _D(40)), rng.uniform(_D(40), _D(90)),
                         rng.uniform(_D(50), _D(100)), rng.uniform(_D(60), _D(95))])
        for k, key in enumerate(("ua", "ub", "fa", "fb")):
            p[side + key] = p[side + key] * (1 - s) + rest[k] * s + slow_drift(rng, t, _D(3))
