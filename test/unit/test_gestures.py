"""Rule-based gestures and postures on constructed skeletons (pixels, y down, front view)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pose_ros.core.gestures.detector import (
    GESTURE_NAMES, POSTURE_NAMES, GestureDetector, GestureEvent, GestureParams, Hysteresis)
from pose_ros.core.skeleton import Coco, Person

pytestmark = pytest.mark.filterwarnings("error")   # any NaN / divide warning fails a test

FPS = 30.0
UPPER, FORE, THIGH, SHIN = 60.0, 55.0, 85.0, 80.0   # limb lengths, torso = 100 px
DOWN = dict(l_upper=8, l_fore=5, r_upper=8, r_fore=5)


def _dir(side: float, deg: float) -> np.ndarray:
    """Unit vector at ``deg`` from straight down, positive = away from the body midline."""
    a = math.radians(deg)
    return np.array([side * math.sin(a), math.cos(a)])


def make_kp(*, hip=(320.0, 300.0), scale: float = 1.0, rotate: float = 0.0,
            l_upper: float = 8, l_fore: float = 5, r_upper: float = 8, r_fore: float = 5,
            l_thigh=(0.0, 1.0), r_thigh=(0.0, 1.0), l_shin=(0.0, 1.0), r_shin=(0.0, 1.0),
            score: float = 0.9) -> np.ndarray:
    """COCO-17 keypoints of a person facing the camera (their left = image right).

    Arm angles (degrees) are image directions from straight down, positive outward,
    90 = horizontal sideways, 180 = straight up, negative = across the body. Leg
    segments are (angle, length factor) so a factor < 1 foreshortens a thigh that
    points toward the camera. ``rotate`` turns the whole body about the hip centre
    (positive: head toward the image right). Torso length is 100 px * ``scale``.
    """
    p = np.zeros((17, 2))
    C = Coco
    p[C.LEFT_HIP], p[C.RIGHT_HIP] = (25, 0), (-25, 0)
    p[C.LEFT_SHOULDER], p[C.RIGHT_SHOULDER] = (37.5, -100), (-37.5, -100)
    p[C.NOSE] = (0, -145)
    p[C.LEFT_EYE], p[C.RIGHT_EYE] = (10, -153), (-10, -153)
    p[C.LEFT_EAR], p[C.RIGHT_EAR] = (20, -148), (-20, -148)
    arms = ((1, C.LEFT_SHOULDER, C.LEFT_ELBOW, C.LEFT_WRIST, l_upper, l_fore),
            (-1, C.RIGHT_SHOULDER, C.RIGHT_ELBOW, C.RIGHT_WRIST, r_upper, r_fore))
    for side, s, e, w, up, fo in arms:
        p[e] = p[s] + UPPER * _dir(side, up)
        p[w] = p[e] + FORE * _dir(side, fo)
    for side, h, k, a, th, sh in ((1, C.LEFT_HIP, C.LEFT_KNEE, C.LEFT_ANKLE, l_thigh, l_shin),
                                  (-1, C.RIGHT_HIP, C.RIGHT_KNEE, C.RIGHT_ANKLE, r_thigh, r_shin)):
        p[k] = p[h] + THIGH * th[1] * _dir(side, th[0])
        p[a] = p[k] + SHIN * sh[1] * _dir(side, sh[0])
    f = math.radians(rotate)
    rot = np.array([[math.cos(f), -math.sin(f)], [math.sin(f), math.cos(f)]])
    p = p @ rot.T * scale + np.asarray(hip)
    return np.column_stack([p, np.full(17, score)])


SITTING = dict(l_thigh=(5, 0.2), r_thigh=(5, 0.2))
CROUCHING = dict(l_thigh=(45, 0.3), r_thigh=(45, 0.3), l_shin=(0, 0.35), r_shin=(0, 0.35))


def stamps(duration: float, t0: float = 0.0) -> np.ndarray:
    return t0 + np.arange(int(round(duration * FPS))) / FPS


def run(det: GestureDetector, frames, tid: str = "a"):
    """Feed (stamp, kp or Person) pairs; return all events and the active set per frame."""
    events, actives = [], []
    for t, kp in frames:
        events += det.update(tid, t, kp)
        actives.append(det.active(tid))
    return events, actives


def hold(duration: float, t0: float = 0.0, **pose):
    kp = make_kp(**pose)
    return [(t, kp) for t in stamps(duration, t0)]


def starts(events, name=None):
    return [e for e in events if e.event == "start" and (name is None or e.gesture == name)]


def ends(events, name=None):
    return [e for e in events if e.event == "end" and (name is None or e.gesture == name)]


def started_names(events) -> set[str]:
    return {e.gesture for e in starts(events)}


# ----------------------------------------------------------------------- basics
def test_names_and_defaults() -> None:
    assert len(set(GESTURE_NAMES)) == len(GESTURE_NAMES) == 14
    assert set(POSTURE_NAMES) <= set(GESTURE_NAMES)
    p = GestureParams()
    assert p.off_threshold < p.on_threshold
    with pytest.raises(TypeError):
        GestureDetector(not_a_param=1)
    with pytest.raises(ValueError):
        GestureDetector(on_threshold=0.3, off_threshold=0.5)


def test_standing_arms_down_only_standing() -> None:
    ev, act = run(GestureDetector(), hold(1.5))
    assert started_names(ev) == {"standing"}
    assert act[-1] == {"standing"}
    st = starts(ev, "standing")[0]
    assert st.window_end - st.window_start == pytest.approx(0.5, abs=0.05)
    assert 0.6 <= st.confidence <= 1.0 and math.isnan(st.direction) and st.ray_origin is None


# ---------------------------------------------------------------------- hands up
def test_hand_up_right_only() -> None:
    ev, act = run(GestureDetector(), hold(1.0, r_upper=170, r_fore=175))
    assert {"hand_up_right"} <= started_names(ev)
    assert not started_names(ev) & {"hand_up_left", "hands_up_both", "wave_right", "point_left"}
    e = starts(ev, "hand_up_right")[0]
    assert e.track_id == "a" and e.window_end - e.window_start >= 0.2 - 1e-9
    assert e.window_end <= 0.3            # min_duration 0.2 s after the first frame


def test_hands_up_both() -> None:
    ev, act = run(GestureDetector(), hold(1.0, l_upper=170, l_fore=175, r_upper=170, r_fore=175))
    assert {"hand_up_left", "hand_up_right", "hands_up_both"} <= act[-1]


def test_hand_at_shoulder_height_is_not_up() -> None:
    ev, _ = run(GestureDetector(), hold(1.0, r_upper=90, r_fore=170))   # wrist near head
    ev2, _ = run(GestureDetector(), hold(1.0, l_upper=90, l_fore=90))   # arm sideways
    assert not started_names(ev + ev2) & {"hand_up_left", "hand_up_right", "hands_up_both"}


def test_hand_up_follows_body_scale_and_position() -> None:
    ev, act = run(GestureDetector(), hold(1.0, hip=(100, 200), scale=0.4, l_upper=170, l_fore=175))
    assert "hand_up_left" in act[-1] and "hand_up_right" not in act[-1]


# -------------------------------------------------------------------------- wave
def wave_frames(freq: float = 2.0, amp_deg: float = 30.0, duration: float = 2.0,
                side: str = "right", t0: float = 0.0):
    out = []
    for t in stamps(duration, t0):
        fore = 180.0 + amp_deg * math.sin(2 * math.pi * freq * (t - t0))
        kw = {f"{side[0]}_upper": 120.0, f"{side[0]}_fore": fore}
        out.append((t, make_kp(**kw)))
    return out


def test_wave_right_at_2hz() -> None:
    ev, act = run(GestureDetector(), wave_frames())
    s = starts(ev, "wave_right")
    assert len(s) == 1 and "wave_left" not in started_names(ev)
    assert s[0].window_end < 1.2             # recognised within about a second
    assert "wave_right" in act[-1]


def test_wave_left_and_it_stops_when_the_hand_holds_still() -> None:
    det = GestureDetector()
    ev, _ = run(det, wave_frames(side="left"))
    assert starts(ev, "wave_left") and not starts(ev, "wave_right")
    ev2, act = run(det, hold(2.0, t0=2.0, l_upper=120, l_fore=180))   # raised, still
    e = ends(ev2, "wave_left")
    assert len(e) == 1 and "wave_left" not in act[-1]
    assert e[0].window_end < 2.9      # about a period (0.5 s) + release (0.3 s) after stopping


@pytest.mark.parametrize("freq,amp", [(0.3, 30.0), (6.0, 30.0), (2.0, 3.0), (2.0, 0.0)])
def test_no_wave_when_too_slow_too_fast_or_too_small(freq: float, amp: float) -> None:
    ev, _ = run(GestureDetector(), wave_frames(freq=freq, amp_deg=amp, duration=3.0))
    assert not starts(ev, "wave_right") and not starts(ev, "wave_left")


def test_no_wave_when_forearm_is_down() -> None:
    frames = [(t, make_kp(r_upper=10, r_fore=10 + 30 * math.sin(4 * math.pi * t)))
              for t in stamps(2.0)]
    ev, _ = run(GestureDetector(), frames)
    assert not starts(ev, "wave_right")


# ---------------------------------------------------------------------- pointing
def test_point_left_with_the_right_arm_and_3d_ray() -> None:
    kp = make_kp(r_upper=90, r_fore=90)
    k3 = np.column_stack([kp[:, 0] / 100.0, kp[:, 1] / 100.0, np.full(17, 2.0)])
    person = Person(keypoints=kp, score=0.9, keypoints_3d=k3)
    ev, act = run(GestureDetector(), [(t, person) for t in stamps(1.0)])
    s = starts(ev, "point_left")
    assert len(s) == 1 and "point_right" not in started_names(ev)
    assert abs(abs(s[0].direction) - math.pi) < 0.05
    np.testing.assert_allclose(s[0].ray_origin, k3[Coco.RIGHT_SHOULDER])
    np.testing.assert_allclose(s[0].ray_direction, [-1.0, 0.0, 0.0], atol=1e-9)


def test_point_right_with_the_left_arm_slightly_down_no_3d() -> None:
    ev, act = run(GestureDetector(), hold(1.0, l_upper=65, l_fore=65))  # 25 deg below horizontal
    s = starts(ev, "point_right")
    assert len(s) == 1 and "point_left" not in started_names(ev)
    assert s[0].direction == pytest.approx(math.radians(25), abs=0.03)
    assert s[0].ray_origin is None and s[0].ray_direction is None
    ev2 = GestureDetector().end_track("a", 1.0)
    assert ev2 == []


@pytest.mark.parametrize("pose", [dict(r_upper=90, r_fore=180),    # elbow bent, forearm up
                                  dict(r_upper=20, r_fore=20),     # arm down
                                  dict(r_upper=150, r_fore=150)])  # arm raised 60 deg
def test_no_point(pose) -> None:
    ev, _ = run(GestureDetector(), hold(1.0, **pose))
    assert not started_names(ev) & {"point_left", "point_right"}


def test_point_end_carries_last_direction() -> None:
    det = GestureDetector()
    ev, _ = run(det, hold(1.0, r_upper=90, r_fore=90) + hold(1.0, t0=1.0))
    e = ends(ev, "point_left")
    assert len(e) == 1 and abs(abs(e[0].direction) - math.pi) < 0.05
    assert e[0].window_start == pytest.approx(starts(ev, "point_left")[0].window_end)


# ------------------------------------------------------------- t-pose and crossed
def test_t_pose_and_no_pointing() -> None:
    ev, act = run(GestureDetector(), hold(1.0, l_upper=90, l_fore=90, r_upper=90, r_fore=90))
    assert "t_pose" in act[-1]
    assert not started_names(ev) & {"point_left", "point_right"}


@pytest.mark.parametrize("pose", [dict(l_upper=90, l_fore=90),
                                  dict(l_upper=135, l_fore=135, r_upper=135, r_fore=135),
                                  dict(l_upper=90, l_fore=180, r_upper=90, r_fore=180)])
def test_no_t_pose(pose) -> None:
    ev, _ = run(GestureDetector(), hold(1.0, **pose))
    assert "t_pose" not in started_names(ev)


CROSSED = dict(l_upper=-5, l_fore=-105, r_upper=-5, r_fore=-105)


def test_arms_crossed() -> None:
    ev, act = run(GestureDetector(), hold(1.0, **CROSSED))
    assert "arms_crossed" in act[-1]
    assert not act[-1] & {"point_left", "point_right", "t_pose", "hand_up_left"}


@pytest.mark.parametrize("pose", [DOWN, dict(l_upper=-5, l_fore=-105),      # one arm only
                                  dict(l_upper=-5, l_fore=-60, r_upper=-5, r_fore=-60)])
def test_not_arms_crossed(pose) -> None:
    ev, _ = run(GestureDetector(), hold(1.0, **pose))
    assert "arms_crossed" not in started_names(ev)


# ---------------------------------------------------------------------- postures
@pytest.mark.parametrize("pose,expected", [({}, "standing"), (SITTING, "sitting"),
                                           (CROUCHING, "crouching"),
                                           (dict(rotate=90, hip=(320, 420)), "lying"),
                                           (dict(rotate=-85, hip=(320, 420)), "lying")])
def test_posture(pose, expected) -> None:
    ev, act = run(GestureDetector(), hold(1.5, **pose))
    assert act[-1] & set(POSTURE_NAMES) == {expected}
    assert started_names(ev) == {expected}      # no arm gesture, no fall


def test_exactly_one_posture_through_changes() -> None:
    frames = hold(1.0) + hold(1.5, t0=1.0, **SITTING) + hold(1.5, t0=2.5, **CROUCHING) \
        + hold(1.5, t0=4.0)
    ev, act = run(GestureDetector(), frames)
    assert all(len(a & set(POSTURE_NAMES)) <= 1 for a in act)
    seq = [(e.gesture, e.event) for e in ev if e.gesture in POSTURE_NAMES]
    assert seq == [("standing", "start"), ("standing", "end"), ("sitting", "start"),
                   ("sitting", "end"), ("crouching", "start"), ("crouching", "end"),
                   ("standing", "start")]
    # the end of the old posture and the start of the new one share a stamp, end first
    sw = [e for e in ev if e.gesture in ("standing", "sitting")][1:3]
    assert sw[0].window_end == sw[1].window_end


# -------------------------------------------------------------------------- fall
def lie_down(duration: float, drop: float = 120.0, t0: float = 1.0):
    """Rotate from upright to lying over ``duration`` s while the hip drops ``drop`` px."""
    out = []
    for t in stamps(duration, t0):
        a = (t - t0) / duration
        out.append((t, make_kp(rotate=90 * a, hip=(320, 300 + drop * a))))
    return out


def test_fast_fall() -> None:
    frames = hold(1.0) + lie_down(0.5) + hold(1.5, t0=1.5, rotate=90, hip=(320, 420))
    ev, act = run(GestureDetector(), frames)
    f = starts(ev, "fall")
    assert len(f) == 1 and 1.3 < f[0].window_end < 2.0
    assert {"fall", "lying"} <= act[-1]


def test_slow_lie_down_is_not_a_fall() -> None:
    frames = hold(1.0) + lie_down(4.0) + hold(1.0, t0=5.0, rotate=90, hip=(320, 420))
    ev, act = run(GestureDetector(), frames)
    assert "fall" not in started_names(ev) and "lying" in act[-1]


def test_fast_bend_without_hip_drop_is_not_a_fall() -> None:
    frames = hold(1.0) + lie_down(0.5, drop=0.0) + hold(1.0, t0=1.5, rotate=90)
    ev, _ = run(GestureDetector(), frames)
    assert "fall" not in started_names(ev)


def test_fall_ends_when_back_up() -> None:
    frames = hold(1.0) + lie_down(0.5) + hold(1.0, t0=1.5, rotate=90, hip=(320, 420)) \
        + hold(1.0, t0=2.5)
    ev, act = run(GestureDetector(), frames)
    assert len(starts(ev, "fall")) == 1 and len(ends(ev, "fall")) == 1
    assert "fall" not in act[-1] and "standing" in act[-1]


# -------------------------------------------------------------------- hysteresis
def test_hysteresis_class() -> None:
    h = Hysteresis(on=0.6, off=0.4, min_duration=0.2, release_duration=0.3)
    ts = np.arange(0, 3, 0.05)
    out = []
    for k, t in enumerate(ts):
        if t < 0.5:
            s = 0.7 if k % 2 else 0.3                       # flicker: never 0.2 s above
        elif t < 1.0:
            s = 0.9
        elif t < 2.0:
            s = [0.45, 0.65, 0.3][k % 3]                    # hovers, dips below off 1 step
        else:
            s = 0.0
        out.append((t, h.update(t, s)))
    evs = [(round(t, 2), e) for t, e in out if e]
    assert [e for _, e in evs] == ["start", "end"]
    assert evs[0][0] == pytest.approx(0.7, abs=0.051)      # 0.5 + 0.2 min_duration
    assert evs[1][0] == pytest.approx(2.3, abs=0.051)      # 2.0 + 0.3 release
    assert h.run_start == pytest.approx(0.45) and not h.active   # last flicker joined the run


def _right_wrist_at(y: float) -> np.ndarray:
    kp = make_kp(r_upper=170, r_fore=175)
    kp[Coco.RIGHT_WRIST, 1] = y        # nose at y=155, threshold (0.1 torso above) at 145
    return kp


def test_hand_up_does_not_flicker_near_threshold() -> None:
    det = GestureDetector()
    ts = stamps(4.0)
    frames = []
    for k, t in enumerate(ts):
        if t < 1.0:
            y = 141.0 if k % 2 else 146.0                   # scores 0.7 / 0.45 alternate
        elif t < 1.5:
            y = 120.0                                       # clearly up
        elif t < 3.0:
            y = [141.0, 146.0, 150.0][k % 3]                # dips below off for 1 frame
        else:
            y = 250.0                                       # down
        frames.append((t, _right_wrist_at(y)))
    ev, act = run(det, frames)
    hs = [e for e in ev if e.gesture == "hand_up_right"]
    assert [e.event for e in hs] == ["start", "end"]
    assert 1.1 < hs[0].window_end < 1.3 and 3.2 < hs[1].window_end < 3.4
    assert hs[1].window_start == hs[0].window_end


def test_durations_are_in_seconds_not_frames() -> None:
    # 10 fps instead of 30: the start still comes 0.2 s after the gesture begins
    kp = make_kp(r_upper=170, r_fore=175)
    ev, _ = run(GestureDetector(), [(k / 10.0, kp) for k in range(10)])
    assert starts(ev, "hand_up_right")[0].window_end == pytest.approx(0.2)
    ev, _ = run(GestureDetector(min_duration=0.0), [(0.0, kp)])
    assert "hand_up_right" in started_names(ev)


# ------------------------------------------------------------- missing joints etc
def test_missing_wrists_give_no_arm_gesture() -> None:
    kp = make_kp(l_upper=170, l_fore=175, r_upper=90, r_fore=90)
    for j in (Coco.LEFT_WRIST, Coco.RIGHT_WRIST):
        kp[j] = (np.nan, np.nan, 0.0)
    ev, act = run(GestureDetector(), [(t, kp) for t in stamps(1.0)])
    assert started_names(ev) == {"standing"}


def test_low_scores_count_as_missing() -> None:
    kp = make_kp(l_upper=170, l_fore=175)
    kp[Coco.LEFT_WRIST, 2] = 0.05
    ev, _ = run(GestureDetector(), [(t, kp) for t in stamps(1.0)])
    assert "hand_up_left" not in started_names(ev)


def test_all_missing_and_random_dropouts_no_exception_no_warning() -> None:
    det = GestureDetector()
    empty = np.column_stack([np.full((17, 2), np.nan), np.zeros(17)])
    ev, act = run(det, [(t, empty) for t in stamps(1.0)])
    assert ev == [] and act[-1] == set()
    rng = np.random.default_rng(1)
    frames = []
    for t in stamps(3.0, 1.0):
        kp = make_kp(r_upper=120, r_fore=180 + 30 * math.sin(4 * math.pi * t),
                     rotate=rng.uniform(-90, 90))
        kp[rng.random(17) < 0.4] = (np.nan, np.nan, 0.0)
        frames.append((t, kp))
    run(det, frames)                           # filterwarnings("error") catches warnings


def test_upper_body_crop_still_gives_hand_up() -> None:
    kp = make_kp(l_upper=170, l_fore=175)
    kp[Coco.LEFT_HIP:] = (np.nan, np.nan, 0.0)       # hips and legs out of the image
    ev, act = run(GestureDetector(), [(t, kp) for t in stamps(1.0)])
    assert started_names(ev) == {"hand_up_left"}


def test_posture_needs_the_legs() -> None:
    kp = make_kp()
    kp[[Coco.LEFT_ANKLE, Coco.RIGHT_ANKLE]] = (np.nan, np.nan, 0.0)
    ev, _ = run(GestureDetector(), [(t, kp) for t in stamps(1.0)])
    assert ev == []


def test_gesture_ends_when_joints_disappear() -> None:
    up = make_kp(r_upper=170, r_fore=175)
    gone = up.copy()
    gone[Coco.RIGHT_WRIST] = (np.nan, np.nan, 0.0)
    ev, act = run(GestureDetector(), [(t, up) for t in stamps(1.0)]
                  + [(t, gone) for t in stamps(1.0, 1.0)])
    assert len(ends(ev, "hand_up_right")) == 1 and "standing" in act[-1]


# ------------------------------------------------------------------ track control
def test_end_track_ends_everything_active() -> None:
    det = GestureDetector()
    run(det, hold(1.0, r_upper=170, r_fore=175), tid="7")
    assert {"hand_up_right", "standing"} <= det.active("7")
    ev = det.end_track("7", 1.5)
    assert {e.gesture for e in ev} == det.active("7") | {"hand_up_right", "standing"}
    assert all(e.event == GestureEvent.END and e.window_end == 1.5 and e.track_id == "7"
               for e in ev)
    assert det.active("7") == set() and det.end_track("7", 2.0) == []


def test_tracks_are_independent() -> None:
    det = GestureDetector()
    run(det, hold(1.0, r_upper=170, r_fore=175), tid="a")
    run(det, hold(1.0, 1.0), tid="b")
    assert "hand_up_right" in det.active("a") and "hand_up_right" not in det.active("b")
    ev = det.end_track("a", 2.0)
    assert {e.track_id for e in ev} == {"a"} and det.active("a") == set() and det.active("b")


def test_time_going_backwards_restarts_the_track() -> None:
    det = GestureDetector()
    run(det, hold(1.0, r_upper=170, r_fore=175))
    ev = det.update("a", 0.0, make_kp())
    assert {e.gesture for e in ends(ev)} == {"hand_up_right", "standing"}
    assert det.active("a") == set()
