"""In-process runner: the graph of launch/pose.launch.py in one process.

`launch` and `launch_ros` are not on PyPI, so in the venv `pose-ros run` starts the
same nodes, with the same parameter file, namespace and remaps, as rclpy nodes in
one process under a single-threaded executor (see serve()).

With ``respawn:=true`` the runner supervises instead (pose_ros/respawn.py): the
graph runs in a child process that is started again, after ``respawn_delay``
seconds, whenever it dies abnormally. The nodes share one process, so the unit
that is respawned is the whole graph, where ``ros2 launch`` respawns single nodes.
"""
from __future__ import annotations

import sys
import time
from typing import Callable

from pose_ros import shutdown
from pose_ros.dds_shm import clean_dead
from pose_ros.exits import EXIT_BAD_INPUT
from pose_ros.graph import NodeSpec, as_bool, build_graph, node_class, resolve_args, respawn_policy
from pose_ros.paths import use_large_frame_profile
from pose_ros.spin import BackgroundSpin


def _ros_args(spec: NodeSpec, params_file: str) -> list[str]:
    args = ["--ros-args", "--params-file", params_file]
    for src, dst in spec.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


def create_nodes(specs: list[NodeSpec], params_file: str, extra: dict[str, dict] | None = None) -> list:
    """Instantiate the node classes for ``specs`` (rclpy must be initialised)."""
    from rclpy.parameter import Parameter

    nodes = []
    try:
        for spec in specs:
            overrides = {**spec.overrides, **(extra or {}).get(spec.name, {})}
            nodes.append(node_class(spec.executable)(
                namespace=spec.namespace, cli_args=_ros_args(spec, params_file),
                parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]))
    except BaseException:  # also Ctrl-C while a model loads (shutdown.ShutdownRequested)
        for n in nodes:
            n.destroy_node()
        raise
    return nodes


def one_line(exc: BaseException) -> str:
    """An error message on one line (library messages can span several)."""
    return " ".join(str(exc).split())


def serve(make_nodes: Callable[[], list], label: str, ros_args: list[str],
          until: Callable[[list], bool] | None = None) -> int:
    """Init rclpy, create the nodes, spin until Ctrl-C (or ``until(nodes)``), shut down in order.

    The one process skeleton for `pose-ros run`, the demo and every node executable.
    Ctrl-C and SIGTERM go to pose_ros.shutdown's handler (rclpy installs none): a first
    signal while nodes and models load unwinds here, one while serving ends the spin
    loop, and any further signal is ignored, so node threads stop and nodes are
    destroyed before the context goes away, and the result is 0. Bad sources,
    parameters and model files (also when a managed node fails to autostart because of
    one) print one line and exit with code 2.
    """
    from rclpy.exceptions import ParameterException

    from pose_ros.core.detection.base import BackendError
    from pose_ros.core.imaging.video import SourceError

    bad_input = (SourceError, ValueError, ParameterException, BackendError)  # ModelError is a BackendError
    with shutdown.handling():
        shutdown.set_phase(shutdown.LOADING)
        try:
            use_large_frame_profile()
            return _serve(make_nodes, label, ros_args, until, bad_input)
        except shutdown.ShutdownRequested:  # arrived between the steps of an error path: still a clean stop
            return 0


def _serve(make_nodes: Callable[[], list], label: str, ros_args: list[str],
           until: Callable[[list], bool] | None, bad_input: tuple) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from pose_ros.nodes.lifecycle import StartupError

    executor = None
    spinner: BackgroundSpin | None = None
    nodes: list = []
    serving = False
    try:
        clean_dead()  # Fast DDS shared memory of processes killed with SIGKILL (pose_ros/dds_shm.py)
        rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
        # Single-threaded on purpose: heavy work runs in the nodes' own threads, and rclpy's
        # MultiThreadedExecutor busy-spins on the GIL (it multiplied the demo's lock-step
        # latency per frame when tried).
        executor = SingleThreadedExecutor()
        nodes = make_nodes()
        for n in nodes:
            executor.add_node(n)
        serving = True
        shutdown.set_phase(shutdown.SERVING)
        if shutdown.requested():  # a signal was swallowed while loading (e.g. inside an import)
            return 0
        if until is None:
            while rclpy.ok() and not shutdown.requested():  # spin_once: come back to Python to see Ctrl-C
                executor.spin_once(timeout_sec=0.2)
        else:
            spinner = BackgroundSpin(executor)   # stopped before the nodes go (see finally)
            while not until(nodes) and not shutdown.requested():
                time.sleep(0.1)
    except bad_input as exc:
        if shutdown.requested():  # failed because Ctrl-C interrupted it: a requested stop, not an error
            return 0
        if serving:  # escaped from a callback: a bug (traceback, exit 1), not a bad parameter (exit 2)
            raise
        print(f"{label}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StartupError as exc:  # a managed node could not autostart: bad input unless it was a surprise
        if shutdown.requested():
            return 0
        print(f"{label}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc.__cause__, bad_input) else 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        shutdown.set_phase(shutdown.CLEANUP)  # from here on signals are ignored
        if spinner is not None:   # no thread may wait in the executor while nodes are destroyed
            spinner.stop()
        if executor is not None:
            executor.shutdown(timeout_sec=2.0)
        for n in nodes:
            n.destroy_node()
        rclpy.try_shutdown()
    return 0


def run(argv_args: dict[str, str], extra: dict[str, dict] | None = None,
        until: Callable[[list], bool] | None = None, extra_nodes: Callable[[], list] | None = None) -> int:
    """Run the graph until Ctrl-C, or until ``until(nodes)`` returns True (checked at 10 Hz).

    ``argv_args`` are the arguments the user gave (name -> value), checked against the one
    table in pose_ros.graph; only those override values of the parameter file.
    """
    try:
        args = resolve_args(argv_args)
        specs = build_graph(args)
        policy = respawn_policy(args)
    except ValueError as exc:
        print(f"pose-ros run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if policy.respawn:
        if extra is not None or until is not None or extra_nodes is not None:
            print("pose-ros run: respawn:=true supervises a child process, which cannot share in-process "
                  "callbacks (extra, until, extra_nodes)", file=sys.stderr)
            return EXIT_BAD_INPUT
        from pose_ros.respawn import supervise
        shutdown.uninstall()  # the supervisor handles Ctrl-C itself (KeyboardInterrupt) and stops its child
        return supervise(argv_args, policy)

    def make_nodes() -> list:
        nodes = create_nodes(specs, args["params_file"], extra)
        return nodes + (extra_nodes() if extra_nodes is not None else [])

    rviz = start_rviz(args) if as_bool(args["rviz"]) else None
    try:
        # Our name:=value arguments are not ROS remaps: only argv[0] and the log level go to rclpy.
        return serve(make_nodes, "pose-ros run", sys.argv[:1] + ["--ros-args", "--log-level", args["log_level"]],
                     until)
    finally:
        if rviz is not None:
            from pose_ros.procs import stop_process
            stop_process(rviz)


def start_rviz(args: dict[str, str]):
    """rviz2 with config/pose.rviz as a child process (stopped with the runner), or a warning if it is absent."""
    from pose_ros.paths import config_file, find_rviz2, rviz_missing_message
    from pose_ros.procs import start_process
    exe = find_rviz2()
    if exe is None:
        print(f"pose-ros run: warning: {rviz_missing_message()}", file=sys.stderr)
        return None
    cmd = [exe, "-d", str(config_file("pose.rviz"))]
    if args["use_sim_time"]:
        cmd += ["--ros-args", "-p", f"use_sim_time:={args['use_sim_time']}"]
    return start_process(cmd, log=None, die_with_parent=True)


def parse_launch_style(argv: list[str]) -> dict[str, str]:
    """``name:=value`` pairs, as `ros2 launch` takes them."""
    out = {}
    for a in argv:
        if ":=" not in a:
            raise ValueError(f"expected name:=value, got {a!r}")
        k, v = a.split(":=", 1)
        out[k] = v
    return out
