"""Start the pose_ros graph under /pose.

    ros2 launch pose_ros pose.launch.py camera_topic:=/my/camera
    ros2 launch pose_ros pose.launch.py video:=/path/clip.mp4 backend:=movenet rviz:=true

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
                          description="pose backend: mediapipe, movenet, topdown, onnx"),
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
]


def _true(value):
    return value.lower() in ("true", "1", "yes", "on")


def node_specs(a):
    """The nodes as plain data, from evaluated argument values (no launch objects here)."""
    cam = a["camera_topic"]
    info = a["camera_info_topic"] or (cam.rstrip("/").rsplit("/", 1)[0] + "/camera_info")
    common = {"use_sim_time": _true(a["use_sim_time"])}
    specs = []
    if a["video"]:
        specs.append({"executable": "video_source", "name": "video_source",
                      "remappings": [("image", cam), ("camera_info", info)],
                      "overrides": dict(common, source=a["video"])})
    remaps = [("image", cam), ("image/compressed", cam + "/compressed"), ("camera_info", info)]
    est = dict(common, backend=a["backend"], compressed=_true(a["compressed"]))
    if a["depth_topic"]:
        remaps.append(("depth", a["depth_topic"]))
        est["use_depth"] = True
    specs.append({"executable": "pose_estimator", "name": "pose_estimator", "remappings": remaps,
                  "overrides": est})
    if _true(a["actions"]):
        specs.append({"executable": "action_classifier", "name": "action_classifier", "remappings": [],
                      "overrides": dict(common)})
    return specs


def _launch_setup(context):
    share = get_package_share_directory("pose_ros")
    values = {arg.name: LaunchConfiguration(arg.name).perform(context) for arg in ARGUMENTS}
    params_file = values["params_file"] or os.path.join(share, "config", "pose.yaml")
    # Our image publishers get the large-frame Fast DDS profile (see config/).
    dds_env = {"FASTRTPS_DEFAULT_PROFILES_FILE": os.path.join(share, "config", "fastdds_large_frames.xml")}
    actions = []
    for spec in node_specs(values):
        actions.append(Node(
            package="pose_ros", executable=spec["executable"], name=spec["name"], namespace=NAMESPACE,
            parameters=[params_file, spec["overrides"]], remappings=spec["remappings"],
            additional_env=dds_env, output="screen", emulate_tty=True))
    if _true(values["rviz"]):
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2",
                            arguments=["-d", os.path.join(share, "config", "pose.rviz")],
                            parameters=[{"use_sim_time": _true(values["use_sim_time"])}], output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription(ARGUMENTS + [OpaqueFunction(function=_launch_setup)])
