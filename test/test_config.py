"""config/pose.yaml documents every parameter of every node, with the code's defaults."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def test_yaml_is_generated_from_declarations():
    from gen_config import render
    assert (ROOT / "config" / "pose.yaml").read_text() == render(), \
        "config/pose.yaml is out of date: run .venv/bin/python scripts/gen_config.py"


def test_every_parameter_is_described_and_in_yaml():
    from gen_config import NODE_PARAMS, load
    doc = yaml.safe_load((ROOT / "config" / "pose.yaml").read_text())
    for node, spec in NODE_PARAMS.items():
        params = load(spec)
        assert params, f"{node}: no parameter list"
        section = doc[f"/**/{node}"]["ros__parameters"]
        for p in params:
            assert len(p.description) > 15, f"{node}.{p.name} needs a description"
            assert section[p.name] == p.default, f"{node}.{p.name}"


def test_invalid_parameter_exits_2_with_reason():
    exe = Path(sys.executable).parent / "pose_estimator"
    res = subprocess.run([str(exe), "--ros-args", "-p", "backend:=nonsense"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "nonsense" in res.stderr and "Traceback" not in res.stderr


def test_executables_file_for_cmake_is_generated_from_the_registry():
    from gen_config import EXECUTABLES_FILE, render_executables
    from pose_ros.graph import EXECUTABLES
    assert EXECUTABLES_FILE.read_text() == render_executables() == "".join(f"{n}\n" for n in EXECUTABLES), \
        "scripts/executables.txt is out of date: run .venv/bin/python scripts/gen_config.py"
    assert "file(STRINGS scripts/executables.txt POSE_ROS_EXECUTABLES)" in (ROOT / "CMakeLists.txt").read_text()


def test_config_covers_every_registered_executable():
    from gen_config import NODE_PARAMS
    from pose_ros.graph import EXECUTABLES
    assert list(NODE_PARAMS) == list(EXECUTABLES)
