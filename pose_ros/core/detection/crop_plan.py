"""Who gets a pose crop this frame, under a budget in crop units (one Thunder crop = 1).

Order, until the credit runs out:

0. the people the robot says it is interacting with (``attended``), every frame;
1. the ``priority_people`` who matter most to a robot, the tallest (nearest) and those
   whose box grows (approaching), every frame if they are ``near`` (tall enough for a
   full crop: a far person's pose changes little in a frame), as far as their crops fit
   in ``PRIORITY_SHARE`` of the credit (the rest of the crowd keeps the other part);
2. newcomers of the last person detection, best box first (nobody has seen them yet);
3. people whose pose is older than ``max_pose_age`` s, oldest first (the bound);
4. everyone else by the age of their pose, where the priority people not posed in
   step 1 count ``PRIORITY_WEIGHT`` times their age; they are refreshed in rotation.

From step 2 on, posing stops at the first person the credit cannot pay for. Unspent
credit carries over (at most one crop's worth), so a budget of 0.5 poses one person
every other frame. Pure and deterministic: the same inputs, the same plan.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

PRIORITY_WEIGHT = 4.0       # how much more often the people who matter most are posed under a tight budget
# Share of a frame's credit the priority people may take every frame: the nearest person's
# pose is fresh on every frame while half the budget still refreshes the rest of a crowd.
PRIORITY_SHARE = 0.5


class Candidate(Protocol):
    """A followed person as the plan sees them (:class:`~pose_ros.core.detection.followed.Followed`)."""

    def age(self, stamp: float) -> float: ...

    def importance(self) -> float: ...


@dataclass(frozen=True)
class Plan:
    """Who gets a crop this frame: indices into the followed list and into the newcomers."""

    followed: tuple[int, ...]
    newcomers: tuple[int, ...]
    spent: float


def plan_crops(people: Sequence[Candidate], newcomer_costs: list[float], costs: list[float], stamp: float,
               credit: float, max_pose_age: float, priority_people: int, attended: Sequence[int] = (),
               near: Sequence[bool] | None = None) -> Plan:
    """Spend ``credit`` on crops in the order of the module docstring; stop at the first that does not fit.

    ``costs`` are the followed people's crop costs, ``newcomer_costs`` those of the
    detector's new boxes (best first), ``attended`` indices of followed people the robot
    interacts with, ``near`` which followed people step 1 may pose every frame (None: all).
    Pure and deterministic: the same inputs, the same plan.
    """
    n = len(people)
    first = [i for i in dict.fromkeys(attended) if 0 <= i < n]
    ages = [p.age(stamp) for p in people]
    ranked = sorted(range(n), key=lambda i: (-people[i].importance(), i))
    weight = [1.0] * n
    allowance, spent_first = PRIORITY_SHARE * credit, 0.0
    for i in ranked[:max(priority_people, 0)]:
        weight[i] = PRIORITY_WEIGHT
        if i not in first and (near is None or near[i]) and spent_first + costs[i] <= allowance + 1e-9:
            first.append(i)
            spent_first += costs[i]
    done = set(first)
    overdue = sorted((i for i in range(n) if ages[i] >= max_pose_age and i not in done), key=lambda i: (-ages[i], i))
    done.update(overdue)
    rest = sorted((i for i in range(n) if i not in done), key=lambda i: (-ages[i] * weight[i], -weight[i], i))
    order = [("f", i) for i in first] + [("n", j) for j in range(len(newcomer_costs))] \
        + [("f", i) for i in overdue + rest]
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


__all__ = ["PRIORITY_WEIGHT", "Candidate", "Credit", "Plan", "plan_crops"]
