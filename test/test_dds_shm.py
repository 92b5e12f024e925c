"""Fast DDS shared memory of SIGKILLed processes is cleaned at start-up; respawn after kill -9 works."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pose_ros.dds_shm import clean_zombies
from pose_ros.msg import SkeletonArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from rosutil import RosSession, start, stop, wait_for


def _set(d: Path, base: str, port: bool = False, age: float = 60.0) -> list[Path]:
    files = [d / base, d / f"{base}_el"] + ([d / f"sem.{base}_mutex"] if port else [])
    for f in files:
        f.write_bytes(b"x" * 100)
        os.utime(f, (time.time() - age, time.time() - age))
    return files


def test_only_dead_old_segments_are_removed_never_ports(tmp_path):
    dead = _set(tmp_path, "fastrtps_0123456789abcdef")
    dead_port = _set(tmp_path, "fastrtps_port7411", port=True)
    young = _set(tmp_path, "fastrtps_00000000000000aa", age=1.0)     # being created right now
    alive = _set(tmp_path, "fastrtps_00000000000000bb")
    other = [tmp_path / "fastrtps_port7000", tmp_path / "something_el"]
    for f in other:
        f.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"f = open({str(alive[1])!r}, 'rb'); fcntl.flock(f, fcntl.LOCK_EX)\n"
                               "print('locked', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        removed, freed = clean_zombies(tmp_path, min_age=10.0)
        assert removed == 1 and freed > 0
        assert not any(f.exists() for f in dead)
        # ports are Fast DDS's: a respawned listener must reopen the one live writers still use
        assert all(f.exists() for f in dead_port + young + alive + other)
        with open(alive[1], "rb") as f:  # we let go of nothing we did not take
            with pytest.raises(OSError):
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.kill()
        holder.wait()


def test_opt_out_and_other_rmw(tmp_path, monkeypatch):
    files = _set(tmp_path, "fastrtps_0123456789abcdef")
    monkeypatch.setenv("POSE_ROS_NO_SHM_CLEAN", "1")
    assert clean_zombies(tmp_path) == (0, 0)
    monkeypatch.delenv("POSE_ROS_NO_SHM_CLEAN")
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")
    assert clean_zombies(tmp_path) == (0, 0) and all(f.exists() for f in files)


def _own_segments(pid: int) -> set[str]:
    """The shared-memory segments ``pid`` owns: those whose ``_el`` lock file it holds (/proc/locks)."""
    held = set()
    for line in Path("/proc/locks").read_text().splitlines():
        f = line.split()
        if len(f) > 5 and f[1] == "FLOCK" and f[4] == str(pid):
            held.add(int(f[5].split(":")[2]))
    return {str(p)[:-3] for p in Path("/dev/shm").glob("fastrtps_*_el")
            if not p.name.startswith("fastrtps_port") and _inode(p) in held}


def _inode(p: Path) -> int:
    try:
        return p.stat().st_ino
    except OSError:
        return -1


@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="Linux /dev/shm")
def test_kill_9_respawn_cycles(person_clip, tmp_path):
    """pose_estimator killed with SIGKILL 4 times and started again in the same domain and namespace:
    each time a new subscriber gets skeletons, and the killed process's shared memory is gone
    once the next one started (it is older than the 10 s guard by then)."""
    src = start(["video_source", "--ros-args", "-r", "__ns:=/k9", "-p", f"source:={person_clip}", "-p", "loop:=true"],
                tmp_path / "src.log")
    leaked: set[str] = set()
    try:
        for cycle in range(4):
            log = tmp_path / f"est{cycle}.log"
            est = start(["pose_estimator", "--ros-args", "-r", "__ns:=/k9"], log)
            ros = RosSession(f"k9_{cycle}")
            got = ros.collect(SkeletonArray, "/k9/skeletons")
            images = ros.collect(Image, "/k9/image", qos_profile_sensor_data)
            try:
                assert wait_for(lambda: len(got) >= 3, 60), (
                    f"cycle {cycle}: no skeletons ({len(images)} camera frames reached this probe)\n"
                    f"{log.read_text()[-2000:]}\n/dev/shm: {sorted(os.listdir('/dev/shm'))}")
                if cycle:
                    gone = {s for s in leaked if not Path(s).exists()}
                    assert gone == leaked, f"cycle {cycle}: dead segments left: {leaked - gone}"
                leaked = _own_segments(est.pid)
                assert leaked, "the estimator maps a shared-memory segment"
                time.sleep(0.5 * cycle)  # killed at different moments of the stream
            finally:
                ros.close()   # first: rmw tearing down a probe while its peer dies has segfaulted once
                os.killpg(est.pid, signal.SIGKILL)
                est.wait()
            assert all(Path(s).exists() for s in leaked), "SIGKILL leaves the segment behind"
            # the cleanup leaves lock files younger than 10 s alone (a process may be creating one)
            age = min(time.time() - Path(s + "_el").stat().st_mtime for s in leaked)
            time.sleep(max(0.0, 10.5 - age))
    finally:
        stop(src)
