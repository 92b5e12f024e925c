"""Remove Fast DDS shared-memory files that processes killed with SIGKILL left behind.

A Fast DDS participant keeps its shared-memory segment in ``/dev/shm/fastrtps_<id>``
and the listening port of its participant index in ``/dev/shm/fastrtps_port<N>`` (+ a
named semaphore ``sem.fastrtps_port<N>_mutex``); each has a ``_el`` file that the owner
holds an exclusive ``flock`` on while it lives. A clean exit removes them; ``kill -9``
(a respawn test, the OOM killer) does not. Every killed publisher of large frames leaks
its 32 MB segment (config/fastdds_large_frames.xml) in RAM-backed /dev/shm, and a dead
port's semaphore can be left locked by a process killed while it held it, which blocks
the next process that takes the same participant index (a respawned node in the same
domain) when it sends there.

:func:`clean_zombies` does what ``fastdds shm clean`` does, only more carefully: a file
set is removed only when its lock file is older than ``min_age`` seconds (a process
that is just creating one has not locked it yet) and nobody holds the lock. The node
processes call it once at start-up (``runner.serve``); ``POSE_ROS_NO_SHM_CLEAN=1``
turns it off.
"""
from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path

SHM_DIR = Path("/dev/shm")
_SEGMENT_LOCK = re.compile(r"^fastrtps_[0-9a-f]{16}_el$")
_PORT_LOCK = re.compile(r"^fastrtps_port(\d{1,5})_(el|sl)$")


def _unlocked(path: Path) -> bool:
    """True when nobody holds a flock on ``path`` (we take it for an instant and let go)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _remove(paths: list[Path]) -> int:
    freed = 0
    for p in paths:
        try:
            freed += p.stat().st_blocks * 512
            p.unlink()
        except OSError:
            pass
    return freed


def clean_zombies(shm_dir: Path = SHM_DIR, min_age: float = 10.0) -> tuple[int, int]:
    """Remove segments and ports of dead Fast DDS participants; returns (file sets removed, bytes freed)."""
    if os.environ.get("POSE_ROS_NO_SHM_CLEAN") == "1" or not shm_dir.is_dir():
        return 0, 0
    if "fastrtps" not in os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp"):
        return 0, 0
    now = time.time()
    removed = freed = 0
    try:
        names = os.listdir(shm_dir)
    except OSError:
        return 0, 0
    for name in names:
        seg, port = _SEGMENT_LOCK.match(name), _PORT_LOCK.match(name)
        if not (seg or port):
            continue
        lock = shm_dir / name
        try:
            if now - lock.stat().st_mtime < min_age:
                continue
        except OSError:
            continue
        if not _unlocked(lock):
            continue
        base = name[:-3]
        files = [shm_dir / base, lock]
        if port:
            files.append(shm_dir / f"sem.{base}_mutex")
        freed += _remove(files)
        removed += 1
    return removed, freed
