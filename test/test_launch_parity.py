"""launch/pose.launch.py and `pose-ros run` take the same arguments and build the same graph.

`launch` is not on PyPI, so the launch file is read from its source: its declared
arguments with ast, and its pure `node_specs` function compiled on its own.
"""
from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from pose_ros.graph import LAUNCH_ARGUMENTS, NAMESPACE, build_graph, resolve_args

LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "pose.launch.py"
TREE = ast.parse(LAUNCH.read_text())


def declared_arguments() -> dict[str, str]:
    out = {}
    for node in ast.walk(TREE):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument":
            name = ast.literal_eval(node.args[0])
            kw = {k.arg: k.value for k in node.keywords}
            out[name] = ast.literal_eval(kw["default_value"])
    return out


def launch_node_specs():
    """Compile `_true` and `node_specs` from the launch file without importing launch."""
    funcs = [n for n in TREE.body if isinstance(n, ast.FunctionDef) and n.name in ("_true", "node_specs")]
    ns: dict = {}
    exec(compile(ast.Module(body=funcs, type_ignores=[]), str(LAUNCH), "exec"), ns)
    return ns["node_specs"]


def test_same_arguments_and_defaults():
    assert declared_arguments() == {k: v[0] for k, v in LAUNCH_ARGUMENTS.items()}


def test_launch_file_uses_only_real_launch_api():
    imports = set()
    for node in ast.walk(TREE):
        if isinstance(node, ast.ImportFrom):
            imports |= {f"{node.module}.{a.name}" for a in node.names}
    allowed = {"launch.LaunchDescription", "launch.actions.DeclareLaunchArgument", "launch.actions.OpaqueFunction",
               "launch.substitutions.LaunchConfiguration", "launch_ros.actions.Node",
               "ament_index_python.packages.get_package_share_directory"}
    assert imports <= allowed, imports - allowed
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in TREE.body)
    ns = [n for n in TREE.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "NAMESPACE"]
    assert ast.literal_eval(ns[0].value) == NAMESPACE == "/pose"


CASES = [dict(zip(("camera_topic", "compressed", "video", "depth_topic", "actions", "use_sim_time"), c))
         for c in itertools.product(("/camera/image_raw", "/robot/cam/color"), ("false", "true"), ("", "clip.mp4"),
                                    ("", "/cam/depth"), ("true", "false"), ("false", "true"))]


@pytest.mark.parametrize("given", CASES[::3] + [{"camera_info_topic": "/x/info", "backend": "movenet"}])
def test_same_nodes_remaps_and_overrides(given):
    args = resolve_args(given)
    ours = [(s.executable, s.name, s.namespace, s.remappings, s.overrides) for s in build_graph(args)]
    theirs = [(s["executable"], s["name"], NAMESPACE, s["remappings"], s["overrides"])
              for s in launch_node_specs()(args)]
    assert ours == theirs


def test_unknown_argument_is_refused():
    with pytest.raises(ValueError, match="unknown argument"):
        resolve_args({"camera": "/x"})
