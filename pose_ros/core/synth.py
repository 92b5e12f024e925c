"""Procedural skeleton motion: labelled COCO-17 tracks as a pose estimator would report them.

A 3D kinematic body (pelvis, trunk, head, two-segment arms and legs; randomised
height, limb ratios, shoulder and hip width) moves with a parameterised motion per
action class, is filmed by a random pinhole camera and projected to pixels; then an
estimator model adds what real backends do: keypoint noise (white and slowly
drifting), per-keypoint scores (lower for the far side of the body, the face seen
from behind, extremities and small people), dropouts (single joints, limb bursts,
whole missed frames), rare outliers and left/right swaps, close framing that
hides everything below an image line (a fifth of the tracks: upper body only, or a
table in front), a slowly panning camera (15 %), and irregular stamps (10-30 fps
with jitter and dropped frames).

Classes (:data:`LABELS`, the same as ``pose_ros.core.actions.LEARNED_CLASSES``):

* ``standing``: idle sway, weight shifts, head turns, static or slowly changing arm
  poses (hanging, hands in front / on hips, arms crossed, pointing, hand up, phone);
* ``walking``: gait cycle (speed 0.4-1.9 m/s, cadence, stride, arm swing 0-35 deg,
  slight turns), any heading relative to the camera;
* ``running``: 2-5 m/s, flight phase, bent elbows, forward lean;
* ``waving``: one arm (sometimes both) waving 1-3 Hz, forearm, overhead or low wave;
* ``jumping``: jumping jacks (0.6-2 Hz, full or half arm range) and plain jumps
  (repeated hops, one counter-movement jump);
* ``sitting_down`` / ``standing_up``: chair transition of 0.7-1.7 s inside the window;
* ``squatting``: repeated squats, or going down and holding a deep squat;
* ``falling``: upright (standing or walking) to lying within 0.4-1.2 s, forward,
  backward or sideways, sometimes collapsing at the knees first;
* ``sitting`` / ``lying``: static postures with small movements.

``generate("unknown", rng)`` makes junk tracks (random points, heavy jitter, random
walks, scrambled joints, near-empty skeletons) for the classifier's reject class.

Viewpoints: the camera stands anywhere around the person (yaw relative to the
person's heading), from 25 deg below to 40 deg above the body centre, at a distance
giving 60 px to full-image-height people, with a 45-100 deg horizontal field of
view, off-centre placement and a small roll. ``split="train"`` and ``split="test"``
are disjoint: the test split only uses held-out camera yaw bands
(:data:`HELDOUT_YAW_BANDS`), a held-out elevation band and a held-out body-height
band, so a test score measures generalisation to unseen viewpoints and bodies.

Everything is deterministic from the generator passed in (``make_dataset`` derives
one generator per sample from the seed, so a sample does not depend on the others).
No rclpy, no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pose_ros.core.skeleton import COCO17_FLIP, COCO17_SIGMAS, NUM_COCO17, Coco

LABELS: tuple[str, ...] = (
    "standing", "walking", "running", "waving", "jumping", "sitting_down", "standing_up",
    "squatting", "falling", "sitting", "lying")
JUNK = "unknown"

IMAGE_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (960, 540), (1280, 720), (1920, 1080), (848, 480))
# Held out of the training split (degrees of camera yaw around the person, 0 = in front).
HELDOUT_YAW_BANDS: tuple[tuple[float, float], ...] = ((37.5, 52.5), (127.5, 142.5), (217.5, 232.5),
                                                      (307.5, 322.5))
ELEVATION_RANGE = (-25.0, 40.0)
HELDOUT_ELEVATION = (10.0, 16.0)
HEIGHT_RANGE = (1.45, 2.0)
HELDOUT_HEIGHT = (1.62, 1.70)

_G = 9.81
_D = np.radians
C = Coco


# ------------------------------------------------------------------------------ body
@dataclass
class Body:
    height: float
    thigh: float
    shin: float
    upper_arm: float
    forearm: float
    trunk: float        # hip centre -> shoulder centre
    shoulder_w: float
    hip_w: float
    neck: float         # shoulder centre -> nose, along the trunk
    head_fwd: float     # nose in front of the neck axis
    ankle_h: float


def _uniform_except(rng: np.random.Generator, lo: float, hi: float,
                    holes: tuple[tuple[float, float], ...]) -> float:
    """Uniform on [lo, hi] minus the holes (exact: sample the remaining length)."""
    pieces, a = [], lo
    for h0, h1 in sorted(holes):
        if h1 <= a or h0 >= hi:
            continue
        if h0 > a:
            pieces.append((a, h0))
        a = max(a, h1)
    if a < hi:
        pieces.append((a, hi))
    lengths = np.array([b - a for a, b in pieces])
    u = rng.uniform(0.0, lengths.sum())
    k = int(np.searchsorted(np.cumsum(lengths), u, side="right"))
    k = min(k, len(pieces) - 1)
    return pieces[k][0] + u - (lengths[:k].sum() if k else 0.0)


def _from_bands(rng: np.random.Generator, bands: tuple[tuple[float, float], ...]) -> float:
    lengths = np.array([b - a for a, b in bands])
    k = int(rng.choice(len(bands), p=lengths / lengths.sum()))
    return float(rng.uniform(*bands[k]))


def random_body(rng: np.random.Generator, split: str = "train") -> Body:
    """Random adult proportions (segment lengths as fractions of height, +-~8 %)."""
    if split == "test":
        h = rng.uniform(*HELDOUT_HEIGHT)
    elif split == "train":
        h = _uniform_except(rng, *HEIGHT_RANGE, (HELDOUT_HEIGHT,))
    else:
        h = rng.uniform(*HEIGHT_RANGE)
    leg = rng.uniform(0.93, 1.07)
    arm = rng.uniform(0.92, 1.08)
    j = lambda: rng.uniform(0.95, 1.05)  # noqa: E731
    return Body(height=h, thigh=0.245 * h * leg * j(), shin=0.246 * h * leg * j(),
                upper_arm=0.186 * h * arm * j(), forearm=0.146 * h * arm * j(),
                trunk=0.29 * h * rng.uniform(0.92, 1.08), shoulder_w=0.215 * h * rng.uniform(0.85, 1.15),
                hip_w=0.115 * h * rng.uniform(0.8, 1.2), neck=0.105 * h * j(), head_fwd=0.045 * h * j(),
                ankle_h=0.039 * h)


# ----------------------------------------------------------------------- pose tracks
class Pose(dict):
    """Per-frame angle tracks (radians, arrays of shape (T,)) for :func:`forward_kinematics`.

    Arms and legs use (elevation ``a``, azimuth ``b``) of each segment in the trunk
    (arms) or pelvis (legs) frame: a = 0 hangs down, pi points up; b = 0 is sideways
    out, pi/2 forward; a negative ``a`` swings backward. Keys: heading, pitch (trunk
    forward lean), roll, head_yaw, l/r + ua, ub (upper arm), fa, fb (forearm), ta, tb
    (thigh), sa, sb (shin); flight (m above the ground contact), tilt (whole-body
    rotation about the feet, rad) and tilt_dir (direction of that tilt relative to
    heading: 0 forward, pi backward, +-pi/2 to the person's left / right).
    ``meta`` holds the motion's drawn parameters (for analysis).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meta: dict = {}


def _base(t: np.ndarray, heading: float) -> Pose:
    z = np.zeros_like(t)
    p = Pose(heading=z + heading, pitch=z.copy(), roll=z.copy(), head_yaw=z.copy(),
             flight=z.copy(), tilt=z.copy(), tilt_dir=z.copy())
    for s in "lr":
        p[s + "ua"], p[s + "ub"] = z + _D(6), z + _D(10)
        p[s + "fa"], p[s + "fb"] = z + _D(12), z + _D(60)
        p[s + "ta"], p[s + "tb"] = z + _D(2), z + _D(90)
        p[s + "sa"], p[s + "sb"] = z + _D(-1), z + _D(90)
    return p


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _slow(rng: np.random.Generator, t: np.ndarray, amp: float, f_lo: float = 0.1, f_hi: float = 0.6,
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


def _idle_arms(rng: np.random.Generator, p: Pose, t: np.ndarray, allow_raised: bool = True) -> None:
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
            s = _smoothstep((t - t0) / rng.uniform(0.5, 1.5))[:, None]
            ang = a[None] * (1 - s) + b[None] * s
        else:
            ang = np.broadcast_to(a, (len(t), 4)).copy()
        for k, key in enumerate(("ua", "ub", "fa", "fb")):
            p[side + key] = _D(ang[:, k]) + _slow(rng, t, _D(3), 0.2, 1.0)


def _stand_legs(rng: np.random.Generator, p: Pose, t: np.ndarray) -> None:
    """Straight or slightly bent legs, feet a little apart (abduction + flexion combined)."""
    wide = rng.uniform(0, _D(8))
    for side in "lr":
        bend = rng.uniform(0, _D(10)) if rng.random() < 0.5 else 0.0
        p[side + "ta"] = math.hypot(wide, bend) + _slow(rng, t, _D(1.5))
        p[side + "tb"] = t * 0 + math.atan2(bend, wide)
        p[side + "sa"] = t * 0 + math.hypot(wide, 0.5 * bend)
        p[side + "sb"] = t * 0 + math.atan2(-0.5 * bend, wide)


# --------------------------------------------------------------------- motion models
def _m_standing(rng, t, body, dur) -> tuple[Pose, float]:
    p = _base(t, 0.0)
    _stand_legs(rng, p, t)
    p["pitch"] = rng.uniform(-_D(3), _D(8)) + _slow(rng, t, _D(2))
    p["roll"] = _slow(rng, t, _D(2))
    p["head_yaw"] = rng.uniform(-0.4, 0.4) + _slow(rng, t, _D(15), 0.1, 0.5)
    _idle_arms(rng, p, t)
    if rng.random() < 0.2:  # a small shuffle / weight shift with one foot lifted briefly
        side = "lr"[rng.integers(2)]
        t0, d = rng.uniform(0, max(dur - 0.5, 0.1)), rng.uniform(0.3, 0.6)
        bump = np.sin(np.pi * np.clip((t - t0) / d, 0, 1))
        p[side + "ta"] = p[side + "ta"] + _D(20) * bump
        p[side + "tb"] = p[side + "tb"] * 0 + _D(90)
        p[side + "sa"] = p[side + "sa"] - _D(25) * bump
        p[side + "sb"] = p[side + "tb"]
    return p, 0.0


def _gait(rng, t, p: Pose, f_stride: float, hip_amp: float, hip_bias: float, knee_sw: float,
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


def _m_walking(rng, t, body, dur) -> tuple[Pose, float]:
    v = rng.uniform(0.4, 1.9)
    cadence = np.clip(1.35 + 0.45 * v + rng.normal(0, 0.12), 1.2, 2.4)   # steps / s
    step = v / cadence
    leg = body.thigh + body.shin
    hip_amp = np.clip(0.55 * step / leg, _D(8), _D(32))
    p = _base(t, 0.0)
    arm_amp = np.array([rng.uniform(0, _D(35))] * 2) * rng.uniform(0.7, 1.3, 2)
    elbow = rng.uniform(_D(8), _D(40), 2)
    if rng.random() < 0.2:  # one arm busy (phone, carrying, pocket)
        k = rng.integers(2)
        arm_amp[k] = _D(3)
        elbow[k] = rng.uniform(_D(20), _D(110))
    _gait(rng, t, p, cadence / 2, hip_amp, _D(4), rng.uniform(_D(45), _D(65)), _D(12), arm_amp, elbow)
    p["pitch"] = p["pitch"] + rng.uniform(-_D(2), _D(8))
    p["roll"] = _D(2) * np.sin(np.pi * cadence * t)
    p["head_yaw"] = rng.uniform(-0.3, 0.3) + _slow(rng, t, _D(10))
    turn = rng.normal(0, _D(12))
    p["heading"] = p["heading"] + turn * (t - dur / 2)
    return p, v


def _m_running(rng, t, body, dur) -> tuple[Pose, float]:
    v = rng.uniform(2.0, 5.0)
    cadence = np.clip(2.5 + 0.15 * v + rng.normal(0, 0.12), 2.4, 3.6)
    hip_amp = rng.uniform(_D(28), _D(45))
    p = _base(t, 0.0)
    arm_amp = np.array([rng.uniform(_D(25), _D(50))] * 2) * rng.uniform(0.85, 1.15, 2)
    elbow = rng.uniform(_D(65), _D(105), 2)
    phase = _gait(rng, t, p, cadence / 2, hip_amp, _D(12), rng.uniform(_D(80), _D(120)),
                  rng.uniform(_D(20), _D(35)), arm_amp, elbow)
    p["pitch"] = p["pitch"] + rng.uniform(_D(4), _D(16))
    p["flight"] = rng.uniform(0.03, 0.10) * np.maximum(0, np.sin(2 * phase + 0.6)) ** 1.5
    p["roll"] = _D(3) * np.sin(phase)
    p["heading"] = p["heading"] + rng.normal(0, _D(8)) * (t - dur / 2)
    return p, v


def _m_waving(rng, t, body, dur) -> tuple[Pose, float]:
    p, _ = _m_standing(rng, t, body, dur)
    _idle_arms(rng, p, t, allow_raised=False)
    sides = ["l", "r"] if rng.random() < 0.15 else ["lr"[rng.integers(2)]]
    f = rng.uniform(1.0, 3.0)
    ph0 = rng.uniform(0, 2 * np.pi)
    t_up = rng.uniform(-0.5, 0.4)                           # arm raised at t_up (may be before the clip)
    up = _smoothstep((t - t_up) / rng.uniform(0.2, 0.4))
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
    p = _base(t, 0.0)
    p["head_yaw"] = rng.uniform(-0.3, 0.3) + _slow(rng, t, _D(5))
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


def _chair_pose(rng) -> dict[str, float]:
    if rng.random() < 0.15:  # on the floor, legs forward
        return dict(ta=_D(90), sa=rng.uniform(_D(45), _D(90)), pitch=rng.uniform(-_D(10), _D(20)))
    return dict(ta=rng.uniform(_D(70), _D(100)), sa=rng.uniform(-_D(20), _D(30)),
                pitch=rng.uniform(-_D(12), _D(15)))


def _sit_arms(rng, p: Pose, t: np.ndarray, s: np.ndarray) -> None:
    """Arms from hanging (s=0) to resting on the thighs / armrests (s=1)."""
    for side in "lr":
        rest = np.array([rng.uniform(_D(10), _D(40)), rng.uniform(_D(40), _D(90)),
                         rng.uniform(_D(50), _D(100)), rng.uniform(_D(60), _D(95))])
        for k, key in enumerate(("ua", "ub", "fa", "fb")):
            p[side + key] = p[side + key] * (1 - s) + rest[k] * s + _slow(rng, t, _D(3))


def _transition(rng, t, dur, reverse: bool) -> tuple[Pose, np.ndarray]:
    p = _base(t, 0.0)
    chair = _chair_pose(rng)
    d = rng.uniform(0.7, 1.7)
    lo = max(0.0, dur - 2.0) + 0.05
    t0 = rng.uniform(lo, max(lo, dur - d - 0.1))
    s = _smoothstep((t - t0) / d)
    if reverse:
        s = 1 - s
    lean = rng.uniform(_D(20), _D(45)) * 4 * s * (1 - s)
    for side in "lr":
        p[side + "ta"] = chair["ta"] * s + _D(2)
        p[side + "sa"] = chair["sa"] * s - _D(1) + _D(10) * 4 * s * (1 - s)
    p["pitch"] = chair["pitch"] * s + lean + _slow(rng, t, _D(2))
    p["head_yaw"] = rng.uniform(-0.3, 0.3) + _slow(rng, t, _D(8))
    _sit_arms(rng, p, t, s if rng.random() < 0.7 else s * 0)
    return p, s


def _m_sitting_down(rng, t, body, dur):
    return _transition(rng, t, dur, False)[0], 0.0


def _m_standing_up(rng, t, body, dur):
    return _transition(rng, t, dur, True)[0], 0.0


def _m_sitting(rng, t, body, dur) -> tuple[Pose, float]:
    p = _base(t, 0.0)
    chair = _chair_pose(rng)
    for side in "lr":
        p[side + "ta"] = chair["ta"] + _slow(rng, t, _D(3))
        p[side + "sa"] = chair["sa"] + rng.normal(0, _D(8)) + _slow(rng, t, _D(4))
        p[side + "tb"] = p[side + "tb"] + rng.normal(0, _D(8))
    p["pitch"] = chair["pitch"] + _slow(rng, t, _D(3))
    p["roll"] = _slow(rng, t, _D(2))
    p["head_yaw"] = rng.uniform(-0.5, 0.5) + _slow(rng, t, _D(15))
    if rng.random() < 0.5:
        _sit_arms(rng, p, t, t * 0 + 1)
    else:
        _idle_arms(rng, p, t)
    return p, 0.0


def _m_squatting(rng, t, body, dur) -> tuple[Pose, float]:
    p = _base(t, 0.0)
    kind = rng.choice(["reps", "hold", "down"], p=[0.6, 0.25, 0.15])
    ta_max = rng.uniform(_D(85), _D(130))
    sa_max = rng.uniform(_D(15), _D(45))
    lean = rng.uniform(_D(20), _D(55))
    if kind == "reps":
        per = rng.uniform(1.2, 3.5)
        s = 0.5 - 0.5 * np.cos(2 * np.pi * t / per + rng.uniform(0, 2 * np.pi))
    elif kind == "hold":
        s = 0.9 + 0.1 * np.abs(_slow(rng, t, 1.0))
    else:
        t0 = rng.uniform(max(0.0, dur - 2.0), max(0.05, dur - 1.2))
        s = _smoothstep((t - t0) / rng.uniform(0.5, 1.0))
    for side in "lr":
        wide = rng.uniform(_D(10), _D(30))
        p[side + "ta"], p[side + "tb"] = ta_max * s + _D(2), t * 0 + _D(90) - wide
        p[side + "sa"], p[side + "sb"] = -sa_max * s, t * 0 + _D(90) - wide * 0.5
    p["pitch"] = lean * s + _slow(rng, t, _D(2))
    if rng.random() < 0.5:  # arms forward for balance
        for side in "lr":
            a = rng.uniform(_D(60), _D(100))
            p[side + "ua"] = p[side + "ua"] * (1 - s) + a * s
            p[side + "ub"] = t * 0 + _D(85)
            p[side + "fa"] = p[side + "fa"] * (1 - s) + (a + _D(5)) * s
            p[side + "fb"] = t * 0 + _D(85)
    else:
        _idle_arms(rng, p, t, allow_raised=False)
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
        k = _smoothstep(u / 0.5)
        tilt = final * np.clip((u - 0.3) / 0.7, 0, 1) ** 1.7
    else:
        k = 0.4 * np.sin(np.pi * u) + 0.2 * u
        tilt = final * u ** 2
    bounce = _D(4) * np.sin(np.pi * np.clip((t - t0 - d) / 0.25, 0, 1))
    p["tilt"] = tilt + bounce * (u >= 1)
    p["tilt_dir"] = t * 0 + direction
    after = _smoothstep(u * 1.5)
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
        p["_speed_scale"] = 1 - _smoothstep(u * 1.2)
    return p, v


def _m_lying(rng, t, body, dur) -> tuple[Pose, float]:
    p = _base(t, 0.0)
    p["tilt"] = rng.uniform(_D(80), _D(95)) + _slow(rng, t, _D(2))
    p["tilt_dir"] = t * 0 + rng.choice([0.0, np.pi, np.pi / 2, -np.pi / 2]) + rng.normal(0, 0.2)
    for side in "lr":
        if rng.random() < 0.4:  # knees up
            a = rng.uniform(_D(30), _D(80))
            p[side + "ta"], p[side + "sa"] = t * 0 + a, t * 0 + a - rng.uniform(_D(60), _D(120))
        else:
            p[side + "ta"] = t * 0 + rng.uniform(0, _D(25))
            p[side + "sa"] = p[side + "ta"] - rng.uniform(0, _D(20))
        p[side + "ta"] = p[side + "ta"] + _slow(rng, t, _D(4))
    _idle_arms(rng, p, t, allow_raised=True)
    p["head_yaw"] = rng.uniform(-0.6, 0.6) + _slow(rng, t, _D(10))
    return p, 0.0


MOTIONS: dict[str, Callable] = {
    "standing": _m_standing, "walking": _m_walking, "running": _m_running, "waving": _m_waving,
    "jumping": _m_jumping, "sitting_down": _m_sitting_down, "standing_up": _m_standing_up,
    "squatting": _m_squatting, "falling": _m_falling, "sitting": _m_sitting, "lying": _m_lying,
}
assert tuple(MOTIONS) == LABELS


# ------------------------------------------------------------------ kinematics
def _dir(a: np.ndarray, b: np.ndarray, out: np.ndarray, up: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    a, b = a[:, None], b[:, None]
    return -np.cos(a) * up + np.sin(a) * (np.cos(b) * out + np.sin(b) * fwd)


def forward_kinematics(body: Body, p: Pose) -> np.ndarray:
    """(T, 17, 3) joint positions (metres, z up) with the pelvis at the origin, before ground contact.

    The whole-body tilt rotates about the ankle centre.
    """
    psi = np.asarray(p["heading"], float)
    n = len(psi)
    z = np.zeros(n)
    fwd0 = np.stack([np.cos(psi), np.sin(psi), z], 1)
    left0 = np.stack([-np.sin(psi), np.cos(psi), z], 1)
    up0 = np.tile([0.0, 0.0, 1.0], (n, 1))
    pc, rc = p["pitch"][:, None], p["roll"][:, None]
    up_t = np.cos(pc) * up0 + np.sin(pc) * fwd0
    fwd_t = np.cos(pc) * fwd0 - np.sin(pc) * up0
    up_r = np.cos(rc) * up_t - np.sin(rc) * left0
    left_r = np.cos(rc) * left0 + np.sin(rc) * up_t
    j = np.zeros((n, NUM_COCO17, 3))
    j[:, C.LEFT_HIP] = body.hip_w / 2 * left0
    j[:, C.RIGHT_HIP] = -body.hip_w / 2 * left0
    neck = body.trunk * up_r
    j[:, C.LEFT_SHOULDER] = neck + body.shoulder_w / 2 * left_r
    j[:, C.RIGHT_SHOULDER] = neck - body.shoulder_w / 2 * left_r
    for s, sign, sh, el, wr, hp, kn, an in (
            ("l", 1.0, C.LEFT_SHOULDER, C.LEFT_ELBOW, C.LEFT_WRIST, C.LEFT_HIP, C.LEFT_KNEE, C.LEFT_ANKLE),
            ("r", -1.0, C.RIGHT_SHOULDER, C.RIGHT_ELBOW, C.RIGHT_WRIST, C.RIGHT_HIP, C.RIGHT_KNEE,
             C.RIGHT_ANKLE)):
        j[:, el] = j[:, sh] + body.upper_arm * _dir(p[s + "ua"], p[s + "ub"], sign * left_r, up_r, fwd_t)
        j[:, wr] = j[:, el] + body.forearm * _dir(p[s + "fa"], p[s + "fb"], sign * left_r, up_r, fwd_t)
        j[:, kn] = j[:, hp] + body.thigh * _dir(p[s + "ta"], p[s + "tb"], sign * left0, up0, fwd0)
        j[:, an] = j[:, kn] + body.shin * _dir(p[s + "sa"], p[s + "sb"], sign * left0, up0, fwd0)
    hy = p["head_yaw"][:, None]
    hf = np.cos(hy) * fwd_t + np.sin(hy) * left_r
    hl = np.cos(hy) * left_r - np.sin(hy) * fwd_t
    h = body.height
    nose = neck + body.neck * up_r + body.head_fwd * hf
    j[:, C.NOSE] = nose
    j[:, C.LEFT_EYE] = nose + 0.018 * h * up_r - 0.012 * h * hf + 0.018 * h * hl
    j[:, C.RIGHT_EYE] = nose + 0.018 * h * up_r - 0.012 * h * hf - 0.018 * h * hl
    j[:, C.LEFT_EAR] = nose + 0.008 * h * up_r - 0.055 * h * hf + 0.042 * h * hl
    j[:, C.RIGHT_EAR] = nose + 0.008 * h * up_r - 0.055 * h * hf - 0.042 * h * hl
    tilt = np.asarray(p["tilt"], float)
    if np.any(tilt != 0):
        td = p["tilt_dir"][:, None]
        dvec = np.cos(td) * fwd0 + np.sin(td) * left0
        k = np.cross(up0, dvec)
        k /= np.linalg.norm(k, axis=1, keepdims=True)
        piv = 0.5 * (j[:, C.LEFT_ANKLE] + j[:, C.RIGHT_ANKLE])
        v = j - piv[:, None]
        c, s_ = np.cos(tilt)[:, None, None], np.sin(tilt)[:, None, None]
        kk = k[:, None, :]
        v = v * c + np.cross(kk, v) * s_ + kk * np.sum(kk * v, axis=2, keepdims=True) * (1 - c)
        j = v + piv[:, None]
    return j


def _place(body: Body, p: Pose, j: np.ndarray, t: np.ndarray, speed: float,
           start_xy: np.ndarray) -> np.ndarray:
    """Put the body on the ground (contact + flight) and move it along its path."""
    clear = np.full(NUM_COCO17, 0.07)
    clear[[C.LEFT_ANKLE, C.RIGHT_ANKLE]] = body.ankle_h
    zoff = np.max(clear[None] - j[:, :, 2], axis=1) + p["flight"]
    j = j.copy()
    j[:, :, 2] += zoff[:, None]
    if speed > 0:
        scale = p.get("_speed_scale", np.ones_like(t))
        dt = np.diff(t, prepend=t[0])
        psi = p["heading"]
        xy = start_xy[None] + np.cumsum(np.stack([np.cos(psi), np.sin(psi)], 1)
                                        * (speed * scale * dt)[:, None], axis=0)
        j[:, :, :2] += xy[:, None]
    else:  # feet stay where they are
        feet = 0.5 * (j[:, C.LEFT_ANKLE, :2] + j[:, C.RIGHT_ANKLE, :2])
        j[:, :, :2] += (start_xy[None] - feet[0:1])
        # a standing body does not slide: anchor the feet at every frame unless it tilts over
        if not np.any(p["tilt"] != 0):
            j[:, :, :2] += (feet[0:1] - feet)[:, None]
    return j


# ------------------------------------------------------------------------ camera
@dataclass
class Camera:
    f: float
    width: int
    height: int
    centre: np.ndarray      # (3,) world
    R: np.ndarray           # (3, 3) rows: camera x (right), y (down), z (forward) in world
    offset: np.ndarray      # (2,) pixel shift of the principal point (off-centre framing)
    yaw_deg: float
    elevation_deg: float
    pan: float = 0.0        # rad/s the camera turns about the vertical (a robot head panning)

    def project(self, pts: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
        """(T, ..., 3) world -> (T, ..., 3) u, v, depth; ``t`` (T,) seconds for a panning camera."""
        rel = pts - self.centre
        if self.pan and t is not None:
            a = self.pan * (np.asarray(t, float) - float(np.mean(t)))
            ca, sa = np.cos(a), np.sin(a)
            shape = (-1,) + (1,) * (rel.ndim - 2)
            ca, sa = ca.reshape(shape), sa.reshape(shape)
            x, y = rel[..., 0], rel[..., 1]
            rel = np.stack([ca * x + sa * y, -sa * x + ca * y, rel[..., 2]], -1)
        c = rel @ self.R.T
        d = c[..., 2]
        safe = np.where(d > 0.1, d, np.nan)
        u = self.f * c[..., 0] / safe + self.width / 2 + self.offset[0]
        v = self.f * c[..., 1] / safe + self.height / 2 + self.offset[1]
        return np.stack([u, v, d], -1)


def random_camera(rng: np.random.Generator, body: Body, target: np.ndarray, heading: float,
                  path_len: float, split: str = "train", image_size: tuple[int, int] | None = None) -> Camera:
    if image_size is None:
        image_size = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    w, h = image_size
    if split == "test":
        yaw = _from_bands(rng, HELDOUT_YAW_BANDS)
        elev = rng.uniform(*HELDOUT_ELEVATION)
    elif split == "train":
        yaw = _uniform_except(rng, 0.0, 360.0, HELDOUT_YAW_BANDS)
        elev = _uniform_except(rng, *ELEVATION_RANGE, (HELDOUT_ELEVATION,))
    else:
        yaw, elev = rng.uniform(0, 360), rng.uniform(*ELEVATION_RANGE)
    hfov = _D(rng.uniform(45, 100))
    f = w / 2 / math.tan(hfov / 2)
    px = math.exp(rng.uniform(math.log(60), math.log(0.92 * h)))   # person height in pixels
    dist = f * body.height / px
    if rng.random() < 0.75:  # keep most of the path in view
        dist = max(dist, 0.5 * path_len / (0.9 * math.tan(hfov / 2)))
    dist = max(dist, 1.2, 0.6 * path_len + 1.0)
    az = heading + _D(yaw)
    e = _D(elev)
    centre = target + dist * np.array([math.cos(az) * math.cos(e), math.sin(az) * math.cos(e), math.sin(e)])
    zc = target - centre
    zc /= np.linalg.norm(zc)
    xc = np.cross(zc, [0.0, 0.0, 1.0])
    xc /= np.linalg.norm(xc)
    yc = np.cross(zc, xc)
    roll = _D(rng.normal(0, 2.5))
    xr = math.cos(roll) * xc + math.sin(roll) * yc
    yr = -math.sin(roll) * xc + math.cos(roll) * yc
    offset = np.array([rng.uniform(-0.3, 0.3) * w, rng.uniform(-0.2, 0.2) * h])
    pan = _D(rng.normal(0, 8)) if rng.random() < 0.15 else 0.0
    return Camera(f, w, h, centre, np.stack([xr, yr, zc]), offset, yaw, elev, pan)


# ------------------------------------------------------------------- estimator model
_JOINT_SCORE = np.array([0.95, 0.93, 0.93, 0.85, 0.85, 0.95, 0.95, 0.85, 0.85, 0.75, 0.75,
                         0.85, 0.85, 0.82, 0.82, 0.72, 0.72])
_LIMBS = ((C.LEFT_ELBOW, C.LEFT_WRIST), (C.RIGHT_ELBOW, C.RIGHT_WRIST), (C.LEFT_KNEE, C.LEFT_ANKLE),
          (C.RIGHT_KNEE, C.RIGHT_ANKLE), (C.LEFT_WRIST,), (C.RIGHT_WRIST,), (C.LEFT_ANKLE,), (C.RIGHT_ANKLE,))


def _stamps(rng: np.random.Generator, duration: float, fps: float | None, jitter: bool) -> np.ndarray:
    fps = float(rng.uniform(10, 30)) if fps is None else float(fps)
    if not jitter:
        n = int(math.floor(duration * fps + 1e-6)) + 1
        return np.arange(n) / fps
    sd = rng.uniform(0.0, 0.15)
    n = int(duration * fps * 1.5) + 4
    dt = np.clip(1.0 / fps * (1 + rng.normal(0, sd, n)), 0.2 / fps, None)
    s = np.concatenate([[0.0], np.cumsum(dt)])
    s = s[s <= duration + 1e-9]
    drop = rng.random(len(s)) < rng.uniform(0.0, 0.1)
    drop[-1] = False                        # the window ends at the newest sample
    return s[~drop]


def _estimator(rng: np.random.Generator, uvd: np.ndarray, world: np.ndarray, cam: Camera,
               noise: bool) -> np.ndarray:
    """(T, 17, 3) pixels + scores like a pose backend reports them (NaN / 0 when missing)."""
    n = uvd.shape[0]
    uv = uvd[..., :2].copy()
    px = np.nanmedian(np.nanmax(uv[..., 1], 1) - np.nanmin(uv[..., 1], 1)) if n else 100.0
    px = max(float(px) if np.isfinite(px) else 100.0, 10.0)
    score = np.broadcast_to(_JOINT_SCORE, (n, NUM_COCO17)).copy()
    # Far side of the body and the face seen from behind score lower.
    to_cam = cam.centre[None] - world.mean(axis=1)
    to_cam /= np.linalg.norm(to_cam, axis=1, keepdims=True)
    lr = world[:, C.LEFT_SHOULDER] - world[:, C.RIGHT_SHOULDER] + world[:, C.LEFT_HIP] - world[:, C.RIGHT_HIP]
    lr /= np.maximum(np.linalg.norm(lr, axis=1, keepdims=True), 1e-6)
    side = np.sum(lr * to_cam, axis=1)                # > 0: the left side faces the camera
    face = world[:, C.NOSE] - 0.5 * (world[:, C.LEFT_EAR] + world[:, C.RIGHT_EAR])
    face /= np.maximum(np.linalg.norm(face, axis=1, keepdims=True), 1e-6)
    facing = np.sum(face * to_cam, axis=1)
    left = np.array([i for i in range(NUM_COCO17) if COCO17_FLIP[i] > i])
    right = COCO17_FLIP[left]
    if noise:
        score[:, left] *= (1 - 0.35 * np.clip(-side, 0, 1))[:, None]
        score[:, right] *= (1 - 0.35 * np.clip(side, 0, 1))[:, None]
        score[:, :3] *= (1 - 0.6 * np.clip(-facing, 0, 1))[:, None]
        quality = rng.uniform(0.55, 1.0) * np.clip(0.6 + px / 400, 0.6, 1.0)
        score = score * quality + rng.normal(0, 0.07, score.shape) + _slow_noise(rng, n, (NUM_COCO17,), 0.05)
        # position noise: white + slowly drifting, per-joint like COCO sigmas, worse for small people
        rel = rng.uniform(0.004, 0.025) * (1 + 40 / px)
        sig = (COCO17_SIGMAS / 0.079)[None, :, None] * rel * px
        uv = uv + rng.normal(0, 1, uv.shape) * sig + _slow_noise(rng, n, (NUM_COCO17, 2), 1.0) * sig
        # outliers: a joint jumps away with a low score
        out = rng.random((n, NUM_COCO17)) < rng.uniform(0, 0.015)
        uv[out] += rng.normal(0, 0.2 * px, (int(out.sum()), 2))
        score[out] = rng.uniform(0.05, 0.4, int(out.sum()))
        # left/right confusions in bursts, mostly in side views
        if rng.random() < 0.3 * float(np.mean(np.abs(side) < 0.5)) + 0.05:
            a = rng.integers(n)
            b = min(n, a + int(rng.integers(1, 6)))
            idx = np.arange(a, b)
            uv[idx] = uv[idx][:, COCO17_FLIP]
        # dropouts: single joints, and a limb missing for a while
        drop = rng.random((n, NUM_COCO17)) < rng.uniform(0.0, 0.12)
        for _ in range(int(rng.poisson(0.8))):
            limb = _LIMBS[rng.integers(len(_LIMBS))]
            a = rng.integers(n)
            drop[a:a + int(rng.integers(2, 12)), list(limb)] = True
        score[drop] = 0.0
    score = np.clip(score, 0.0, 1.0)
    outside = ~np.isfinite(uv).all(-1) | (uv[..., 0] < 0) | (uv[..., 1] < 0) | \
        (uv[..., 0] >= cam.width) | (uv[..., 1] >= cam.height)
    if noise and n and rng.random() < 0.2:
        # framed close or behind a table: everything below a fixed image line is unseen
        with np.errstate(invalid="ignore"):
            top = np.nanmedian(np.nanmin(uvd[..., 1], axis=1))
            outside |= uv[..., 1] > top + rng.uniform(0.3, 0.85) * px
    score[outside] = 0.0
    kp = np.concatenate([uv, score[..., None]], -1).astype(np.float32)
    miss = kp[..., 2] < 0.05
    kp[miss, :2] = np.nan
    kp[miss, 2] = 0.0
    return kp


def _slow_noise(rng: np.random.Generator, n: int, shape: tuple[int, ...], sd: float) -> np.ndarray:
    """AR(1) noise along the first axis (correlated over a few frames)."""
    rho = rng.uniform(0.6, 0.95)
    e = rng.normal(0, sd * math.sqrt(1 - rho * rho), (n,) + shape)
    out = np.empty_like(e)
    acc = rng.normal(0, sd, shape)
    for i in range(n):
        acc = rho * acc + e[i]
        out[i] = acc
    return out


# ------------------------------------------------------------------------- junk
def _junk(rng: np.random.Generator, stamps: np.ndarray, split: str) -> np.ndarray:
    n = len(stamps)
    w, h = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    kind = rng.choice(["uniform", "cloud", "walk", "scrambled", "sparse"])
    c = np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h])
    size = rng.uniform(40, 0.8 * h)
    if kind == "uniform":
        uv = c + rng.uniform(-size, size, (n, NUM_COCO17, 2))
    elif kind == "cloud":      # a fixed random constellation, from steady to very jittery
        uv = c + rng.normal(0, size / 3, (1, NUM_COCO17, 2)) + rng.normal(
            0, size * rng.uniform(0.005, 0.25), (n, NUM_COCO17, 2))
    elif kind == "walk":
        steps = rng.normal(0, size * rng.uniform(0.01, 0.1), (n, NUM_COCO17, 2))
        uv = c + rng.normal(0, size / 3, (1, NUM_COCO17, 2)) + np.cumsum(steps, 0)
    else:
        label = LABELS[rng.integers(len(LABELS))]
        t, kp = generate(label, rng, duration=float(stamps[-1] - stamps[0]) if n > 1 else 1.0,
                         stamps=stamps - stamps[0], split=split)
        if kind == "scrambled":
            perm = rng.permutation(NUM_COCO17)
            if rng.random() < 0.5:  # re-shuffled every frame
                return np.stack([k[rng.permutation(NUM_COCO17)] for k in kp])
            return kp[:, perm]
        keep = rng.choice(NUM_COCO17, size=int(rng.integers(1, 5)), replace=False)
        kp = kp.copy()
        mask = np.ones(NUM_COCO17, bool)
        mask[keep] = False
        kp[:, mask, :2] = np.nan
        kp[:, mask, 2] = 0.0
        return kp
    score = np.clip(rng.uniform(0.2, 0.9) + rng.normal(0, 0.15, (n, NUM_COCO17)), 0, 1)
    kp = np.concatenate([uv, score[..., None]], -1).astype(np.float32)
    miss = (kp[..., 2] < 0.05) | (rng.random((n, NUM_COCO17)) < rng.uniform(0, 0.3))
    kp[miss, :2] = np.nan
    kp[miss, 2] = 0.0
    return kp


# --------------------------------------------------------------------------- API
def generate(label: str, rng: np.random.Generator, duration: float = 2.5, *, fps: float | None = None,
             jitter: bool = True, noise: bool = True, split: str = "train",
             image_size: tuple[int, int] | None = None, stamps: np.ndarray | None = None,
             t0: float | None = None, info: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic track: ``(stamps (T,) seconds, keypoints (T, 17, 3) float32)``.

    ``label`` is one of :data:`LABELS` or ``"unknown"`` (junk). The motion lasts
    ``duration`` seconds and any event (fall, sit-down, single jump) lies inside its
    last 2 s. Samples are taken at ``fps`` (random 10-30 when None) with irregular
    spacing and dropped frames when ``jitter``, or at the given ``stamps`` (seconds
    from the motion start). ``noise=False`` gives exact projections with ideal
    scores. ``split`` is "train", "test" (held-out viewpoints and heights) or "any".
    Stamps are offset by ``t0`` (random when None) so nothing may depend on absolute time.
    ``info``, when given, is filled with the drawn body, camera and motion parameters.

    Random draws happen in a fixed order (body, motion, camera, stamps, estimator),
    so the same generator state with a different ``fps`` gives the same motion.
    """
    if label != JUNK and label not in MOTIONS:
        raise ValueError(f"unknown label {label!r}; choose one of {LABELS + (JUNK,)}")
    duration = float(duration)
    body = random_body(rng, split)
    sub = np.random.default_rng(rng.integers(2**63))    # motion draws: independent of the sampling
    cam_rng = np.random.default_rng(rng.integers(2**63))
    time_rng = np.random.default_rng(rng.integers(2**63))
    est_rng = np.random.default_rng(rng.integers(2**63))
    offset = float(rng.uniform(0, 1000)) if t0 is None else float(t0)
    if stamps is None:
        stamps = _stamps(time_rng, duration, fps, jitter)
    t = np.asarray(stamps, dtype=np.float64)
    if label == JUNK:
        return t + offset, _junk(sub, t, split)
    pose, speed = MOTIONS[label](sub, t, body, duration)
    heading = sub.uniform(0, 2 * np.pi)
    pose["heading"] = pose["heading"] + heading
    path_len = speed * duration
    target = np.array([0.0, 0.0, 0.55 * body.height])
    start_xy = -0.5 * path_len * np.array([math.cos(heading), math.sin(heading)]) + sub.normal(0, 0.3, 2) * (
        speed > 0)
    world = _place(body, pose, forward_kinematics(body, pose), t, speed, start_xy)
    cam = random_camera(cam_rng, body, target, heading, path_len, split, image_size)
    uvd = cam.project(world, t)
    kp = _estimator(est_rng, uvd, world, cam, noise)
    if info is not None:
        info.update(body=body, yaw=cam.yaw_deg, elevation=cam.elevation_deg, speed=speed,
                    person_px=float(np.nanmedian(np.ptp(uvd[..., 1], axis=1))), image=(cam.width, cam.height),
                    **pose.meta)
    return t + offset, kp


def make_dataset(n_per_class: int, seed: int = 0, split: str = "train", labels: tuple[str, ...] = LABELS,
                 junk: int = 0, duration: float | tuple[float, float] = 2.5, short_fraction: float = 0.0
                 ) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``n_per_class`` tracks of each label (+ ``junk`` 'unknown' tracks): [(stamps, keypoints, label)].

    Each sample has its own generator derived from (seed, split, label index, i), so the
    dataset is deterministic and independent of the order or the other classes.
    ``short_fraction`` of the samples last 0.6-2 s instead of ``duration`` (a
    (lo, hi) tuple draws a duration per sample).
    """
    code = {"train": 0, "test": 1, "any": 2}[split]
    out = []
    for ci, label in enumerate(tuple(labels) + (JUNK,) * (junk > 0)):
        count = junk if label == JUNK else n_per_class
        li = LABELS.index(label) if label in LABELS else len(LABELS)
        for i in range(count):
            rng = np.random.default_rng([seed, code, li, i])
            if rng.random() < short_fraction:
                dur = rng.uniform(0.6, 2.0)
            elif isinstance(duration, tuple):
                dur = rng.uniform(*duration)
            else:
                dur = float(duration)
            s, k = generate(label, rng, dur, split=split)
            out.append((s, k, label))
    return out


__all__ = ["Body", "Camera", "HELDOUT_YAW_BANDS", "JUNK", "LABELS", "MOTIONS", "Pose",
           "forward_kinematics", "generate", "make_dataset", "random_body", "random_camera"]
