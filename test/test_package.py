"""package.xml parses and declares what the code imports; the package builds the ROS way."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parents[1]
# ROS packages (by import name) that are interfaces or ROS Python libraries.
ROS_IMPORTS = {"rclpy", "std_msgs", "sensor_msgs", "geometry_msgs", "visualization_msgs", "diagnostic_msgs",
               "lifecycle_msgs", "builtin_interfaces", "rosgraph_msgs", "rcl_interfaces", "launch", "launch_ros",
               "ament_index_python"}


def imported_ros_packages() -> set[str]:
    found = set()
    for path in list((ROOT / "pose_ros").rglob("*.py")) + [ROOT / "launch" / "pose.launch.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found |= {n.split(".")[0] for n in names} & ROS_IMPORTS
    return found


def test_package_xml_declares_imports():
    pkg = parse_package(str(ROOT / "package.xml"))
    pkg.validate()
    assert pkg.name == "pose_ros" and pkg.package_format == 3
    assert pkg.get_build_type() == "ament_cmake"
    declared = {d.name for d in pkg.build_depends + pkg.exec_depends + pkg.buildtool_depends}
    declared |= {d.name for d in pkg.build_export_depends}
    missing = imported_ros_packages() - declared
    assert not missing, f"imported but not declared in package.xml: {sorted(missing)}"
    assert "rosidl_interface_packages" in [g.name for g in pkg.member_of_groups]


@pytest.mark.timeout(600)
def test_colcon_build(tmp_path):
    """`colcon build` against the venv installs the messages, executables and the launch file."""
    venv = Path(sys.prefix)
    env = dict(os.environ, AMENT_PREFIX_PATH=str(venv), CMAKE_PREFIX_PATH=str(venv))
    # A workspace of its own, as a user would have (src/pose_ros): CMake refuses exported
    # include dirs (the venv's numpy) that lie inside the source tree.
    src = tmp_path / "ws" / "src" / "pose_ros"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", "build", "install", "log", ".git",
                                                              "demo_output", "__pycache__", "*.egg-info"))
    cmd = [str(venv / "bin" / "colcon"), "--log-base", str(tmp_path / "log"), "build",
           "--base-paths", str(src), "--build-base", str(tmp_path / "build"),
           "--install-base", str(tmp_path / "install"), "--event-handlers", "console_cohesion-",
           "--cmake-args", "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={venv / 'bin' / 'python'}"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    inst = tmp_path / "install" / "pose_ros"
    for exe in ("video_source", "pose_estimator", "pose_tracker", "action_classifier", "hands_up_stop",
                "follow_person", "point_target", "pose-ros"):
        assert os.access(inst / "lib" / "pose_ros" / exe, os.X_OK), exe
    assert (inst / "share" / "pose_ros" / "launch" / "pose.launch.py").is_file()
    assert (inst / "share" / "pose_ros" / "config" / "pose.yaml").is_file()
    site = next((inst / "lib").glob("python3*/site-packages/pose_ros"))
    assert (site / "msg" / "_skeleton_array.py").is_file()
    assert (site / "core" / "skeleton.py").is_file()
    assert (inst / "share" / "pose_ros" / "msg" / "SkeletonArray.msg").is_file()
