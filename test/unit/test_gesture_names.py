"""The Gesture enum lists exactly the names the package emits; wrong names are errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from pose_ros import api
from pose_ros.api import Gesture
from pose_ros.core.gestures import GESTURE_NAMES
from pose_ros.core.hands import HAND_SIGNS


def emitted_names() -> set[str]:
    signs = {f"hand_{s}_{side}" for s in HAND_SIGNS if s != "none" for side in ("left", "right")}
    return set(GESTURE_NAMES) | signs


def test_enum_is_every_emitted_name():
    assert {g.value for g in Gesture} == emitted_names()
    assert all(g.name == g.value.upper() for g in Gesture)
    assert Gesture.WAVE_LEFT == "wave_left" and f"{Gesture.FALL}" == "fall"


def test_hand_sign_event_names_are_built_as_the_enum_assumes():
    """HandSignEvents names events hand_<sign>_<side>: the f-string in its source."""
    src = (Path(api.__file__).parent / "core" / "hands" / "events.py").read_text()
    assert 'f"hand_{sign}_{side}"' in src


def test_wrong_names_are_errors_with_a_hint():
    with pytest.raises(ValueError, match="unknown gesture 'hand_up'.*did you mean"):
        api.who_made([], "hand_up")
    with pytest.raises(ValueError, match="unknown gesture"):
        api.GestureTracker().people_with("waving")
    with pytest.raises(ValueError, match="unknown gesture"):
        api.GestureTracker().is_doing("a", "Wave_Left")
    assert api.who_made([], Gesture.WAVE_LEFT) == [] and api.who_made([], "wave_left") == []


def test_consumer_modules_do_not_export_node_plumbing():
    import pose_ros.client as client
    for mod in (api, client):
        for name in ("Param", "ParamSet", "spin_node", "Diagnostics"):
            assert not hasattr(mod, name) or name not in getattr(mod, "__all__", ()), (mod.__name__, name)
        assert not {"Param", "ParamSet", "spin_node", "Diagnostics"} & set(mod.__all__)
    for name in ("Param", "ParamSet", "spin_node", "Diagnostics"):
        assert not hasattr(api, name), name


def test_api_imports_without_rclpy():
    import subprocess
    import sys
    code = "import sys, pose_ros.api; assert 'rclpy' not in sys.modules, 'rclpy loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(api.__file__).parents[1])


if __name__ == "__main__":  # print the enum body from the core's names (when a gesture is added)
    for n in sorted(emitted_names(), key=lambda s: (s.startswith("hand_") and s.count("_") > 2, s)):
        print(f'    {n.upper()} = "{n}"')
