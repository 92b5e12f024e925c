"""pose_ros.malloc: the thresholds reach glibc, and the switch turns them off."""
from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = ("import sys; from pose_ros.malloc import keep_large_buffers; sys.exit(0 if keep_large_buffers() else 1)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_thresholds_are_set_in_a_fresh_process() -> None:
    assert subprocess.run([sys.executable, "-c", CHECK]).returncode == 0


def test_switch_turns_it_off(monkeypatch) -> None:
    from pose_ros.malloc import keep_large_buffers
    monkeypatch.setenv("POSE_ROS_NO_MALLOC_TUNING", "1")
    assert keep_large_buffers() is False
