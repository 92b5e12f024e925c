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

Classes (:data:`LABELS`, the same as ``pose_ros.core.actions.learned.LEARNED_CLASSES``):

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

Code layout: the body model (proportions, joint-angle tracks, kinematics) is in
``synth_body.py``, the per-class motions in ``synth_motion.py`` (building blocks in
``synth_motion_parts.py``), the camera, stamps and estimator model in
``synth_camera.py``; this module keeps the labels, the junk tracks, :func:`generate`
and :func:`make_dataset` and re-exports the public names.

Everything is deterministic from the generator passed in (``make_dataset`` derives
one generator per sample from the seed, so a sample does not depend on the others).
No rclpy, no torch.
"""
from __future__ import annotations

import math

import numpy as np

from pose_ros.core.skeleton import NUM_COCO17
# The range constants are re-exported: callers read them from this module.
from pose_ros.training.body import (  # noqa: F401
    HEIGHT_RANGE, HELDOUT_HEIGHT, Body, Pose, place_body, forward_kinematics, random_body,
)
from pose_ros.training.camera import (  # noqa: F401
    ELEVATION_RANGE, HELDOUT_ELEVATION, HELDOUT_YAW_BANDS, IMAGE_SIZES, Camera, apply_estimator,
    sample_stamps, random_camera,
)
from pose_ros.training.motion import MOTIONS

LABELS: tuple[str, ...] = (
    "standing", "walking", "running", "waving", "jumping", "sitting_down", "standing_up",
    "squatting", "falling", "sitting", "lying")
JUNK = "unknown"

assert tuple(MOTIONS) == LABELS


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
        stamps = sample_stamps(time_rng, duration, fps, jitter)
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
    world = place_body(body, pose, forward_kinematics(body, pose), t, speed, start_xy)
    cam = random_camera(cam_rng, body, target, heading, path_len, split, image_size)
    uvd = cam.project(world, t)
    kp = apply_estimator(est_rng, uvd, world, cam, noise)
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
