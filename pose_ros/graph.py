"""The node graph that `pose-ros run` starts, described once, without ROS imports.

`launch/pose.launch.py` declares the same arguments (names and defaults) and builds
the same nodes, namespaces and remaps for `ros2 launch`; test/test_launch_parity.py
checks that both agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pose_ros.paths import config_file

NAMESPACE = "/pose"

# name -> (default, description); the launch file declares exactly these.
LAUNCH_ARGUMENTS: dict[str, tuple[str, str]] = {
    "camera_topic": ("/camera/image_raw", "sensor_msgs/Image topic of the camera"),
    "compressed": ("false", "subscribe to <camera_topic>/compressed (CompressedImage)"),
    "backend": ("mediapipe", "pose backend: mediapipe, movenet, topdown, onnx, yolo (opt-in: make yolo)"),
    "params_file": ("", "parameter YAML; empty = config/pose.yaml of the package"),
    "depth_topic": ("", "aligned depth image topic; empty = no depth"),
    "camera_info_topic": ("", "CameraInfo topic; empty = <camera_topic dir>/camera_info"),
    "actions": ("true", "start action_classifier"),
    "video": ("", "video file / image folder to publish with video_source instead of a camera"),
    "rviz": ("false", "start rviz2 with config/pose.rviz"),
    "use_sim_time": ("false", "use /clock (bag replay with --clock)"),
    "respawn": ("false", "restart a node that died (pose-ros run: the whole graph, after a crash or "
                         "signal; not after exit code 0 or 2)"),
    "respawn_delay": ("2.0", "seconds to wait before a respawn"),
}


@dataclass
class NodeSpec:
    executable: str
    name: str
    namespace: str = NAMESPACE
    remappings: list[tuple[str, str]] = field(default_factory=list)
    overrides: dict[str, object] = field(default_factory=dict)


def as_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def resolve_args(given: dict[str, str] | None = None) -> dict[str, str]:
    """Defaults overlaid with ``given``; unknown names are an error."""
    given = dict(given or {})
    unknown = set(given) - set(LAUNCH_ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown argument(s) {sorted(unknown)}; known: {sorted(LAUNCH_ARGUMENTS)}")
    args = {k: v[0] for k, v in LAUNCH_ARGUMENTS.items()}
    args.update({k: str(v) for k, v in given.items()})
    if not args["params_file"]:
        args["params_file"] = str(config_file())
    return args


def respawn_settings(args: dict[str, str]) -> tuple[bool, float]:
    """(respawn, respawn_delay) from resolved arguments; ValueError for bad values."""
    respawn = as_bool(args["respawn"])
    try:
        delay = float(args["respawn_delay"])
    except ValueError:
        delay = float("nan")
    if not 0.0 <= delay <= 3600.0:  # also refuses NaN
        raise ValueError(f"respawn_delay must be seconds between 0 and 3600, got {args['respawn_delay']!r}")
    return respawn, delay


def camera_info_topic(args: dict[str, str]) -> str:
    if args["camera_info_topic"]:
        return args["camera_info_topic"]
    cam = args["camera_topic"].rstrip("/")
    return (cam.rsplit("/", 1)[0] or "") + "/camera_info"


def build_graph(args: dict[str, str]) -> list[NodeSpec]:
    """The nodes for resolved launch arguments (see :func:`resolve_args`)."""
    respawn_settings(args)  # checked here so that bad values fail before anything starts
    cam = args["camera_topic"]
    info = camera_info_topic(args)
    sim = as_bool(args["use_sim_time"])
    common = {"use_sim_time": sim}
    nodes: list[NodeSpec] = []
    if args["video"]:
        nodes.append(NodeSpec("video_source", "video_source",
                              remappings=[("image", cam), ("camera_info", info)],
                              overrides={**common, "source": args["video"]}))
    est_remaps = [("image", cam), ("image/compressed", cam + "/compressed"), ("camera_info", info)]
    est = {**common, "backend": args["backend"], "compressed": as_bool(args["compressed"])}
    if args["depth_topic"]:
        est_remaps.append(("depth", args["depth_topic"]))
        est["use_depth"] = True
    nodes.append(NodeSpec("pose_estimator", "pose_estimator", remappings=est_remaps, overrides=est))
    if as_bool(args["actions"]):
        nodes.append(NodeSpec("action_classifier", "action_classifier", overrides=dict(common)))
    return nodes
