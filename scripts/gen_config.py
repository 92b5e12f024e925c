"""Regenerate config/pose.yaml from the nodes' declared parameters (keeps docs and code in one place).

Run: .venv/bin/python scripts/gen_config.py   (test_config.py fails when the YAML is out of date)
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# node name -> module:PARAMS list
NODE_PARAMS = {
    "pose_estimator": "pose_ros.nodes.estimator_params:ESTIMATOR_PARAMS",
    "video_source": "pose_ros.nodes.video_source:VIDEO_PARAMS",
    "pose_tracker": "pose_ros.nodes.pose_tracker:TRACKER_NODE_PARAMS",
    "action_classifier": "pose_ros.nodes.action_params:ACTION_PARAMS",
    "hands_up_stop": "pose_ros.examples.hands_up_stop:PARAMS",
    "follow_person": "pose_ros.examples.follow_person:PARAMS",
    "point_target": "pose_ros.examples.point_target:PARAMS",
}

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
            if p.read_only:
                desc += " (start-up only)"
            out.append(f"    # {desc}")
            out.append(f"    {p.name}: {fmt(p.default)}")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    text = render()
    target = ROOT / "config" / "pose.yaml"
    if "--check" in sys.argv:
        sys.exit(0 if target.read_text() == text else 1)
    target.write_text(text)
    print(f"wrote {target}")
