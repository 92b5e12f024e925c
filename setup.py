"""pip-installable distribution of the pose_ros Python package and its commands.

On a full ROS install, CMakeLists.txt (ament_cmake) builds the messages and installs
the same package; in the venv, `make setup` builds msg/ with CMake and installs this
package editable beside it.
"""
from glob import glob

from setuptools import find_packages, setup

NODES = ["video_source", "pose_estimator", "pose_tracker", "action_classifier",
         "hands_up_stop", "follow_person", "point_target"]

setup(
    name="pose_ros",
    version="0.1.0",
    description="Multi-person 2D/3D skeletons, tracking, gestures and actions for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pose_ros", "pose_ros.*"]),
    package_data={"pose_ros": ["data/*"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/pose_ros"]),
        ("share/pose_ros", ["package.xml"]),
        ("share/pose_ros/launch", ["launch/pose.launch.py"]),
        ("share/pose_ros/config", ["config/pose.yaml", "config/pose.rviz", "config/fastdds_large_frames.xml"]),
        ("share/pose_ros/msg", sorted(glob("msg/*.msg"))),
    ],
    entry_points={
        "console_scripts": ["pose-ros = pose_ros.cli:main"]
        + [f"{n} = pose_ros.nodes.entry:{n}" for n in NODES],
    },
)
