"""The examples' decisions as plain Python (numpy and pose_ros.api, no rclpy).

The nodes only turn messages into calls here and results into messages, so the
behaviour is unit-tested without ROS (test/unit/test_example_logic.py) and can be
reused in another framework. All times are message stamps in seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pose_ros.api import Frame3D, People, TrackState, box_heights, centers, depths, quaternion_from_x_to


# ------------------------------------------------------------------------ hands_up_stop
@dataclass
class StopLatch:
    """Stop while anyone has their hands up; release ``release_delay`` s after the last one lowered them.

    :meth:`update` takes the set of ids with raised hands after each message and returns
    who newly raised them and whether the stop was released now.
    """

    release_delay: float
    stopped: bool = False
    latest: float = -math.inf        # newest message stamp seen
    last_raised: float = -math.inf   # stamp when someone last had their hands up
    raised: set[str] = field(default_factory=set)

    def update(self, stamp: float, raised: set[str]) -> tuple[list[str], bool]:
        before, self.raised = self.raised, set(raised)
        self.latest = max(self.latest, stamp)
        if raised:
            self.last_raised = self.latest
            self.stopped = True
            return sorted(raised - before), False
        if before:
            self.last_raised = stamp  # the END event's stamp is when the hands went down
        if self.stopped and self.latest - self.last_raised >= self.release_delay:
            self.stopped = False
            return [], True
        return [], False


# ------------------------------------------------------------------------ follow_person
@dataclass(frozen=True)
class FollowGains:
    target_distance: float = 1.5
    target_height_fraction: float = 0.6
    angular_gain: float = 1.5
    linear_gain: float = 0.5
    max_angular: float = 1.0
    max_linear: float = 0.5


def follow_command(people: People, i: int, g: FollowGains) -> tuple[float, float] | None:
    """(linear.x, angular.z) toward person ``i``; None when their position is unknown.

    angular.z = -angular_gain * offset (offset of the box centre from the image centre in
    half widths: a person on the left turns left); linear.x = linear_gain * (distance -
    target_distance), the distance from camera-frame depth, else from the box height
    (target_distance at target_height_fraction of the image, distance ~ 1 / height).
    No distance: turn only.
    """
    cx = centers(people)[i, 0]
    if not np.isfinite(cx) or people.width <= 0:
        return None
    offset = (cx - people.width / 2.0) / (people.width / 2.0)
    dist = depths(people)[i]
    if not np.isfinite(dist):
        frac = box_heights(people)[i] / people.height if people.height > 0 else np.nan
        dist = g.target_distance * g.target_height_fraction / frac if frac > 1e-3 else np.nan
    angular = float(np.clip(-g.angular_gain * offset, -g.max_angular, g.max_angular))
    linear = float(np.clip(g.linear_gain * (dist - g.target_distance), -g.max_linear, g.max_linear)) \
        if np.isfinite(dist) else 0.0
    return linear, angular


@dataclass
class Follower:
    """Follow whoever waved last; stop once when the target is lost for ``lost_timeout`` s."""

    lost_timeout: float
    target: str | None = None
    last_seen: float = -math.inf    # stamp of the last frame with the target
    latest: float = -math.inf       # newest skeleton stamp
    moving: bool = False            # a non-zero command is in force

    def waved(self, person_id: str, stamp: float) -> str | None:
        """A wave START: returns the previous target ('' for none) when the target changes, else None."""
        if not person_id or person_id == self.target:
            return None
        old, self.target = self.target or "", person_id
        self.last_seen = max(self.latest, stamp)
        return old

    def frame(self, people: People, gains: FollowGains) -> tuple[str, tuple[float, float] | None, str]:
        """One skeletons frame -> (what, command, note).

        what: 'follow' (command to send; note 'start' when it starts moving), 'stop' (send
        one zero command; note says why) or 'none' (send nothing).
        """
        self.latest = max(self.latest, people.stamp)
        if self.target is None:
            return "none", None, ""
        i = people.index(self.target)
        if i is not None and people.track_states[i] != TrackState.LOST:
            cmd = follow_command(people, i, gains)
            if cmd is not None:
                start = not self.moving
                self.last_seen, self.moving = people.stamp, True
                return "follow", cmd, "start" if start else ""
        if people.stamp - self.last_seen > self.lost_timeout:
            return self.stop(f"target {self.target} lost for {people.stamp - self.last_seen:.1f} s")
        return "none", None, ""

    def stop(self, why: str) -> tuple[str, None, str]:
        """('stop', None, why) the first time, ('none', None, '') while already stopped."""
        if not self.moving:
            return "none", None, ""
        self.moving = False
        return "stop", None, why


# ------------------------------------------------------------------------- point_target
def pointing_target(ray: tuple[np.ndarray, np.ndarray] | None, frame_3d: int | None, distance: float
                    ) -> tuple[np.ndarray, tuple[float, float, float, float]] | str:
    """(position, quaternion x, y, z, w) ``distance`` m along the ray, the pose's +x along it.

    Returns why not instead: 'no_ray' (2D only: depth is needed) or 'body_frame' (the 3D
    keypoints are body-centred, not in the camera frame).
    """
    if ray is None:
        return "no_ray"
    if frame_3d == Frame3D.BODY:
        return "body_frame"
    origin, direction = ray
    return origin + distance * direction, quaternion_from_x_to(direction)
