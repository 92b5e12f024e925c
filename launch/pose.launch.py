"""Start the pose_ros graph under /pose.

    ros2 launch pose_ros pose.launch.py camera_topic:=/my/camera
    ros2 launch pose_ros pose.launch.py video:=/path/clip.mp4 backend:=movenet rviz:=true
    ros2 launch pose_ros pose.launch.py respawn:=true respawn_delay:=2.0   # restart nodes that die

`pose-ros run` (the venv's runner) takes the same arguments with the same defaults
and builds the same nodes; test/test_launch_parity.py checks that they agree.
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from ament_index_python.packages import get_package_share_directory

NAMESPACE = "/pose"

ARGUMENTS = [
    DeclareLaunchArgument("camera_topic", default_value="/camera/image_raw",
                          description="sensor_msgs/Image topic of the camera"),
    DeclareLaunchArgument("compressed", default_value="false",
                          description="subscribe to <camera_topic>/compressed (CompressedImage)"),
    DeclareLaunchArgument("backend", default_value="mediapipe",
                          description="pose backend: mediapipe, movenet, topdown, onnx, yolo (opt-in: make yolo)"),
    DeclareLaunchArgument("params_file", default_value="",
                          description="parameter YAML; empty = config/pose.yaml of the package"),
    DeclareLaunchArgument("depth_topic", default_value="",
                          description="aligned depth image topic; empty = no depth"),
    DeclareLaunchArgument("camera_info_topic", default_value="",
                          description="CameraInfo topic; empty = <camera_topic dir>/camera_info"),
    DeclareLaunchArgument("actions", default_value="true", description="start action_classifier"),
    DeclareLaunchArgument("video", default_value="",
                          description="video file / image folder to publish with video_source instead of a camera"),
    DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 with config/pose.rviz"),
    DeclareLaunchArgument("use_sim_time", default_value="false",
                          description="use /clock (bag replay with --clock)"),
    DeclareLaunchArgument("respawn", default_value="false",
                          description="restart a node that died (pose-ros run: the whole graph, after a crash "
                                      "or signal; not after exit code 0 or 2)"),
    DeclareLaunchArgument("respawn_delay", default_value="2.0", description="seconds to wait before a respawn"),
]


def _true(value):
    return value.lower() in ("true", "1", "yes", "on")


def node_specs(a):
    """The nodes as plain data, from evaluated argument values (no launch objects here)."""
    cam = a["camera_topic"]
    info = a["camera_info_topic"] or (cam.rstrip("/").rsplit("/", 1)[0] + "/camera_info")
    common = {"use_sim_time": _true(a["use_sim_time"])}
    # launch_ros restarts a node that exits (any exit code) after respawn_delay seconds
    respawn = {"respawn": _true(a["respawn"]), "respawn_delay": float(a["respawn_delay"])}
    specs = []
    if a["video"]:
        specs.append({"executable": "video_source", "name": "video_source",
                      "remappings": [("image", cam), ("camera_info", info)],
                      "overrides": dict(common, source=a["video"]), **respawn})
    remaps = [("image", cam), ("image/compressed", cam + "/compressed"), ("camera_info", info)]
    est = dict(common, backend=a["backend"], compressed=_true(a["compressed"]))
    if a["depth_topic"]:
        remaps.append(("depth", a["depth_topic"]))
        est["use_depth"] = True
    specs.append({"executable": "pose_estimator", "name": "pose_estimator", "remappings": remaps,
                  "overrides": est, **respawn})
    if _true(a["actions"]):
        specs.append({"executable": "action_classifier", "name": "action_classifier", "remappings": [],
                      "overrides": dict(common), **respawn})
    return specs


def _launch_setup(context):
    share = get_package_share_directory("pose_ros")
    values = {arg.name: LaunchConfiguration(arg.name).perform(context) for arg in ARGUMENTS}
    params_file = values["params_file"] or os.path.join(share, "config", "pose.yaml")
    # Our image publishers get the large-frame Fast DDS profile (see config/); as in
    # pose_ros.paths.use_large_frame_profile(), a profile the user set (or POSE_ROS_NO_DDS_PROFILE) wins.
    # Fast DDS 2.x reads FASTRTPS_..., 3.x FASTDDS_...: both are set.
    env = getattr(context, "environment", os.environ)
    names = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
    opted_out = env.get("POSE_ROS_NO_DDS_PROFILE", "").strip().lower() not in ("", "0", "false", "no", "off")
    dds_env = {}
    if not (opted_out or any(env.get(n) for n in names)):
        dds_env = dict.fromkeys(names, os.path.join(share, "config", "fastdds_large_frames.xml"))
    actions = []
    for spec in node_specs(values):
        actions.append(Node(
            package="pose_ros", executable=spec["executable"], name=spec["name"], namespace=NAMESPACE,
            parameters=[params_file, spec["overrides"]], remappings=spec["remappings"],
            additional_env=dds_env, output="screen", emulate_tty=True,
            respawn=spec["respawn"], respawn_delay=spec["respawn_delay"]))
    if _true(values["rviz"]):
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2",
                            arguments=["-d", os.path.join(share, "config", "pose.rviz")],
                            parameters=[{"use_sim_time": _true(values["use_sim_time"])}], output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription(ARGUMENTS + [OpaqueFunction(function=_launch_setup)])
