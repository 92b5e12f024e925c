"""Process entry points for the node executables (console scripts and lib/pose_ros)."""
from __future__ import annotations

import importlib
import sys

from pose_ros.paths import use_large_frame_profile

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

EXIT_BAD_INPUT = 2


def node_class(name: str):
    module, cls = NODES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def spin_node(cls, args=None) -> int:
    """Run one node until Ctrl-C; bad sources/parameters exit with code 2 and one clear line."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.exceptions import ParameterException
    from rclpy.signals import SignalHandlerOptions

    from pose_ros.core.video import SourceError

    use_large_frame_profile()
    # Ctrl-C raises KeyboardInterrupt: node threads stop before the context is shut down.
    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    node = None
    try:
        node = cls()
        executor = SingleThreadedExecutor()  # heavy work runs in node threads (see runner.py)
        executor.add_node(node)
        # spin_once in a loop, not spin(): with our own SIGINT handling the executor
        # must come back to Python now and then to see Ctrl-C.
        while rclpy.ok():
            executor.spin_once(timeout_sec=0.2)
    except (SourceError, ValueError, ParameterException) as exc:
        print(f"[{cls.__name__}] error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
    return 0


def main(name: str) -> int:
    return spin_node(node_class(name))


def video_source() -> int:
    return main("video_source")


def pose_estimator() -> int:
    return main("pose_estimator")


def pose_tracker() -> int:
    return main("pose_tracker")


def action_classifier() -> int:
    return main("action_classifier")


def hands_up_stop() -> int:
    return main("hands_up_stop")


def follow_person() -> int:
    return main("follow_person")


def point_target() -> int:
    return main("point_target")
