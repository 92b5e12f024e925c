"""Process entry points for the node executables (console scripts and lib/pose_ros)."""
from __future__ import annotations

import importlib
import sys


# executable name -> "module:NodeClass"
NODES = {
    "video_source": "pose_ros.nodes.video_source:VideoSourceNode",
    "pose_estimator": "pose_ros.nodes.pose_estimator:PoseEstimatorNode",
    "pose_tracker": "pose_ros.nodes.pose_tracker:PoseTrackerNode",
    "action_classifier": "pose_ros.nodes.action_classifier:ActionClassifierNode",
    "hands_up_stop": "pose_ros.examples.hands_up_stop:HandsUpStopNode",
    "follow_person": "pose_ros.examples.follow_person:FollowPersonNode",
    "point_target": "pose_ros.examples.point_target:PointTargetNode",
}


def node_class(name: str):
    module, cls = NODES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def spin_node(cls, args=None) -> int:
    """Run one node until Ctrl-C; bad sources/parameters exit with code 2 and one clear line."""
    from pose_ros.runner import serve
    return serve(lambda: [cls()], cls.__name__, args if args is not None else sys.argv)


def main(name: str) -> int:
    return spin_node(node_class(name))


def _entry(name: str):
    """A console-script function for node ``name`` (setup.py points each executable at one).

    Ctrl-C handling comes first, before the node's module imports torch or mediapipe,
    and the process ends through shutdown.finish (see pose_ros/shutdown.py).
    """
    def run() -> int:
        from pose_ros import shutdown
        shutdown.install()
        shutdown.finish(main(name))
    run.__name__ = run.__qualname__ = name
    return run


video_source = _entry("video_source")
pose_estimator = _entry("pose_estimator")
pose_tracker = _entry("pose_tracker")
action_classifier = _entry("action_classifier")
hands_up_stop = _entry("hands_up_stop")
follow_person = _entry("follow_person")
point_target = _entry("point_target")
