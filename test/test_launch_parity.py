"""launch/pose.launch.py builds its graph from pose_ros.graph, as `pose-ros run` does.

`launch` is not on PyPI, so the launch file is imported against stand-ins that take the
real classes' parameters (test/launchstub.py) and its own functions are called: the
declared arguments, and the Nodes its OpaqueFunction builds for given arguments.
"""
from __future__ import annotations

import ast
import itertools
import os
import stat

import pytest

import launchstub
from launchstub import LogInfo, Node, declared, load_launch_file, nodes_of, run_setup
from pose_ros.graph import LAUNCH_ARGUMENTS, build_graph, resolve_args
from pose_ros.paths import FASTDDS_PROFILE_NAME, config_file

LAUNCH = load_launch_file()


def test_declares_the_graph_arguments_with_defaults_choices_and_descriptions():
    got = declared(LAUNCH)
    assert list(got) == list(LAUNCH_ARGUMENTS)
    for name, arg in LAUNCH_ARGUMENTS.items():
        kw = got[name]
        assert (kw["default_value"], kw["description"]) == (arg.default, arg.description), name
        assert kw["choices"] == (list(arg.choices) if arg.choices else None), name
    assert got["backend"]["choices"] == ["", "thunder", "mediapipe", "movenet", "topdown", "onnx", "yolo"]
    assert got["log_level"]["choices"] and got["rviz"]["choices"] == ["true", "false"]


def test_launch_file_imports_only_launch_api_and_its_own_package():
    tree = ast.parse(launchstub.LAUNCH_FILE.read_text())
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imports |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
    allowed = {"launch.LaunchDescription", "launch.substitutions.LaunchConfiguration", "launch_ros.actions.Node",
               "launch.event_handlers.OnProcessExit", "pose_ros.graph", "pose_ros.paths", "pose_ros.respawn"}
    allowed |= {f"launch.actions.{a}" for a in ("DeclareLaunchArgument", "LogInfo", "OpaqueFunction",
                                                "RegisterEventHandler", "Shutdown", "TimerAction")}
    assert imports <= allowed, imports - allowed


CASES = [dict(zip(("camera_topic", "compressed", "video", "depth_topic", "actions", "use_sim_time"), c))
         for c in itertools.product(("/camera/image_raw", "/robot/cam/color"), ("", "false", "true"), ("", "clip.mp4"),
                                    ("", "/cam/depth"), ("true", "false"), ("", "true"))]


@pytest.mark.parametrize("given", CASES[::5] + [{"camera_info_topic": "/x/info", "backend": "movenet",
                                                  "namespace": "/robot1/pose", "log_level": "debug"}])
def test_same_nodes_as_build_graph(given):
    args = resolve_args(given)
    want = [(s.executable, s.name, s.namespace, s.remappings,
             [args["params_file"]] + ([s.overrides] if s.overrides else [])) for s in build_graph(args)]
    nodes = nodes_of(run_setup(LAUNCH, given))
    got = [(n.kw["executable"], n.kw["name"], n.kw["namespace"], n.kw["remappings"], n.kw["parameters"])
           for n in nodes]
    assert got == want
    assert all(n.kw["ros_arguments"] == ["--log-level", args["log_level"]] for n in nodes)
    assert all(n.kw["respawn"] is False for n in nodes), "launch_ros respawns on any exit: ours is an exit handler"


def test_params_file_values_win_over_arguments_not_given(tmp_path):
    """backend, compressed and use_sim_time reach the nodes only when given (the issue: the argument's
    default replaced `backend: movenet` of the user's params file)."""
    params = str(tmp_path / "mine.yaml")
    nodes = {n.kw["name"]: n for n in nodes_of(run_setup(LAUNCH, {"params_file": params}))}
    assert nodes["pose_estimator"].kw["parameters"] == [params]
    assert nodes["action_classifier"].kw["parameters"] == [params]
    nodes = {n.kw["name"]: n for n in nodes_of(run_setup(LAUNCH, {"params_file": params, "backend": "mediapipe",
                                                                  "use_sim_time": "false"}))}
    assert nodes["pose_estimator"].kw["parameters"] == [params, {"backend": "mediapipe", "use_sim_time": False}]


@pytest.mark.parametrize("bad", [{"respawn_delay": "soon"}, {"respawn_delay": "-1"}, {"respawn_max_retries": "x"},
                                 {"respawn_max_retries": "-5"}, {"namespace": "pose"}, {"actions": "maybe"}])
def test_values_choices_cannot_catch_are_refused_like_the_runner(bad):
    with pytest.raises(ValueError) as launch_error:
        run_setup(LAUNCH, bad)
    with pytest.raises(ValueError) as runner_error:
        resolve_args(bad)
    assert str(launch_error.value) == str(runner_error.value)


def test_dds_profile_for_our_nodes_unless_the_user_set_one():
    profile = str(config_file(FASTDDS_PROFILE_NAME))
    [est] = [n for n in nodes_of(run_setup(LAUNCH, {})) if n.kw["name"] == "pose_estimator"]
    assert est.kw["additional_env"] == {"FASTRTPS_DEFAULT_PROFILES_FILE": profile,
                                        "FASTDDS_DEFAULT_PROFILES_FILE": profile}
    for env in ({"FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}, {"POSE_ROS_NO_DDS_PROFILE": "1"}):
        assert all(n.kw["additional_env"] == {} for n in nodes_of(run_setup(LAUNCH, {}, env)))


def test_rviz_without_rviz2_warns_with_the_install_command_and_starts_the_graph(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no rviz2 here, and none in the venv's ament index
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    actions = run_setup(LAUNCH, {"rviz": "true"})
    assert [n.kw["executable"] for n in nodes_of(actions)] == ["pose_estimator", "action_classifier", "hri_bridge"]
    [warning] = [a for a in actions if isinstance(a, LogInfo)]
    assert "sudo apt install ros-jazzy-rviz2" in warning.kw["msg"]


def test_rviz_with_rviz2_is_started(monkeypatch, tmp_path):
    exe = tmp_path / "rviz2"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    actions = run_setup(LAUNCH, {"rviz": "true"})
    rviz = [n for n in nodes_of(actions) if n.kw["executable"] == "rviz2"]
    assert len(rviz) == 1 and rviz[0].kw["arguments"] == ["-d", str(config_file("pose.rviz"))]
    assert not [a for a in actions if isinstance(a, LogInfo)]


def test_unknown_argument_is_refused():
    with pytest.raises(ValueError, match="unknown argument"):
        resolve_args({"camera": "/x"})


def test_stand_ins_refuse_what_the_real_classes_refuse():
    """The stand-ins are only worth something if they are as strict as launch itself."""
    with pytest.raises(TypeError):
        Node(executable="x", respawn_dealy=1.0)
    with pytest.raises(RuntimeError, match="not in provided choices"):
        launchstub.DeclareLaunchArgument("a", default_value="x", choices=["y"])
