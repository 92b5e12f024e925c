"""The node registry and the launch graph, described once, without ROS imports.

Everything that lists the package's executables or builds its graph reads this module:
setup.py (console scripts), CMakeLists.txt (through ``scripts/executables.txt``, which
scripts/gen_config.py writes from :data:`EXECUTABLES`), ``pose_ros.nodes.entry``,
scripts/gen_config.py (config/pose.yaml), ``pose-ros run`` (pose_ros/runner.py) and
launch/pose.launch.py, which imports this module instead of copying it.
"""
from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field

from pose_ros.paths import config_file


# ------------------------------------------------------------------ the node registry
@dataclass(frozen=True)
class Executable:
    """One installed executable: ``target`` is ``module:NodeClass``, ``params`` ``module:PARAM_LIST``."""

    target: str
    params: str
    example: bool = False  # a reaction node of pose_ros/examples, not part of the launch graph


# executable name -> what it runs; the order is that of config/pose.yaml
EXECUTABLES: dict[str, Executable] = {
    "pose_estimator": Executable("pose_ros.nodes.pose_estimator:PoseEstimatorNode",
                                 "pose_ros.nodes.estimator_params:ESTIMATOR_PARAMS"),
    "video_source": Executable("pose_ros.nodes.video_source:VideoSourceNode",
                               "pose_ros.nodes.video_source:VIDEO_PARAMS"),
    "pose_tracker": Executable("pose_ros.nodes.pose_tracker:PoseTrackerNode",
                               "pose_ros.nodes.pose_tracker:TRACKER_NODE_PARAMS"),
    "action_classifier": Executable("pose_ros.nodes.action_classifier:ActionClassifierNode",
                                    "pose_ros.nodes.action_params:ACTION_PARAMS"),
    "hri_bridge": Executable("pose_ros.nodes.hri_bridge:HriBridgeNode", "pose_ros.nodes.hri_bridge:HRI_PARAMS"),
    "hands_up_stop": Executable("pose_ros.examples.hands_up_stop:HandsUpStopNode",
                                "pose_ros.examples.hands_up_stop:PARAMS", example=True),
    "follow_person": Executable("pose_ros.examples.follow_person:FollowPersonNode",
                                "pose_ros.examples.follow_person:PARAMS", example=True),
    "point_target": Executable("pose_ros.examples.point_target:PointTargetNode",
                               "pose_ros.examples.point_target:PARAMS", example=True),
}


def node_class(name: str) -> type:
    """The node class of executable ``name`` (imported on demand: this module stays free of rclpy)."""
    module, cls = EXECUTABLES[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


# ------------------------------------------------------------------ launch arguments
@dataclass(frozen=True)
class Argument:
    """A launch argument; ``choices`` (when set) are the only accepted values, as DeclareLaunchArgument checks."""

    default: str
    description: str
    choices: tuple[str, ...] | None = None

    def choices_text(self) -> str:
        return ", ".join("''" if c == "" else c for c in self.choices or ())


BOOL = ("true", "false")
NOT_GIVEN = ""  # the default of arguments whose value otherwise comes from params_file
# test_package checks them against the choices of pose_estimator's `backend` parameter
BACKENDS = ("thunder", "mediapipe", "movenet", "topdown", "onnx", "yolo")
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")

# name -> argument; the launch file declares exactly these, `pose-ros run` takes the same.
LAUNCH_ARGUMENTS: dict[str, Argument] = {
    "camera_topic": Argument("/camera/image_raw", "sensor_msgs/Image topic of the camera"),
    "compressed": Argument(NOT_GIVEN, "subscribe to <camera_topic>/compressed (CompressedImage); empty = "
                                      "pose_estimator's 'compressed' in params_file (false)", (NOT_GIVEN, *BOOL)),
    "backend": Argument(NOT_GIVEN, "pose backend; empty = pose_estimator's 'backend' in params_file (thunder)",
                        (NOT_GIVEN, *BACKENDS)),
    "params_file": Argument("", "parameter YAML; empty = config/pose.yaml of the package"),
    "namespace": Argument("/pose", "namespace of the nodes and their topics"),
    "depth_topic": Argument("", "aligned depth image topic; empty = no depth"),
    "camera_info_topic": Argument("", "CameraInfo topic; empty = <camera_topic dir>/camera_info"),
    "actions": Argument("true", "start action_classifier", BOOL),
    "hri": Argument("true", "start hri_bridge: REP-155 (ROS4HRI) bodies on /humans/bodies/... and body_<id> "
                            "frames on /tf", BOOL),
    "video": Argument("", "video file / image folder to publish with video_source instead of a camera"),
    "rviz": Argument("false", "start rviz2 with config/pose.rviz (skipped with a warning when rviz2 is not "
                              "installed)", BOOL),
    "use_sim_time": Argument(NOT_GIVEN, "use /clock (bag replay with --clock); empty = the nodes' value in "
                                        "params_file (false)", (NOT_GIVEN, *BOOL)),
    "log_level": Argument("info", "log level of the nodes (--ros-args --log-level)", LOG_LEVELS),
    "respawn": Argument("false", "restart a node that died (pose-ros run: the whole graph); not after exit code "
                                 "0 or 2 (bad input or configuration)", BOOL),
    "respawn_delay": Argument("2.0", "seconds to wait before a respawn"),
    "respawn_max_retries": Argument("5", "respawns of a node before it is given up; -1 = no limit"),
}

_NAMESPACE = re.compile(r"^(/[A-Za-z_][A-Za-z0-9_]*)*/?$")


def as_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def resolve_args(given: dict[str, str] | None = None) -> dict[str, str]:
    """Defaults overlaid with ``given``, checked; unknown names and values outside ``choices`` are errors.

    Arguments left at NOT_GIVEN stay empty, so that :func:`build_graph` overrides only what
    the user gave and a value in their params_file wins over an argument they did not give.
    """
    given = {k: str(v) for k, v in (given or {}).items()}
    unknown = set(given) - set(LAUNCH_ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown argument(s) {sorted(unknown)}; known: {sorted(LAUNCH_ARGUMENTS)}")
    args = {k: a.default for k, a in LAUNCH_ARGUMENTS.items()}
    args.update(given)
    for name, value in args.items():
        choices = LAUNCH_ARGUMENTS[name].choices
        if choices is not None and value not in choices:
            raise ValueError(f"argument '{name}' must be one of {LAUNCH_ARGUMENTS[name].choices_text()}; "
                             f"got {value!r}")
    if not _NAMESPACE.match(args["namespace"]):
        raise ValueError(f"argument 'namespace' must be an absolute ROS namespace such as /pose; "
                         f"got {args['namespace']!r}")
    if not args["params_file"]:
        args["params_file"] = str(config_file())
    respawn_policy(args)  # bad numbers fail here, before anything starts
    return args


# ------------------------------------------------------------------ respawn and exit codes
@dataclass(frozen=True)
class RespawnPolicy:
    """What happens when a node (or the runner's graph process) exits: one rule for launch and runner."""

    respawn: bool = False
    delay: float = 2.0
    max_retries: int = 5  # -1: no limit

    def after_exit(self, code: int, restarts: int) -> str:
        """'done' (exit 0, or a death without respawn), 'bad_input' (exit 2: a respawn would fail the
        same way, the graph is stopped), 'respawn', or 'give_up' (``max_retries`` respawns used)."""
        from pose_ros.exits import EXIT_BAD_INPUT, EXIT_OK
        if code == EXIT_OK:
            return "done"
        if code == EXIT_BAD_INPUT:
            return "bad_input"
        if not self.respawn:
            return "done"
        if self.max_retries < 0 or restarts < self.max_retries:
            return "respawn"
        return "give_up"


def respawn_policy(args: dict[str, str]) -> RespawnPolicy:
    """The respawn arguments of resolved ``args``; ValueError names the bad one."""
    respawn = as_bool(args["respawn"])
    try:
        delay = float(args["respawn_delay"])
    except ValueError:
        delay = math.nan
    if not 0.0 <= delay <= 3600.0:  # also refuses NaN
        raise ValueError(f"respawn_delay must be seconds between 0 and 3600, got {args['respawn_delay']!r}")
    try:
        retries = int(args["respawn_max_retries"])
    except ValueError:
        retries = -2
    if retries < -1:
        raise ValueError(f"respawn_max_retries must be an integer >= 0, or -1 for no limit; "
                         f"got {args['respawn_max_retries']!r}")
    return RespawnPolicy(respawn, delay, retries)


# ------------------------------------------------------------------ the graph
@dataclass
class NodeSpec:
    executable: str
    name: str
    namespace: str = "/pose"
    remappings: list[tuple[str, str]] = field(default_factory=list)
    overrides: dict[str, object] = field(default_factory=dict)  # only what the user gave as arguments


def camera_info_topic(args: dict[str, str]) -> str:
    if args["camera_info_topic"]:
        return args["camera_info_topic"]
    cam = args["camera_topic"].rstrip("/")
    return (cam.rsplit("/", 1)[0] or "") + "/camera_info"


def build_graph(args: dict[str, str]) -> list[NodeSpec]:
    """The nodes for resolved launch arguments (see :func:`resolve_args`)."""
    ns = args["namespace"]
    cam = args["camera_topic"]
    info = camera_info_topic(args)
    common: dict[str, object] = {}
    if args["use_sim_time"] != NOT_GIVEN:
        common["use_sim_time"] = as_bool(args["use_sim_time"])
    nodes: list[NodeSpec] = []
    if args["video"]:
        nodes.append(NodeSpec("video_source", "video_source", ns, [("image", cam), ("camera_info", info)],
                              {**common, "source": args["video"]}))
    est_remaps = [("image", cam), ("image/compressed", cam + "/compressed"), ("camera_info", info)]
    est = dict(common)
    if args["backend"] != NOT_GIVEN:
        est["backend"] = args["backend"]
    if args["compressed"] != NOT_GIVEN:
        est["compressed"] = as_bool(args["compressed"])
    if args["depth_topic"]:
        est_remaps.append(("depth", args["depth_topic"]))
        est["use_depth"] = True
    nodes.append(NodeSpec("pose_estimator", "pose_estimator", ns, est_remaps, est))
    if as_bool(args["actions"]):
        nodes.append(NodeSpec("action_classifier", "action_classifier", ns, [], dict(common)))
    if as_bool(args["hri"]):  # image: only for /humans/bodies/<id>/cropped, subscribed while someone listens
        hri = {**common, **({"compressed": est["compressed"]} if "compressed" in est else {})}
        nodes.append(NodeSpec("hri_bridge", "hri_bridge", ns,
                              [("image", cam), ("image/compressed", cam + "/compressed")], hri))
    return nodes

