"""Synthetic body of :mod:`pose_ros.training.synth`: proportions, joint-angle tracks, kinematics.

A :class:`Body` (segment lengths from randomised adult proportions), a :class:`Pose`
(per-frame joint angles filled by a motion model), :func:`forward_kinematics` to
COCO-17 points in metres and ``place_body`` on the ground along the path. No rclpy, no torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_ros.core.skeleton import NUM_COCO17
from pose_ros.core.skeleton import Coco as C

HEIGHT_RANGE = (1.45, 2.0)
HELDOUT_HEIGHT = (1.62, 1.70)


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


def uniform_except(rng: np.random.Generator, lo: float, hi: float,
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


def random_body(rng: np.random.Generator, split: str = "train") -> Body:
    """Random adult proportions (segment lengths as fractions of height, +-~8 %)."""
    if split == "test":
        h = rng.uniform(*HELDOUT_HEIGHT)
    elif split == "train":
        h = uniform_except(rng, *HEIGHT_RANGE, (HELDOUT_HEIGHT,))
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


def place_body(body: Body, p: Pose, j: np.ndarray, t: np.ndarray, speed: float,
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
