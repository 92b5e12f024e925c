"""Motion model of every action class of :mod:`pose_ros.training.synth` (see its docstring).

``_m_<label>(rng, t, body, duration) -> (Pose, path speed in m/s)`` draws its
parameters from ``rng`` and fills the joint-angle tracks at the stamps ``t``;
:data:`MOTIONS` maps the labels onto them.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numpy import radians as _D

from pose_ros.training.body import Pose
from pose_ros.training.motion_parts import (
    base_pose, chair_pose, gait_cycle, idle_arms, sit_arms, slow_drift, smoothstep, stand_legs,
)

_G = 9.81


def _m_standing(rng, t, body, dur) -> tuple[Pose, float]:
    p = base_pose(t, 0.0)
    stand_legs(rng, p, t)
    p["pitch"] = rng.uniform(-_D(3), _D(8)) + slow_drift(rng, t, _D(2))
    p["roll"] = slow_drift(rng, t, _D(2))
    p["head_yaw"] = rng.uniform(-0.4, 0.4) + slow_drift(rng, t, _D(15), 0.1, 0.5)
    idle_arms(rng, p, t)
    if rng.random() < 0.2:  # a small shuffle / weight shift with one foot lifted briefly
        side = "lr"[rng.integers(2)]
        t0, d = rng.uniform(0, max(dur - 0.5, 0.1)), rng.uniform(0.3, 0.6)
        bump = np.sin(np.pi * np.clip((t - t0) / d, 0, 1))
        p[side + "ta"] = p[side + "ta"] + _D(20) * bump
        p[side + "tb"] = p[side + "tb"] * 0 + _D(90)
        p[side + "sa"] = p[side + "sa"] - _D(25) * bump
        p[side + "sb"] = p[side + "tb"]
    return p, 0.0


def _m_walking(rng, t, body, dur) -> tuple[Pose, float]:
    v = rng.uniform(0.4, 1.9)
    cadence = np.clip(1.35 + 0.45 * v + rng.normal(0, 0.12), 1.2, 2.4)   # steps / s
    step = v / cadence
    leg = body.thigh + body.shin
    hip_amp = np.clip(0.55 * step / leg, _D(8), _D(32))
    p = base_pose(t, 0.0)
    arm_amp = np.array([rng.uniform(0, _D(35))] * 2) * rng.uniform(0.7, 1.3, 2)
    elbow = rng.uniform(_D(8), _D(40), 2)
    if rng.random() < 0.2:  # one arm busy (phone, carrying, pocket)
        k = rng.integers(2)
        arm_amp[k] = _D(3)
        elbow[k] = rng.uniform(_D(20), _D(110))
    gait_cycle(rng, t, p, cadence / 2, hip_amp, _D(4), rng.uniform(_D(45), _D(65)), _D(12), arm_amp, elbow)
    p["pitch"] = p["pitch"] + rng.uniform(-_D(2), _D(8))
    p["roll"] = _D(2) * np.sin(np.pi * cadence * t)
    p["head_yaw"] = rng.uniform(-0.3, 0.3) + slow_drift(rng, t, _D(10))
    turn = rng.normal(0, _D(12))
    p["heading"] = p["heading"] + turn * (t - dur / 2)
    return p, v


def _m_running(rng, t, body, dur) -> tuple[Pose, float]:
    v = rng.uniform(2.0, 5.0)
    cadence = np.clip(2.5 + 0.15 * v + rng.normal(0, 0.12), 2.4, 3.6)
    hip_amp = rng.uniform(_D(28), _D(45))
    p = base_pose(t, 0.0)
    arm_amp = np.array([rng.uniform(_D(25), _D(50))] * 2) * rng.uniform(0.85, 1.15, 2)
    elbow = rng.uniform(_D(65), _D(105), 2)
    phase = gait_cycle(rng, t, p, cadence / 2, hip_amp, _D(12), rng.uniform(_D(80), _D(120)),
                  rng.uniform(_D(20), _D(35)), arm_amp, elbow)
    p["pitch"] = p["pitch"] + rng.uniform(_D(4), _D(16))
    p["flight"] = rng.uniform(0.03, 0.10) * np.maximum(0, np.sin(2 * phase + 0.6)) ** 1.5
    p["roll"] = _D(3) * np.sin(phase)
    p["heading"] = p["heading"] + rng.normal(0, _D(8)) * (t - dur / 2)
    return p, v


def _m_waving(rng, t, body, dur) -> tuple[Pose, float]:
    p, _ = _m_standing(rng, t, body, dur)
    idle_arms(rng, p, t, allow_raised=False)
    sides = ["l", "r"] if rng.random() < 0.15 else ["lr"[rng.integers(2)]]
    f = rng.uniform(1.0, 3.0)
    ph0 = rng.uniform(0, 2 * np.pi)
    t_up = rng.uniform(-0.5, 0.4)                           # arm raised at t_up (may be before the clip)
    up = smoothstep((t - t_up) / rng.uniform(0.2, 0.4))
    kind = rng.choice(["forearm", "overhead", "low", "front"], p=[0.45, 0.25, 0.15, 0.15])
    amp = rng.uniform(_D(15), _D(40))
    p.meta.update(kind=str(kind), freq=f, amp_deg=float(np.degrees(amp)), sides="".join(sides), t_up=t_up)
    fdrift = 1 + 0.08 * np.sin(2 * np.pi * 0.3 * t)        # humans do not wave like metronomes
    osc = amp * np.sin(2 * np.pi * f * t * fdrift + ph0)
    for s in sides:
        if kind == "forearm":
            ua, ub = rng.uniform(_D(55), _D(110)), rng.uniform(0, _D(50))
            fa, fb = np.pi - _D(15) + osc, ub
            uosc = 0.2 * osc
        elif kind == "overhead":
            ua, ub = rng.uniform(_D(135), _D(170)), rng.uniform(0, _D(30))
            fa, fb = ua + _D(10) + 1.3 * osc, ub
            uosc = 0.8 * osc
        elif kind == "low":
            ua, ub = rng.uniform(_D(20), _D(50)), rng.uniform(_D(10), _D(60))
            fa, fb = np.pi - _D(35) + osc, ub
            uosc = 0.1 * osc
        else:  # in front of the body, hand swinging sideways seen from the front
            ua, ub = rng.uniform(_D(60), _D(100)), rng.uniform(_D(60), _D(90))
            fa, fb = np.pi - _D(20) + 0.3 * osc, ub - _D(60) + 1.5 * osc
            uosc = 0.15 * osc
        p[s + "ua"] = p[s + "ua"] * (1 - up) + (ua + uosc) * up
        p[s + "ub"] = p[s + "ub"] * (1 - up) + ub * up
        p[s + "fa"] = p[s + "fa"] * (1 - up) + fa * up
        p[s + "fb"] = p[s + "fb"] * (1 - up) + fb * up
    return p, 0.0


def _m_jumping(rng, t, body, dur) -> tuple[Pose, float]:
    p = base_pose(t, 0.0)
    p["head_yaw"] = rng.uniform(-0.3, 0.3) + slow_drift(rng, t, _D(5))
    kind = rng.choice(["jacks", "hops", "single"], p=[0.5, 0.35, 0.15])
    if kind == "jacks":
        f = rng.uniform(0.6, 2.0)
        ph = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
        s = 0.5 - 0.5 * np.cos(ph)                          # 0 closed, 1 open
        a_hi = rng.uniform(_D(150), _D(180)) if rng.random() < 0.7 else rng.uniform(_D(75), _D(110))
        a_lo = rng.uniform(_D(5), _D(20))
        leg = rng.uniform(_D(8), _D(20))
        h = rng.uniform(0.02, 0.12)
        for side in "lr":
            ua = a_lo + s * (a_hi - a_lo)
            p[side + "ua"], p[side + "ub"] = ua, ua * 0 + rng.uniform(-_D(10), _D(20))
            p[side + "fa"], p[side + "fb"] = ua + rng.uniform(0, _D(25)) * (1 - s), p[side + "ub"]
            land = np.maximum(0, np.cos(2 * ph))
            p[side + "ta"], p[side + "tb"] = s * leg + _D(10) * land, ua * 0 + _D(35)
            p[side + "sa"], p[side + "sb"] = s * leg - _D(15) * land, ua * 0 + _D(20)
        p["flight"] = h * np.maximum(0, -np.cos(2 * ph)) ** 1.5
    else:
        if kind == "hops":
            f = rng.uniform(1.0, 2.5)
            h = rng.uniform(0.04, 0.3)
            ph = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
            air = np.maximum(0, np.sin(ph)) ** 1.2
            crouch = np.maximum(0, -np.sin(ph)) ** 1.5
        else:
            lo = max(0.1, dur - 2.0)
            t0 = rng.uniform(lo, max(dur - 1.3, lo + 0.05))
            tc = rng.uniform(0.3, 0.5)                      # counter-movement
            h = rng.uniform(0.15, 0.45)
            ta = 2 * math.sqrt(2 * h / _G)                  # flight time
            x = (t - t0)
            crouch = (np.sin(np.pi * np.clip(x / tc, 0, 1)) * (x < tc)
                      + np.sin(np.pi * np.clip((x - tc - ta) / 0.35, 0, 1)) * 0.7)
            u = np.clip((x - tc) / ta, 0, 1)
            air = 4 * u * (1 - u) * ((x > tc) & (x < tc + ta))
        depth = rng.uniform(_D(25), _D(70)) * min(1.0, 0.4 + h / 0.3)
        for side in "lr":
            p[side + "ta"], p[side + "tb"] = depth * crouch + _D(3), t * 0 + _D(90)
            p[side + "sa"], p[side + "sb"] = -0.8 * depth * crouch - _D(5) * air, t * 0 + _D(90)
            if rng.random() < 0.6:
                swing = rng.uniform(_D(60), _D(150)) * air - _D(40) * crouch
            else:
                swing = t * 0 + rng.uniform(_D(5), _D(30))
            p[side + "ua"], p[side + "ub"] = swing, t * 0 + _D(80)
            p[side + "fa"], p[side + "fb"] = swing + _D(20), t * 0 + _D(80)
        p["pitch"] = _D(30) * crouch * depth / _D(60)
        p["flight"] = h * air
    return p, 0.0


def _transition(rng, t, dur, reverse: bool) -> tuple[Pose, np.ndarray]:
    p = base_pose(t, 0.0)
    chair = chair_pose(rng)
    d = rng.uniform(0.7, 1.7)
    lo = max(0.0, dur - 2.0) + 0.05
    t0 = rng.uniform(lo, max(lo, dur - d - 0.1))
    s = smoothstep((t - t0) / d)
    if reverse:
        s = 1 - s
    lean = rng.uniform(_D(20), _D(45)) * 4 * s * (1 - s)
    for side in "lr":
        p[side + "ta"] = chair["ta"] * s + _D(2)
        p[side + "sa"] = chair["sa"] * s - _D(1) + _D(10) * 4 * s * (1 - s)
    p["pitch"] = chair["pitch"] * s + lean + slow_drift(rng, t, _D(2))
    p["head_yaw"] = rng.uniform(-0.3, 0.3) + slow_drift(rng, t, _D(8))
    sit_arms(rng, p, t, s if rng.random() < 0.7 else s * 0)
    return p, s


def _m_sitting_down(rng, t, body, dur):
    return _transition(rng, t, dur, False)[0], 0.0


def _m_standing_up(rng, t, body, dur):
    return _transition(rng, t, dur, True)[0], 0.0


def _m_sitting(rng, t, body, dur) -> tuple[Pose, float]:
    p = base_pose(t, 0.0)
    chair = chair_pose(rng)
    for side in "lr":
        p[side + "ta"] = chair["ta"] + slow_drift(rng, t, _D(3))
        p[side + "sa"] = chair["sa"] + rng.normal(0, _D(8)) + slow_drift(rng, t, _D(4))
        p[side + "tb"] = p[side + "tb"] + rng.normal(0, _D(8))
    p["pitch"] = chair["pitch"] + slow_drift(rng, t, _D(3))
    p["roll"] = slow_drift(rng, t, _D(2))
    p["head_yaw"] = rng.uniform(-0.5, 0.5) + slow_drift(rng, t, _D(15))
    if rng.random() < 0.5:
        sit_arms(rng, p, t, t * 0 + 1)
    else:
        idle_arms(rng, p, t)
    return p, 0.0


def _m_squatting(rng, t, body, dur) -> tuple[Pose, float]:
    p = base_pose(t, 0.0)
    kind = rng.choice(["reps", "hold", "down"], p=[0.6, 0.25, 0.15])
    ta_max = rng.uniform(_D(85), _D(130))
    sa_max = rng.uniform(_D(15), _D(45))
    lean = rng.uniform(_D(20), _D(55))
    if kind == "reps":
        per = rng.uniform(1.2, 3.5)
        s = 0.5 - 0.5 * np.cos(2 * np.pi * t / per + rng.uniform(0, 2 * np.pi))
    elif kind == "hold":
        s = 0.9 + 0.1 * np.abs(slow_drift(rng, t, 1.0))
    else:
        t0 = rng.uniform(max(0.0, dur - 2.0), max(0.05, dur - 1.2))
        s = smoothstep((t - t0) / rng.uniform(0.5, 1.0))
    for side in "lr":
        wide = rng.uniform(_D(10), _D(30))
        p[side + "ta"], p[side + "tb"] = ta_max * s + _D(2), t * 0 + _D(90) - wide
        p[side + "sa"], p[side + "sb"] = -sa_max * s, t * 0 + _D(90) - wide * 0.5
    p["pitch"] = lean * s + slow_drift(rng, t, _D(2))
    if rng.random() < 0.5:  # arms forward for balance
        for side in "lr":
            a = rng.uniform(_D(60), _D(100))
            p[side + "ua"] = p[side + "ua"] * (1 - s) + a * s
            p[side + "ub"] = t * 0 + _D(85)
            p[side + "fa"] = p[side + "fa"] * (1 - s) + (a + _D(5)) * s
            p[side + "fb"] = t * 0 + _D(85)
    else:
        idle_arms(rng, p, t, allow_raised=False)
    return p, 0.0


def _m_falling(rng, t, body, dur) -> tuple[Pose, float]:
    walking = rng.random() < 0.35
    if walking:
        p, v = _m_walking(rng, t, body, dur)
    else:
        p, v = _m_standing(rng, t, body, dur)
    d = rng.uniform(0.4, 1.2)
    lo = max(0.0, dur - 2.0) + 0.1
    t0 = rng.uniform(lo, max(lo, dur - d - 0.25))
    u = np.clip((t - t0) / d, 0, 1)
    final = rng.uniform(_D(70), _D(95))
    collapse = rng.random() < 0.35
    direction = rng.choice([0.0, np.pi, np.pi / 2, -np.pi / 2]) + rng.normal(0, 0.3)
    if collapse:  # knees give way first, then the trunk goes over
        k = smoothstep(u / 0.5)
        tilt = final * np.clip((u - 0.3) / 0.7, 0, 1) ** 1.7
    else:
        k = 0.4 * np.sin(np.pi * u) + 0.2 * u
        tilt = final * u ** 2
    bounce = _D(4) * np.sin(np.pi * np.clip((t - t0 - d) / 0.25, 0, 1))
    p["tilt"] = tilt + bounce * (u >= 1)
    p["tilt_dir"] = t * 0 + direction
    after = smoothstep(u * 1.5)
    for side in "lr":
        knee = rng.uniform(_D(30), _D(80)) * k
        p[side + "ta"] = p[side + "ta"] * (1 - after) + (knee * 0.8 + _D(5)) * after
        p[side + "sa"] = p[side + "sa"] * (1 - after) + (-knee * 0.4) * after
        p[side + "tb"] = p[side + "tb"] * (1 - after) + _D(90) * after
        p[side + "sb"] = p[side + "sb"] * (1 - after) + _D(90) * after
        arm = np.array([rng.uniform(_D(40), _D(140)), rng.uniform(_D(0), _D(90)),
                        rng.uniform(_D(40), _D(160)), rng.uniform(_D(0), _D(90))])
        for j, key in enumerate(("ua", "ub", "fa", "fb")):
            p[side + key] = p[side + key] * (1 - after) + arm[j] * after
    p["pitch"] = p["pitch"] * (1 - after) + rng.uniform(-_D(15), _D(30)) * after
    if walking:  # stop moving once down: the path speed is scaled in generate()
        p["_speed_scale"] = 1 - smoothstep(u * 1.2)
    return p, v


def _m_lying(rng, t, body, dur) -> tuple[Pose, float]:
    p = base_pose(t, 0.0)
    p["tilt"] = rng.uniform(_D(80), _D(95)) + slow_drift(rng, t, _D(2))
    p["tilt_dir"] = t * 0 + rng.choice([0.0, np.pi, np.pi / 2, -np.pi / 2]) + rng.normal(0, 0.2)
    for side in "lr":
        if rng.random() < 0.4:  # knees up
            a = rng.uniform(_D(30), _D(80))
            p[side + "ta"], p[side + "sa"] = t * 0 + a, t * 0 + a - rng.uniform(_D(60), _D(120))
        else:
            p[side + "ta"] = t * 0 + rng.uniform(0, _D(25))
            p[side + "sa"] = p[side + "ta"] - rng.uniform(0, _D(20))
        p[side + "ta"] = p[side + "ta"] + slow_drift(rng, t, _D(4))
    idle_arms(rng, p, t, allow_raised=True)
    p["head_yaw"] = rng.uniform(-0.6, 0.6) + slow_drift(rng, t, _D(10))
    return p, 0.0


MOTIONS: dict[str, Callable] = {
    "standing": _m_standing, "walking": _m_walking, "running": _m_running, "waving": _m_waving,
    "jumping": _m_jumping, "sitting_down": _m_sitting_down, "standing_up": _m_standing_up,
    "squatting": _m_squatting, "falling": _m_falling, "sitting": _m_sitting, "lying": _m_lying,
}
