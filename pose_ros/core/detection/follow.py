"""Video mode of a top-down backend: follow people crop to crop, pose within budget, predict the rest.

A top-down backend pays one crop per person, so a crowd makes every frame late. Under a
per-frame budget (:mod:`~pose_ros.core.detection.crop_plan` says who is posed) everyone
not posed in a frame is *predicted*: their last pose moved by their velocity, reported
with ``predicted`` set and the age of the measurement. Each detection *locates* the
followed people it finds (:meth:`~pose_ros.core.detection.followed.Followed.located`:
position and velocity corrected, no crop), and only boxes nobody explains are newcomers;
a prediction older than twice ``max_pose_age`` is dropped, and the detector finds the
person again. With an unbounded budget (``math.inf``) everyone is posed every frame.
Everything here depends on the frames, their stamps and the budget only.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pose_ros.core.detection import crops
from pose_ros.core.detection.background import DetectionClock
from pose_ros.core.detection.crop_plan import Credit, Plan, plan_crops
from pose_ros.core.detection.followed import Followed, locate
from pose_ros.core.detection.weak import WeakBoxes
from pose_ros.core.geometry import iou_matrix
from pose_ros.core.tracking.similarity import oks

_SEGMENT_PER_BOX = 0.53     # COCO person segment area / box area: the OKS scale of a box
_SAME_BODY_OKS = 0.6        # two skeletons this alike are one person seen twice
# A detection's box is a newcomer unless it overlaps a followed person's box this much.
# People standing close together overlap by 0.3-0.5, so a lower bar refused the one
# nobody followed; a box that does hold a followed person gives a pose that repeats
# it, and merge_same_body drops that copy (docs/benchmarks.md, PETS09).
NEWCOMER_IOU = 0.5
ATTEND_IOU = 0.3             # a followed person is the attended track whose last box overlaps theirs this much
STALE_AGES = 2.0             # a predicted pose this many max_pose_age old is dropped, not published
MATCH_IOU = 0.3              # a followed person explains the detector box they overlap most, from this IoU


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
    handle: int = -1                # for the tracker (Person.follow): a predicted person, or one posed
                                    # again after predictions; -1 when the crop alone tells


def repeats_matrix(people: list[Found], min_joint: float = 0.3) -> np.ndarray:
    """(N, N) bool: row person repeats column person. The same body by OKS (>= 0.6 at the
    row's box scale), or, for a predicted row person, a box overlapping the column's by half
    (a prediction that drifted a little is no second person). One vectorised pass: a crowd
    of predicted people is compared every frame."""
    n = len(people)
    if n == 0:
        return np.zeros((0, 0), bool)
    kp = np.stack([p.kp for p in people])
    box = np.stack([p.box for p in people]).astype(np.float64)
    area = _SEGMENT_PER_BOX * np.maximum((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]), 1.0)
    same = oks(kp[:, None], kp[None], area[:, None], min_joint) >= _SAME_BODY_OKS
    predicted = np.array([p.predicted for p in people])
    same |= predicted[:, None] & (iou_matrix(box, box) >= NEWCOMER_IOU)
    np.fill_diagonal(same, False)
    return same


def merge_same_body(people: list[Found], min_joint: float = 0.3) -> list[Found]:
    """Drop a person whose pose repeats a better one: measured poses beat predicted ones,
    then the higher score wins (a newcomer's crop, cut around the detector's box, often
    beats a followed crop that drifted: PETS09, docs/benchmarks.md). Best first."""
    people = sorted(people, key=lambda p: (p.predicted, -p.score))
    same = repeats_matrix(people, min_joint)
    kept: list[int] = []
    for i in range(len(people)):
        if not same[i, kept].any():
            kept.append(i)
    return [people[i] for i in kept]


def absorb_newcomers(found: list[Found], stamp: float) -> list[Found]:
    """A newcomer whose pose repeats a predicted person is that person measured again: it
    keeps their motion (and is no longer new), and the predicted copy goes."""
    if not any(f.newcomer for f in found):
        return found
    same = repeats_matrix(found)
    gone: set[int] = set()
    for i, f in enumerate(found):
        if not f.newcomer or f.follow is None:
            continue
        twin = next((j for j, p in enumerate(found) if p.predicted and j not in gone and same[j, i]), None)
        if twin is not None and found[twin].follow is not None:
            gone.add(twin)
            f.follow = found[twin].follow.measured(f.kp, f.box, stamp)
            f.newcomer, f.handle = False, f.follow.handle
    return [f for j, f in enumerate(found) if j not in gone]


def newcomers(boxes: np.ndarray, held: np.ndarray, same_iou: float = NEWCOMER_IOU,
              match_iou: float | None = None) -> np.ndarray:
    """Mask of the detector ``boxes`` (K, 4) that no ``held`` box explains.

    A box overlapping a held box by ``same_iou`` is that person (again, or a second box of
    theirs). With ``match_iou``, each held box also explains the one box it overlaps most
    from that IoU on (pairs taken greedily, best first): a followed person whose reported
    box is a little off its detector box (small people: a few pixels of keypoint noise, a
    frame of motion) is still explained, while the person beside them stays new.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    held = np.asarray(held, np.float32).reshape(-1, 4)
    if not len(held):
        return np.ones(len(boxes), bool)
    iou = iou_matrix(boxes, held)
    new = iou.max(axis=1) < same_iou
    if match_iou is None:
        return new
    free_box, free_held = np.ones(len(boxes), bool), np.ones(len(held), bool)
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(held))
        if iou[i, j] < match_iou:
            break
        if free_box[i] and free_held[j]:
            free_box[i] = free_held[j] = False
    return new & free_box


def _reported_box(kp: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """A posed person's reported box: drawn from the pose as annotators box people, else ``fallback``."""
    box = crops.person_box(kp, 0.3, 6)
    return fallback if box is None else box


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
        self._handles = 0
        self.last: dict[str, float] = {}     # the last frame: posed, predicted, units, detect_wait
        self.reset()

    def reset(self) -> None:
        """Forget everyone; the next frame detects and poses at once."""
        self.clock.reset()
        self.credit.reset()
        self.people: list[Followed] = []
        self.queue: list[tuple[np.ndarray, float]] = []    # newcomer boxes waiting for a crop
        self.weak = WeakBoxes()                             # boxes whose pose was too weak to follow
        self._started = False

    def _small(self, height: float) -> bool:
        return height < self.small_height

    def _cost(self, height: float) -> float:
        return self.small_cost if self._small(height) else 1.0

    def frame(self, rgb: np.ndarray, stamp: float, budget: float, wait: bool = True,
              attend: np.ndarray | None = None) -> list[Found]:
        """People in this frame, best first: posed ones and predicted ones (``Found.predicted``).
        ``wait`` False: do not wait for a late detection (the node is behind its camera);
        ``attend``: (K, 4) last boxes of the people the robot interacts with, posed first."""
        if not self._started or (not self.people and not self.queue and self.clock.idle_due(stamp)):
            # nobody to follow (the start, or an empty scene): detect on this frame, at most
            # once a period, so that whoever appears is posed on the first frame it is due
            found = self._first(rgb)
            self._started = True
            self.clock.started(stamp)
            self._carry(found, stamp)
            self._summarise(found, float(len(found)))
            return found
        self._take_detection(stamp, wait)
        plan = plan_crops(self.people, [self._cost(float(b[3] - b[1])) for b, _ in self.queue],
                          [self._cost(p.height()) for p in self.people], stamp, self.credit.add(budget),
                          self.max_pose_age, self.priority_people, self._attended(stamp, attend),
                          near=[not self._small(p.height()) for p in self.people])
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
                               held=(stamp, np.array([f.box for f in kept], np.float32).reshape(-1, 4)))
        self._summarise(kept, plan.spent)
        return kept

    def _attended(self, stamp: float, boxes: np.ndarray | None) -> list[int]:
        """Indices of the followed people whose box, moved to ``stamp``, best overlaps one of
        ``boxes`` (IoU >= ATTEND_IOU): the robot names people by track, the follower by crop."""
        if boxes is None or not len(boxes) or not self.people:
            return []
        now = np.array([p.box_at(stamp) for p in self.people], np.float32).reshape(-1, 4)
        iou = iou_matrix(np.asarray(boxes, np.float32).reshape(-1, 4), now)
        best = iou.argmax(axis=1)
        return [int(j) for k, j in enumerate(best) if iou[k, j] >= ATTEND_IOU]

    def _summarise(self, found: list[Found], units: float) -> None:
        """``last``: people posed and predicted, units spent, the units that would pose everyone
        followed next frame (the node's budget compares it with what fits), detector wait."""
        n_pred = sum(f.predicted for f in found)
        self.last = {"posed": len(found) - n_pred, "predicted": n_pred, "units": units,
                     "demand": sum(self._cost(p.height()) for p in self.people),
                     "detect_wait": self.clock.waited}

    def _carry(self, found: list[Found], stamp: float) -> None:
        """Follow the clear poses of a fresh detection (a weak one would be "lost" at once)."""
        for f in found:
            if float(np.mean(f.kp[:, 2])) >= self.min_track_score:
                f.follow = self._new(f.kp, f.box, f.box_score, stamp)
        self.people = [f.follow for f in found if f.follow is not None]

    def _new(self, kp: np.ndarray, box: np.ndarray, box_score: float, stamp: float) -> Followed:
        """Someone followed from now on, with a handle of their own (never reused)."""
        self._handles += 1
        return Followed(kp, box, box_score, stamp, handle=self._handles)

    def _take_detection(self, stamp: float, wait: bool) -> None:
        """A landed detection: it locates the followed people it finds (their box then, by
        centre distance), and its boxes that neither they nor the people held when it
        started nor the people followed now explain become the newcomer queue (replacing
        older ones)."""
        done = self.clock.result(stamp, wait)
        if done is None or done[0] is None:
            return
        (boxes, scores), (when, held) = done
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        located = np.zeros(len(boxes), bool)
        if self.people and len(boxes):
            then = np.array([p.box_at(when) for p in self.people], np.float32)
            for i, k in locate(then, boxes):
                located[k] = True
                if self.people[i].stamp < when:     # predicted then: the box says where they were
                    self.people[i] = self.people[i].located(boxes[k], when)
        now = np.array([p.box_at(stamp) for p in self.people], np.float32).reshape(-1, 4)
        new = newcomers(boxes, held, match_iou=MATCH_IOU) & newcomers(boxes, now, match_iou=MATCH_IOU) & ~located
        new &= self.weak.allowed(boxes)
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
            box = _reported_box(kp, roi)
            out.append(Found(person_score(p.box_score, kp), kp, box, p.box_score, follow=p.measured(kp, box, stamp),
                             handle=p.handle if p.carried else -1))
        for j in plan.newcomers:
            det_box, s = self.queue[j]
            kp = self._pose(rgb, det_box, self._small(float(det_box[3] - det_box[1])))
            box = _reported_box(kp, det_box)   # from this frame's pose, like every later box of theirs
            f = Found(person_score(s, kp), kp, box, s, newcomer=True)
            if float(np.mean(kp[:, 2])) >= self.min_track_score:   # weak: reported, not followed
                f.follow = self._new(kp, box, s, stamp)
                self.weak.clear_at(det_box)
            else:
                self.weak.weak(det_box)
            out.append(f)
        return out, lost

    def _predicted(self, stamp: float, plan: Plan) -> list[Found]:
        """Everyone not posed, moved to ``stamp``; a pose older than twice ``max_pose_age`` is
        no longer followed (the budget cannot keep up with everyone: the detector finds them again)."""
        posed = set(plan.followed)
        out = []
        for i, p in enumerate(self.people):
            if i in posed or p.age(stamp) > STALE_AGES * self.max_pose_age:
                continue
            kp, box = p.predicted(stamp)
            p.carried = True
            out.append(Found(person_score(p.box_score, p.kp), kp, box, p.box_score, predicted=True,
                             age=p.age(stamp), follow=p, handle=p.handle))
        return out


__all__ = ["Found", "NEWCOMER_IOU", "VideoFollower", "absorb_newcomers", "merge_same_body", "newcomers",
           "person_score", "repeats_matrix"]
