"""Regenerate config/pose.yaml and scripts/executables.txt from pose_ros.graph.EXECUTABLES.

config/pose.yaml: every node's declared parameters (keeps docs and code in one place).
scripts/executables.txt: the executable names, one a line, which CMakeLists.txt installs
into lib/pose_ros (CMake cannot import the registry itself).

Run: .venv/bin/python scripts/gen_config.py   (test_config.py fails when either is out of date)
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pose_ros.graph import EXECUTABLES  # noqa: E402  (after the path: run from a checkout)

# node name -> module:PARAMS list
NODE_PARAMS = {name: exe.params for name, exe in EXECUTABLES.items()}
EXECUTABLES_FILE = ROOT / "scripts" / "executables.txt"

HEADER = """\
# Parameters of every pose_ros node, with their defaults.
# Generated from the nodes' declarations by scripts/gen_config.py: edit values here
# freely, but add or rename parameters in the code and regenerate.
#
# Used by `ros2 launch pose_ros pose.launch.py` and by `pose-ros run` (same file).
# Node names are matched in any namespace (the launch file uses /pose).
"""


def load(spec: str):
    mod, attr = spec.split(":")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError):
        return None


def fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


def render() -> str:
    out = [HEADER]
    for node, spec in NODE_PARAMS.items():
        params = load(spec)
        if params is None:
            continue
        out.append(f"/**/{node}:\n  ros__parameters:")
        for p in params:
            desc = p.description
            if p.choices:
                desc += f" One of: {', '.join(map(str, p.choices))}."
            if p.min is not None and p.max is not None and not p.choices:
                desc += f" Range {p.min}..{p.max}."
            if p.reload:
                desc += " (start-up only)"
            out.append(f"    # {desc}")
            out.append(f"    {p.name}: {fmt(p.default)}")
        out.append("")
    return "\n".join(out)


def render_executables() -> str:
    return "".join(f"{name}\n" for name in EXECUTABLES)


if __name__ == "__main__":
    outputs = {ROOT / "config" / "pose.yaml": render(), EXECUTABLES_FILE: render_executables()}
    if "--check" in sys.argv:
        sys.exit(0 if all(t.read_text() == text for t, text in outputs.items()) else 1)
    for target, text in outputs.items():
        target.write_text(text)
        print(f"wrote {target}")
