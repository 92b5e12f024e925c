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
               "ament_index_python", "hri_msgs", "tf2_msgs"}


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


def test_setup_py_installs_the_registry_as_console_scripts(monkeypatch):
    import runpy

    import setuptools

    from pose_ros.graph import EXECUTABLES
    seen = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: seen.update(kw))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    scripts = dict(s.replace(" ", "").split("=") for s in seen["entry_points"]["console_scripts"])
    assert scripts == {"pose-ros": "pose_ros.cli:main", **{n: f"pose_ros.nodes.entry:{n}" for n in EXECUTABLES}}


def test_every_executable_resolves_to_a_node_class_and_entry_function():
    from rclpy.node import Node

    from pose_ros.graph import BACKENDS, EXECUTABLES
    from pose_ros.nodes import entry
    for name in EXECUTABLES:
        assert issubclass(entry.node_class(name), Node), name
        assert callable(getattr(entry, name)) and getattr(entry, name).__name__ == name
    from pose_ros.nodes.estimator_params import ESTIMATOR_PARAMS
    [backend] = [p for p in ESTIMATOR_PARAMS if p.name == "backend"]
    assert sorted(BACKENDS) == sorted(backend.choices), "the launch argument's choices are the parameter's"


def test_node_modules_have_no_uninstalled_main():
    for path in (ROOT / "pose_ros" / "nodes").glob("*.py"):
        names = {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
        assert "main" not in names or path.name == "entry.py", path


def _top_level_imports(path: Path) -> set[str]:
    """pose_ros modules imported anywhere in ``path`` (also inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pose_ros"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("pose_ros")}
    return out


def test_no_import_cycle_between_entry_runner_and_respawn():
    mods = {"pose_ros.nodes.entry": "pose_ros/nodes/entry.py", "pose_ros.runner": "pose_ros/runner.py",
            "pose_ros.respawn": "pose_ros/respawn.py", "pose_ros.graph": "pose_ros/graph.py",
            "pose_ros.exits": "pose_ros/exits.py", "pose_ros.procs": "pose_ros/procs.py",
            "pose_ros.paths": "pose_ros/paths.py"}
    edges = {m: _top_level_imports(ROOT / p) & set(mods) for m, p in mods.items()}

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        return any(n == b or (n not in seen and reaches(n, b, seen | {n})) for n in edges[a])
    assert not [m for m in mods if reaches(m, m, set())], edges
