"""Live ``tracker.*`` / ``smoother.*`` changes, shared by pose_estimator and pose_tracker.

Every change is checked against the full set of values, by building a throwaway Tracker
and smoother from them, whether or not the node has a running tracker: a value accepted
while the node is unconfigured (or with ``tracking: false``) must not make a later
``configure`` fail. Only then does it go into the running stages, under the processing
lock (never in the middle of a frame).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pose_ros.core.tracking.smoothing import SkeletonSmoother
from pose_ros.core.tracking.tracker import Tracker
from pose_ros.nodes.params import group


def check_live_params(values: Mapping[str, Any], changes: Mapping[str, Any]) -> str | None:
    """Why ``changes`` on top of ``values`` (full parameter names) make no valid tracker or
    smoother, or None."""
    merged = {**values, **changes}
    try:
        Tracker(**group(merged, "tracker"))
        SkeletonSmoother(**group(merged, "smoother"))
    except (TypeError, ValueError) as exc:
        return f"rejected: {exc}"
    return None


def apply_live_params(lock: threading.Lock, stages: Any, changes: Mapping[str, Any],
                      values: Mapping[str, Any]) -> str | None:
    """Check ``changes`` (see :func:`check_live_params`), then hand them to ``set_params`` of
    ``stages.tracker`` / ``stages.smoother`` where those exist; the reason when refused
    (then nothing changed), else None."""
    reason = check_live_params(values, changes)
    if reason is not None:
        return reason
    tracker_changes, smoother_changes = group(changes, "tracker"), group(changes, "smoother")
    with lock:
        tracker = getattr(stages, "tracker", None) if tracker_changes else None
        smoother = getattr(stages, "smoother", None) if smoother_changes else None
        old = tracker.params if tracker is not None else None
        try:
            if tracker is not None:
                tracker.set_params(**tracker_changes)
            if smoother is not None:
                smoother.set_params(**smoother_changes)
        except (TypeError, ValueError) as exc:   # checked above; kept all-or-nothing all the same
            if tracker is not None:
                tracker.set_params(**old)
            return f"rejected: {exc}"
    return None


__all__ = ["apply_live_params", "check_live_params"]
