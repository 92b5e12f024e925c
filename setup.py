"""pip-installable distribution of the pose_ros Python package and its commands.

On a full ROS install, CMakeLists.txt (ament_cmake) builds the messages and installs
the same package; in the venv, `make setup` builds msg/ with CMake and installs this
package editable beside it.
"""
import ast
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup


def executables() -> list[str]:
    """The names in pose_ros.graph.EXECUTABLES, read from its source (the package is not importable yet)."""
    tree = ast.parse((Path(__file__).parent / "pose_ros" / "graph.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "EXECUTABLES":
            return [ast.literal_eval(k) for k in node.value.keys]
    raise RuntimeError("pose_ros/graph.py has no EXECUTABLES")


setup(
    name="pose_ros",
    version="0.1.0",
    description="Multi-person 2D/3D skeletons, tracking, gestures and actions for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pose_ros", "pose_ros.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/pose_ros"]),
        ("share/pose_ros", ["package.xml"]),
        ("share/pose_ros/launch", ["launch/pose.launch.py"]),
        ("share/pose_ros/config", ["config/pose.yaml", "config/pose.rviz", "config/fastdds_large_frames.xml",
                                   "config/fastdds_large_frames_localhost.xml"]),
        ("share/pose_ros/msg", sorted(glob("msg/*.msg"))),
    ],
    entry_points={
        "console_scripts": ["pose-ros = pose_ros.cli:main"]
        + [f"{n} = pose_ros.nodes.entry:{n}" for n in executables()],
    },
)
