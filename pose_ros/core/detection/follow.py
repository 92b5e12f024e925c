"""Video mode of a top-down backend: who gets a pose crop this frame, and everyone else predicted.

A top-down backend pays one crop per person, so a crowd makes every frame late. Under a
per-frame budget (in crop units: one Thunder crop = 1) this module decides, frame by
frame and from nothing but the frames' stamps and the budget, who is posed:

1. newcomers of the last person detection, best box first (nobody has seen them yet);
2. people whose pose is older than ``max_pose_age`` s, oldest first (the bound);
3. everyone else by the age of their pose, where the ``priority_people`` who matter
   most to a robot, the tallest (nearest) and those whose box grows (approaching),
   count ``PRIORITY_WEIGHT`` times their age: with a budget for everyone they are
   all posed every frame, with less the nearest are posed that much more often than
   the rest, who are refreshed in rotation.

Posing stops at the first person the remaining credit cannot pay for; unspent credit
carries over (at most one crop's worth), so a budget of 0.5 poses one person every
other frame. Everyone not posed is *predicted*: their last pose moved by their
velocity, reported with ``predicted`` set and the age of the measurement. With an
unbounded budget (``math.inf``) everyone is posed every frame.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pose_ros.core.detection import crops
from pose_ros.core.detection.background import DetectionClock
from pose_ros.core.geometry import iou_matrix
from pose_ros.core.tracking.similarity import oks

# A person is "approaching" when their box height grows: rate in 1/s; this boost makes a
# person growing by 50 % per second count as twice their height.
_APPROACH_GAIN = 2.0
_MAX_SPEED_HEIGHTS = 3.0     # velocity clamp: body heights per second
_VELOCITY_SMOOTHING = 0.5    # weight of the newest measurement in the velocity estimate
PRIORITY_WEIGHT = 4.0       # how much more often the people who matter most are posed under a tight budget
_SEGMENT_PER_BOX = 0.53     # COCO person segment area / box area: the OKS scale of a box
_SAME_BODY_OKS = 0.6        # two skeletons this alike are one person seen twice
# A detection's box is a newcomer unless it overlaps a followed person's box this much.
# People standing close together overlap by 0.3-0.5, so a lower bar refused the one
# nobody followed; a box that does hold a followed person gives a pose that repeats
# it, and merge_same_body drops that copy (docs/benchmarks.md, PETS09).
NEWCOMER_IOU = 0.5


def person_score(box_score: float, kp: np.ndarray) -> float:
    """Ranking score: detector confidence times the mean of the 17 joint scores.

    The box score alone ranks a clear box with a confused pose too high, the joint
    scores alone trust a pose found in a box with nobody in it.
    """
    return float(box_score) * float(np.mean(kp[:, 2]))


@dataclass(eq=False)
class Found:
    """A person in one frame: posed in it, or ``predicted`` from a pose ``age`` s old."""

    score: float
    kp: np.ndarray                  # (17, 3)
    box: np.ndarray                 # (4,) xyxy
    box_score: float                # the detector's score, kept so that followed people score alike
    predicted: bool = False
    age: float = 0.0
    follow: "Followed | None" = None   # carried to the next frame as this (None: not followed)
    newcomer: bool = False


def same_body(a: Found, b: Found, min_joint: float = 0.3) -> bool:
    """Two skeletons this alike (OKS >= 0.6 at ``a``'s box scale) are one person seen twice."""
    area = _SEGMENT_PER_BOX * max(float((a.box[2] - a.box[0]) * (a.box[3] - a.box[1])), 1.0)
    return bool(oks(a.kp, b.kp, area, min_joint) >= _SAME_BODY_OKS)


def merge_same_body(people: list[Found], min_joint: float = 0.3) -> list[Found]:
    """Drop a person whose pose repeats a better one: measured poses beat predicted ones,
    then the higher score wins (a newcomer's crop, cut around the detector's box, often
    beats a followed crop that drifted: PETS09, docs/benchmarks.md). Best first."""
    people = sorted(people, key=lambda p: (p.predicted, -p.score))
    kept: list[Found] = []
    for p in people:
        if not any(same_body(p, k, min_joint) for k in kept):
            kept.append(p)
    return kept


def absorb_newcomers(found: list[Found], stamp: float) -> list[Found]:
    """A newcomer whose pose repeats a predicted person is that person measured again: it
    keeps their motion (and is no longer new), and the predicted copy goes."""
    gone: set[int] = set()
    for f in found:
        if not f.newcomer or f.follow is None:
            continue
        twin = next((p for p in found if p.predicted and id(p) not in gone and same_body(f, p)), None)
        if twin is not None and twin.follow is not None:
            gone.add(id(twin))
            f.follow = twin.follow.measured(f.kp, f.box, stamp)
            f.newcomer = False
    return [f for f in found if id(f) not in gone]


def newcomers(boxes: np.ndarray, held: np.ndarray, same_iou: float = NEWCOMER_IOU) -> np.ndarray:
    """Mask of the detector ``boxes`` (K, 4) that overlap none of the ``held`` boxes by ``same_iou``."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    held = np.asarray(held, np.float32).reshape(-1, 4)
    if not len(held):
        return np.ones(len(boxes), bool)
    return iou_matrix(boxes, held).max(axis=1) < same_iou


@dataclass(eq=False)
class Followed:
    """One person followed between detections, as last measured."""

    kp: np.ndarray                  # (17, 3) x, y pixels, score
    box: np.ndarray                 # (4,) reported box, xyxy pixels
    box_score: float                # detector score the person was found with
    stamp: float                    # when kp was measured (image stamp, s)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))   # box centre, px/s
    growth: float = 0.0             # relative box-height change per second (approaching > 0)

    def age(self, stamp: float) -> float:
        return max(0.0, stamp - self.stamp)

    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    def importance(self) -> float:
        """Nearer (taller) people matter more, approaching ones more still."""
        return self.height() * (1.0 + _APPROACH_GAIN * min(max(self.growth, 0.0), 1.0))

    def shift(self, stamp: float) -> np.ndarray:
        """(2,) pixels the person moved from the last measurement to ``stamp`` (constant velocity)."""
        return self.velocity * self.age(stamp)

    def predicted(self, stamp: float) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints and box moved to ``stamp``."""
        d = self.shift(stamp)
        kp = self.kp.copy()
        kp[:, :2] += d.astype(np.float32)
        return kp, self.box + np.concatenate([d, d]).astype(np.float32)

    def measured(self, kp: np.ndarray, box: np.ndarray, stamp: float) -> "Followed":
        """This person measured again at ``stamp``: velocity and growth updated."""
        dt = stamp - self.stamp
        velocity, growth = self.velocity, self.growth
        if dt > 1e-6:
            c_old = (self.box[:2] + self.box[2:]) / 2.0
            c_new = (box[:2] + box[2:]) / 2.0
            limit = _MAX_SPEED_HEIGHTS * max(float(box[3] - box[1]), 1.0)
            v = np.clip((c_new - c_old) / dt, -limit, limit)
            a = _VELOCITY_SMOOTHING
            velocity = a * v + (1 - a) * self.velocity
            g = (float(box[3] - box[1]) / max(self.height(), 1.0) - 1.0) / dt
            growth = a * g + (1 - a) * self.growth
        return Followed(kp, box, self.box_score, stamp, np.asarray(velocity, np.float64), float(growth))


@dataclass(frozen=True)
class Plan:
    """Who gets a crop this frame: indices into the followed list and into the newcomers."""

    followed: tuple[int, ...]
    newcomers: tuple[int, ...]
    spent: float


def plan_crops(people: list[Followed], newcomer_costs: list[float], costs: list[float], stamp: float,
               credit: float, max_pose_age: float, priority_people: int) -> Plan:
    """Spend ``credit`` on crops in the order of the module docstring; stop at the first that does not fit.

    ``costs`` are the followed people's crop costs, ``newcomer_costs`` those of the
    detector's new boxes (best first). Pure and deterministic: the same inputs, the same plan.
    """
    n = len(people)
    ages = [p.age(stamp) for p in people]
    ranked = sorted(range(n), key=lambda i: (-people[i].importance(), i))
    weight = [1.0] * n
    for i in ranked[:max(priority_people, 0)]:
        weight[i] = PRIORITY_WEIGHT
    overdue = sorted((i for i in range(n) if ages[i] >= max_pose_age), key=lambda i: (-ages[i], i))
    late = set(overdue)
    rest = sorted((i for i in range(n) if i not in late), key=lambda i: (-ages[i] * weight[i], -weight[i], i))
    order = [("n", j) for j in range(len(newcomer_costs))] + [("f", i) for i in overdue + rest]
    followed: list[int] = []
    newcomers: list[int] = []
    spent = 0.0
    for kind, i in order:
        cost = costs[i] if kind == "f" else newcomer_costs[i]
        if spent + cost > credit + 1e-9:
            break
        spent += cost
        (followed if kind == "f" else newcomers).append(i)
    return Plan(tuple(followed), tuple(newcomers), spent)


class Credit:
    """Crop credit carried between frames: ``budget`` units a frame, at most one crop saved up."""

    def __init__(self) -> None:
        self.value = 0.0

    def add(self, budget: float) -> float:
        """The credit of a new frame with ``budget`` units (inf: unbounded)."""
        if math.isinf(budget):
            self.value = math.inf
        else:
            carried = 0.0 if math.isinf(self.value) else min(self.value, 1.0)
            self.value = carried + max(budget, 0.0)
        return self.value

    def spend(self, units: float) -> None:
        if not math.isinf(self.value):
            self.value = max(self.value - units, 0.0)

    def reset(self) -> None:
        self.value = 0.0


PoseFn = Callable[[np.ndarray, np.ndarray, bool], np.ndarray]   # (rgb, roi box, small) -> (17, 3)


class VideoFollower:
    """The per-frame loop of a top-down backend in video: follow, pose within budget, predict, detect.

    ``pose(rgb, box, small)`` poses the person in ``box`` (``small``: with the cheap model);
    ``first(rgb)`` detects and poses everyone at once (the first frame after a reset);
    ``clock`` runs the detector (:class:`~pose_ros.core.detection.background.DetectionClock`).
    Everything it decides depends on the frames, their stamps and the budget only.
    """

    def __init__(self, pose: PoseFn, first: Callable[[np.ndarray], list[Found]], clock: DetectionClock, *,
                 min_track_score: float, max_pose_age: float, priority_people: int, small_height: float,
                 small_cost: float, max_people: int) -> None:
        self._pose, self._first, self.clock = pose, first, clock
        self.min_track_score = float(min_track_score)
        self.max_pose_age = float(max_pose_age)
        self.priority_people = int(priority_people)
        self.small_height = float(small_height)
        self.small_cost = float(small_cost)
        self.max_people = int(max_people)
        self.credit = Credit()
        self.last: dict[str, float] = {}     # the last frame: posed, predicted, units, detect_wait
        self.reset()

    def reset(self) -> None:
        """Forget everyone; the next frame detects and poses at once."""
        self.clock.reset()
        self.credit.reset()
        self.people: list[Followed] = []
        self.queue: list[tuple[np.ndarray, float]] = []    # newcomer boxes waiting for a crop
        self._started = False

    def _small(self, height: float) -> bool:
        return height < self.small_height

    def _cost(self, height: float) -> float:
        return self.small_cost if self._small(height) else 1.0

    def frame(self, rgb: np.ndarray, stamp: float, budget: float, wait: bool = True) -> list[Found]:
        """People in this frame, best first: posed ones and predicted ones (``Found.predicted``).
        ``wait`` False: do not wait for a late detection (the node is behind its camera)."""
        if not self._started:
            found = self._first(rgb)
            self._started = True
            self.clock.started(stamp)
            self._carry(found, stamp)
            self.last = {"posed": len(found), "predicted": 0, "units": float(len(found)), "detect_wait": 0.0}
            return found
        self._take_detection(stamp, wait)
        plan = plan_crops(self.people, [self._cost(float(b[3] - b[1])) for b, _ in self.queue],
                          [self._cost(p.height()) for p in self.people], stamp, self.credit.add(budget),
                          self.max_pose_age, self.priority_people)
        self.credit.spend(plan.spent)
        posed, lost = self._posed(rgb, stamp, plan)
        found = absorb_newcomers(posed + self._predicted(stamp, plan), stamp)
        taken = set(plan.newcomers)
        self.queue = [q for j, q in enumerate(self.queue) if j not in taken]
        kept = merge_same_body(found)
        # a followed person merged away: two crops slid onto one body, someone is unfollowed now
        lost = lost or sum(not f.newcomer for f in kept) < sum(not f.newcomer for f in found)
        if self.max_people > 0:
            kept = kept[: self.max_people]
        self.people = [f.follow for f in kept if f.follow is not None]
        self.clock.maybe_start(stamp, rgb, urgent=lost or not self.people,
                               held=np.array([f.box for f in kept], np.float32).reshape(-1, 4))
        n_pred = sum(f.predicted for f in kept)
        self.last = {"posed": len(kept) - n_pred, "predicted": n_pred, "units": plan.spent,
                     "detect_wait": self.clock.waited}
        return kept

    def _carry(self, found: list[Found], stamp: float) -> None:
        """Follow the clear poses of a fresh detection (a weak one would be "lost" at once)."""
        for f in found:
            if float(np.mean(f.kp[:, 2])) >= self.min_track_score:
                f.follow = Followed(f.kp, f.box, f.box_score, stamp)
        self.people = [f.follow for f in found if f.follow is not None]

    def _take_detection(self, stamp: float, wait: bool) -> None:
        """A landed detection: its boxes that neither the people held when it started nor
        the people followed now hold become the newcomer queue (replacing older ones)."""
        done = self.clock.result(stamp, wait)
        if done is None or done[0] is None:
            return
        (boxes, scores), held = done
        now = np.array([p.predicted(stamp)[1] for p in self.people], np.float32).reshape(-1, 4)
        new = newcomers(boxes, held) & newcomers(boxes, now)
        self.queue = [(np.asarray(b, np.float32), float(s)) for b, s in zip(boxes[new], scores[new])]

    def _posed(self, rgb: np.ndarray, stamp: float, plan: Plan) -> tuple[list[Found], bool]:
        """The planned crops; True as well when a followed person's pose turned weak (left, or
        hidden: the next frame detects)."""
        out: list[Found] = []
        lost = False
        for i in plan.followed:
            p = self.people[i]
            kp_then, box_then = p.predicted(stamp)
            roi = crops.pose_box(kp_then, 0.3, 6)
            roi = box_then if roi is None else roi
            kp = self._pose(rgb, roi, self._small(p.height()))
            if float(np.mean(kp[:, 2])) < self.min_track_score:
                lost = True
                continue
            box = crops.person_box(kp, 0.3, 6)        # reported: as annotators box people
            box = roi if box is None else box
            out.append(Found(person_score(p.box_score, kp), kp, box, p.box_score, follow=p.measured(kp, box, stamp)))
        for j in plan.newcomers:
            box, s = self.queue[j]
            kp = self._pose(rgb, box, self._small(float(box[3] - box[1])))
            f = Found(person_score(s, kp), kp, box, s, newcomer=True)
            if float(np.mean(kp[:, 2])) >= self.min_track_score:   # weak: reported, not followed
                f.follow = Followed(kp, box, s, stamp)
            out.append(f)
        return out, lost

    def _predicted(self, stamp: float, plan: Plan) -> list[Found]:
        posed = set(plan.followed)
        out = []
        for i, p in enumerate(self.people):
            if i in posed:
                continue
            kp, box = p.predicted(stamp)
            out.append(Found(person_score(p.box_score, p.kp), kp, box, p.box_score, predicted=True,
                             age=p.age(stamp), follow=p))
        return out


__all__ = ["Credit", "Followed", "Found", "NEWCOMER_IOU", "Plan", "VideoFollower", "absorb_newcomers",
           "merge_same_body", "newcomers", "person_score", "plan_crops", "same_body"]
