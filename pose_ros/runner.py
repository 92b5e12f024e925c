"""In-process runner: the graph of launch/pose.launch.py in one process.

`launch` and `launch_ros` are not on PyPI, so in the venv `pose-ros run` starts the
same nodes, with the same parameter file, namespace and remaps, as rclpy nodes in
one process under a multi-threaded executor.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable

from pose_ros.graph import NodeSpec, as_bool, build_graph, resolve_args
from pose_ros.paths import config_file, use_large_frame_profile

EXIT_BAD_INPUT = 2


def _ros_args(spec: NodeSpec, params_file: str) -> list[str]:
    args = ["--ros-args", "--params-file", params_file]
    for src, dst in spec.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


def create_nodes(specs: list[NodeSpec], params_file: str, extra: dict[str, dict] | None = None) -> list:
    """Instantiate the node classes for ``specs`` (rclpy must be initialised)."""
    from rclpy.parameter import Parameter

    from pose_ros.nodes.entry import node_class

    nodes = []
    try:
        for spec in specs:
            overrides = {**spec.overrides, **(extra or {}).get(spec.name, {})}
            nodes.append(node_class(spec.executable)(
                namespace=spec.namespace, cli_args=_ros_args(spec, params_file),
                parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]))
    except Exception:
        for n in nodes:
            n.destroy_node()
        raise
    return nodes


def run(argv_args: dict[str, str], extra: dict[str, dict] | None = None,
        until: Callable[[list], bool] | None = None, extra_nodes: Callable[[], list] | None = None) -> int:
    """Run the graph until Ctrl-C, or until ``until(nodes)`` returns True (checked at 10 Hz)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.exceptions import ParameterException
    from rclpy.signals import SignalHandlerOptions

    from pose_ros.core.video import SourceError

    try:
        args = resolve_args(argv_args)
        specs = build_graph(args)
    except ValueError as exc:
        print(f"pose-ros run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    use_large_frame_profile()
    # Our name:=value arguments are not ROS remaps. Ctrl-C raises KeyboardInterrupt
    # here, so node threads stop before the context goes away (rclpy's own handler
    # would invalidate it under their feet).
    rclpy.init(args=sys.argv[:1], signal_handler_options=SignalHandlerOptions.NO)
    nodes: list = []
    # Single-threaded on purpose: heavy work runs in the nodes' own threads, and rclpy's
    # MultiThreadedExecutor busy-spins on the GIL (measured: 300 ms vs 24 ms per frame
    # of lock-step latency on the demo).
    executor = SingleThreadedExecutor()
    try:
        nodes = create_nodes(specs, args["params_file"], extra)
        if extra_nodes is not None:
            nodes += extra_nodes()
        for n in nodes:
            executor.add_node(n)
        if until is None:
            while rclpy.ok():  # spin_once: come back to Python to see Ctrl-C
                executor.spin_once(timeout_sec=0.2)
        else:
            spin = threading.Thread(target=executor.spin, daemon=True)
            spin.start()
            stop = threading.Event()
            while not stop.wait(0.1):
                if until(nodes):
                    break
    except (SourceError, ValueError, ParameterException) as exc:
        print(f"pose-ros run: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown(timeout_sec=2.0)
        for n in nodes:
            n.destroy_node()
        rclpy.try_shutdown()
    return 0


def parse_launch_style(argv: list[str]) -> dict[str, str]:
    """``name:=value`` pairs, as `ros2 launch` takes them."""
    out = {}
    for a in argv:
        if ":=" not in a:
            raise ValueError(f"expected name:=value, got {a!r}")
        k, v = a.split(":=", 1)
        out[k] = v
    return out
