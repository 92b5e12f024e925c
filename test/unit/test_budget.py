"""The per-frame crop budget: who gets a crop (follow.plan_crops), credit, prediction, the
detection clock's fixed latency, and the live controller (core/budget.py). Pure logic, no ROS."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from pose_ros.core.budget import FLOOR, BudgetController
from pose_ros.core.detection.background import DetectionClock
from pose_ros.core.detection.crop_plan import Credit, plan_crops
from pose_ros.core.detection.followed import VELOCITY_TIME, Followed, locate


def person(x: float, height: float, stamp: float = 0.0, vx: float = 0.0) -> Followed:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = x, np.linspace(100, 100 + height, 17), 0.9
    return Followed(kp, np.array([x - 10, 100, x + 10, 100 + height], np.float32), 0.8, stamp,
                    velocity=np.array([vx, 0.0]))


def test_unbounded_budget_poses_everyone_and_newcomers():
    people = [person(50 * i, 100) for i in range(6)]
    plan = plan_crops(people, [1.0, 1.0], [1.0] * 6, 1.0, math.inf, 0.5, 2)
    assert sorted(plan.followed) == list(range(6)) and plan.newcomers == (0, 1) and plan.spent == 8


def test_rotation_refreshes_everyone_within_the_bound():
    """Budget 1 crop a frame, 6 people at 30 Hz: every pose is at most ~max_pose_age old,
    and the nearest (tallest) person is posed more often than anyone else."""
    people = [person(50 * i, 300 if i == 0 else 80) for i in range(6)]
    credit, counts, worst = Credit(), np.zeros(6, int), 0.0
    for f in range(300):
        t = f / 30.0
        plan = plan_crops(people, [], [1.0] * 6, t, credit.add(1.0), 0.5, 1)
        credit.spend(plan.spent)
        assert plan.spent <= 1.0 + 1e-9
        worst = max(worst, max(p.age(t) for p in people))
        for i in plan.followed:
            counts[i] += 1
            people[i] = people[i].measured(people[i].kp, people[i].box, t)
    assert worst <= 0.5 + 1 / 30 + 1e-9
    assert counts[0] > counts[1:].max() and counts[1:].min() > 0


def test_the_nearest_person_is_posed_every_frame_within_half_the_budget():
    """Two units a frame for a near person (a Thunder crop) and seven far ones (Lightning):
    the near one is posed on every frame, the rest in rotation, within max_pose_age."""
    people = [person(0, 300)] + [person(50 * i, 80) for i in range(1, 8)]
    costs = [1.0] + [0.35] * 7
    credit, counts, worst = Credit(), np.zeros(8, int), 0.0
    for f in range(300):
        t = f / 30.0
        plan = plan_crops(people, [0.35], costs, t, credit.add(2.0), 0.5, 2)
        credit.spend(plan.spent)
        worst = max(worst, max(p.age(t) for p in people))
        for i in plan.followed:
            counts[i] += 1
            people[i] = people[i].measured(people[i].kp, people[i].box, t)
    assert counts[0] == 300 and counts[1:].min() >= 300 // 15
    assert worst <= 0.5 + 1 / 30 + 1e-9


def test_a_far_priority_person_waits_for_the_rotation():
    """The tallest person, just posed, goes first only when near (a full crop); a far one
    (a surveillance view: everyone small) is refreshed in rotation like the rest."""
    people = [person(0, 150, stamp=1.0)] + [person(50 * i, 80, stamp=0.8) for i in range(1, 8)]
    costs = [0.35] * 8
    assert plan_crops(people, [], costs, 1.0, 2.0, 0.5, 1).followed[0] == 0
    assert 0 not in plan_crops(people, [], costs, 1.0, 2.0, 0.5, 1, near=[False] * 8).followed


def test_newcomers_first_then_the_oldest():
    people = [person(0, 100, stamp=0.9), person(100, 100, stamp=0.2)]
    plan = plan_crops(people, [1.0], [1.0, 1.0], 1.0, 2.0, 0.5, 0)
    assert plan.newcomers == (0,) and plan.followed == (1,)


def test_plan_is_a_function_of_its_inputs():
    people = [person(40 * i, 60 + 20 * (i % 3), stamp=0.01 * i) for i in range(10)]
    a = plan_crops(people, [0.35, 1.0], [0.35] * 10, 1.0, 2.4, 0.5, 2)
    b = plan_crops(list(people), [0.35, 1.0], [0.35] * 10, 1.0, 2.4, 0.5, 2)
    assert a == b and a.spent <= 2.4 + 1e-9


def test_credit_carries_at_most_one_crop():
    c = Credit()
    assert c.add(0.5) == 0.5
    c.spend(0.0)
    assert c.add(0.5) == 1.0          # two half frames buy one crop
    c.spend(1.0)
    for _ in range(10):
        c.add(0.9)
    assert c.value <= 1.0 + 0.9 + 1e-9
    assert math.isinf(c.add(math.inf))


def test_prediction_moves_the_pose_with_the_person():
    p = person(100, 100, stamp=0.0)
    q = p.measured(p.kp + np.array([10, 0, 0], np.float32), p.box + np.array([10, 0, 10, 0], np.float32), 0.1)
    v = 100.0 * max(0.1 / (0.1 + VELOCITY_TIME), 0.5)   # 100 px/s over 0.1 s; the first fix weighs a half
    assert q.velocity[0] == pytest.approx(v)
    kp, box = q.predicted(0.3)
    assert kp[0, 0] == pytest.approx(110 + v * 0.2) and box[0] == pytest.approx(100 + v * 0.2)
    r = q.measured(q.kp + np.array([10, 0, 0], np.float32), q.box + np.array([10, 0, 10, 0], np.float32), 0.2)
    assert r.velocity[0] == pytest.approx(v + (100.0 - v) / 3)   # the second a third: a mean, not a lag


def test_a_detection_locates_a_predicted_person_and_corrects_the_velocity():
    """Measured at x=100 standing still, the person walks at 100 px/s; the detector sees
    them at x=130 at t=0.3: the prediction goes there, and on faster than before."""
    p = person(100, 100, stamp=0.0)
    det = np.array([120, 100, 140, 200], np.float32)
    q = p.located(det, 0.3)
    _, box = q.predicted(0.3)
    assert (box[0] + box[2]) / 2 == pytest.approx(130) and q.stamp == 0.0    # the pose's age is unchanged
    assert 0 < q.velocity[0] < 100 and q.age(0.3) == pytest.approx(0.3)


def test_locate_pairs_each_person_with_the_nearest_box_of_their_size():
    then = np.array([[0, 0, 20, 100], [40, 0, 60, 100], [200, 0, 220, 100]], np.float32)
    boxes = np.array([[48, 0, 68, 100], [5, 0, 25, 100], [400, 0, 420, 100], [200, 0, 260, 300]], np.float32)
    # the third person has no box near (one too far, one three times their height)
    assert sorted(locate(then, boxes)) == [(0, 1), (1, 0)]
    assert locate(then[:0], boxes) == [] and locate(then, boxes[:0]) == []


def test_detection_lands_on_a_fixed_frame_whatever_the_detector_takes():
    """The result of a detection started at t counts on the first frame at t + latency,
    however long the worker takes (it is waited for): a replay is exact on a loaded machine."""
    for delay in (0.0, 0.05):
        def slow(rgb, delay=delay):
            time.sleep(delay)
            return float(rgb.mean())
        clock = DetectionClock(slow, period=0.3, latency=0.1, background=True)
        landed = []
        for f in range(20):
            t = f / 30.0
            done = clock.result(t)
            if done is not None:
                landed.append((f, done[0], done[1]))
            clock.maybe_start(t, np.full((2, 2, 3), f, np.uint8), urgent=False, held=f)
        clock.close()
        assert [x[0] for x in landed] == [3, 12], landed   # started at frames 0 and 9 (0.3 s)
        assert [x[1] for x in landed] == [0.0, 9.0] and [x[2] for x in landed] == [0, 9]


def test_detection_clock_starts_at_once_when_urgent():
    clock = DetectionClock(lambda rgb: 1, period=10.0, latency=0.0, background=False)
    assert clock.maybe_start(0.0, np.zeros((1, 1, 3)), False, None)
    assert clock.result(0.0) == (1, None)
    assert not clock.maybe_start(0.1, np.zeros((1, 1, 3)), False, None)
    assert clock.maybe_start(0.1, np.zeros((1, 1, 3)), True, None)
    clock.close()


def test_detector_errors_reach_the_caller():
    def broken(rgb):
        raise RuntimeError("model gone")
    clock = DetectionClock(broken, period=0.0, latency=0.0, background=True)
    clock.maybe_start(0.0, np.zeros((1, 1, 3)), True, None)
    with pytest.raises(RuntimeError, match="model gone"):
        clock.result(0.0)
    clock.close()


def test_controller_keeps_the_ceiling_while_the_node_keeps_up():
    """Lock-step or a camera the node keeps up with: never behind, the budget never moves."""
    c = BudgetController(ceiling=4.0)
    for i in range(200):
        c.arrived(i * 0.2)
        assert c.frame_done(busy_s=0.15, crop_s=0.12, units=4.0, behind=False) == 4.0


def test_controller_lowers_to_what_fits_and_climbs_back():
    c = BudgetController(ceiling=math.inf)
    t = 0.0
    for _ in range(40):                 # 30 Hz camera, 8 crops at 10 ms + 5 ms fixed: 85 ms, behind
        t += 1 / 30
        c.arrived(t)
        c.frame_done(0.005 + 0.01 * min(8, c.budget), 0.01 * min(8, c.budget), min(8.0, c.budget), True)
    assert 0.5 <= c.budget <= (0.8 / 30 - 0.005) / 0.01 + 1e-6   # fits 80 % of 33 ms
    low = c.budget
    for _ in range(200):                # the camera slows to 10 Hz: room again
        t += 0.1
        c.arrived(t)
        c.frame_done(0.005 + 0.01 * c.budget, 0.01 * c.budget, c.budget, False)
    assert c.budget > low + 1


def test_controller_goes_no_lower_than_the_floor():
    """A crowd on a slow, shared CPU: 40 ms a unit and 20 ms fixed never fit a 30 Hz frame; the
    budget goes down to FLOOR and stays (the rest of the crowd is predicted), never to nothing."""
    c = BudgetController(ceiling=math.inf)
    t = 0.0
    for _ in range(100):
        t += 1 / 30
        c.arrived(t)
        units = min(6.0, c.budget)
        c.frame_done(0.02 + 0.04 * units, 0.04 * units, units, True)
    assert c.budget == FLOOR


def test_one_late_frame_keeps_the_ceiling():
    """A frame waited once (the next one is processed at once, nothing is lost): no cut that
    would make a live run differ from its replay; two in a row is being behind."""
    c = BudgetController(ceiling=math.inf)
    t = 0.0
    for k in range(30):
        t += 1 / 7
        c.arrived(t)
        c.frame_done(0.2 if k == 10 else 0.05, 0.04, 4.0, k == 10, demand=4.0)
        assert math.isinf(c.budget)
    c.frame_done(0.2, 0.15, 4.0, True, demand=4.0)
    c.frame_done(0.2, 0.15, 4.0, True, demand=4.0)
    assert c.budget < 4.0


def test_frames_sent_close_together_are_not_being_behind():
    """A camera (or a loaded publisher) that sends frames in bunches makes quick frames wait:
    the node keeps up, the budget stays."""
    c = BudgetController(ceiling=math.inf)
    t = 0.0
    for k in range(60):
        t += 1 / 7
        c.arrived(t)
        c.frame_done(0.06, 0.05, 4.0, True, demand=4.0)   # always a frame waiting, 60 of 143 ms busy
    assert math.isinf(c.budget)


def test_controller_pinned_when_not_adaptive():
    c = BudgetController(ceiling=3.0, adaptive=False)
    c.arrived(0.0)
    c.arrived(0.033)
    assert c.frame_done(1.0, 0.9, 3.0, True) == 3.0


def test_a_node_behind_its_camera_does_not_wait_for_the_detector():
    release = threading.Event()
    clock = DetectionClock(lambda rgb: release.wait(5.0), period=0.0, latency=0.0, background=True)
    clock.maybe_start(0.0, np.zeros((1, 1, 3)), True, "held")
    assert clock.result(0.1, wait=False) is None       # still running: the frame goes on without it
    release.set()
    assert clock.result(0.2, wait=True) == (True, "held")
    clock.close()


def test_a_pose_the_budget_cannot_refresh_goes_stale_and_is_dropped():
    """Twice max_pose_age without a crop: the person is no longer published or followed
    (the detector finds them again), so no skeleton is older than that."""
    from pose_ros.core.detection.follow import VideoFollower

    class NoDetector:
        def reset(self): pass
        def started(self, stamp): pass
        def result(self, stamp, wait=True): return None
        def maybe_start(self, *a, **k): return False
        def idle_due(self, stamp): return False
        waited = 0.0

    first = [person(50 * i, 80) for i in range(3)]

    def first_frame(rgb):
        from pose_ros.core.detection.follow import Found
        return [Found(0.5, p.kp, p.box, 0.8) for p in first]
    f = VideoFollower(lambda rgb, box, small: first[0].kp, first_frame, NoDetector(), min_track_score=0.1,
                      max_pose_age=0.2, priority_people=0, small_height=0, small_cost=0.35, max_people=0)
    rgb = np.zeros((4, 4, 3), np.uint8)
    assert len(f.frame(rgb, 0.0, 0.0)) == 3
    ages = [max((p.age for p in f.frame(rgb, i / 30, 0.0)), default=0.0) for i in range(1, 30)]
    assert max(ages) <= 0.4 + 1e-9 and f.people == []


def test_controller_returns_to_the_ceiling_once_everyone_fits_again():
    """A slow first frame made a frame wait; at a rate the node keeps up with, the budget goes
    back to the ceiling (and so to the replay's answer), not a step at a time."""
    c = BudgetController(ceiling=math.inf)
    c.arrived(0.0)
    c.arrived(1 / 7)
    c.frame_done(0.3, 0.25, 10.0, True, demand=3.0)     # the first frame: inline detection, everyone
    c.frame_done(0.3, 0.25, 10.0, True, demand=3.0)     # and a burst of newcomers
    assert c.budget < 10.0
    t = 1 / 7
    for _ in range(10):
        t += 1 / 7
        c.arrived(t)
        c.frame_done(0.04, 0.03, min(3.0, c.budget), False, demand=3.0)
    assert math.isinf(c.budget)


def test_attended_people_come_first_even_before_newcomers():
    people = [person(0, 300, stamp=0.9), person(100, 80, stamp=0.0), person(200, 80, stamp=0.5)]
    plan = plan_crops(people, [1.0], [1.0] * 3, 1.0, 1.0, 0.5, 2, attended=[2])
    assert plan.followed == (2,) and plan.newcomers == ()
    plan = plan_crops(people, [1.0], [1.0] * 3, 1.0, 3.0, 0.5, 2, attended=[2, 2, 7])   # repeats, unknown
    assert plan.followed[0] == 2 and plan.newcomers == (0,) and plan.spent == 3.0


def test_the_follower_poses_the_attended_person_every_frame():
    """One crop a frame for four people: the one the robot attends to (named by the box the
    tracker last gave it) is posed on every frame, the others in rotation."""
    from pose_ros.core.detection.follow import Found, VideoFollower

    class NoDetector:
        waited = 0.0
        def reset(self): pass
        def started(self, stamp): pass
        def result(self, stamp, wait=True): return None
        def maybe_start(self, *a, **k): return False
        def idle_due(self, stamp): return False

    crowd = [person(60 * i + 30, 150) for i in range(4)]
    f = VideoFollower(lambda rgb, box, small: crowd[int(box[0] + box[2]) // 120].kp,
                      lambda rgb: [Found(0.5, p.kp, p.box, 0.8) for p in crowd], NoDetector(), min_track_score=0.1,
                      max_pose_age=0.5, priority_people=0, small_height=0, small_cost=0.35, max_people=0)
    rgb = np.zeros((4, 4, 3), np.uint8)
    f.frame(rgb, 0.0, 1.0)
    target = crowd[2].box
    posed = [[p for p in f.frame(rgb, i / 30, 1.0, attend=target[None]) if not p.predicted] for i in range(1, 30)]
    assert all(len(ps) == 1 and abs(ps[0].box[0] - target[0]) < 15 for ps in posed)


def test_the_detector_keeps_predictions_on_people_no_crop_reaches():
    """No crop budget at all: two people measured standing, then walking at 100 px/s. The
    detector's boxes (every 0.3 s) locate them: their predictions walk along, and their boxes
    are not taken for newcomers (who would get crops, tracks and new ids)."""
    from pose_ros.core.detection.follow import Found, VideoFollower

    def truth(t: float) -> list[np.ndarray]:
        return [np.array([x + 100 * t - 10, 100, x + 100 * t + 10, 200], np.float32) for x in (100, 300)]

    def detect(rgb):
        return np.stack(truth(float(rgb[0, 0, 0]) / 30)), np.array([0.9, 0.9], np.float32)

    start = [person(100, 100), person(300, 100)]
    poses: list[np.ndarray] = []
    f = VideoFollower(lambda rgb, box, small: poses.append(box) or start[0].kp,
                      lambda rgb: [Found(0.5, p.kp, p.box, 0.8) for p in start],
                      DetectionClock(detect, period=0.3, latency=0.1, background=False), min_track_score=0.1,
                      max_pose_age=5.0, priority_people=0, small_height=0, small_cost=0.35, max_people=0)
    for i in range(31):
        out = f.frame(np.full((2, 2, 3), i, np.uint8), i / 30, 0.0)
    f.clock.close()
    centres = sorted(float(p.box[0] + p.box[2]) / 2 for p in out)
    assert poses == [] and f.queue == [] and len(out) == 2 and all(p.predicted for p in out)
    assert centres == pytest.approx([200, 400], abs=15)      # without the detector: 100 px behind
