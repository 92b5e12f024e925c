"""Remove Fast DDS shared-memory segments that processes killed with SIGKILL left behind.

A Fast DDS participant keeps its shared-memory segment in ``/dev/shm/fastrtps_<id>``,
with a ``_el`` file that the owner holds an exclusive ``flock`` on while it lives. A
clean exit removes both; ``kill -9`` (a respawn test, the OOM killer) does not, and
every killed publisher of large frames leaks its 32 MB segment
(config/fastdds_large_frames.xml) in RAM-backed /dev/shm. A segment's name is random
and never reused, so a dead one serves nobody.

The listening *ports* (``fastrtps_port<N>`` + ``_el``/``_sl`` + ``sem.*_mutex``) are
left alone on purpose: they are Fast DDS's to recover. A respawned node usually takes the
dead one's port number; Fast DDS 2.14 finds that port's ``_el`` unlocked ("zombie") and
resets it itself (``SharedMemGlobal::open_port_internal``: the segment is removed and
created anew; seen here as a new inode of ``fastrtps_port<N>`` after a respawn). A live
publisher keeps writing into the old, unlinked segment until its watchdog has marked that
port not ok (a dead listener's status stops changing) and it reopens the port by name:
then data flows again. Fast DDS can only tell a dead listener that was waiting or reading
from a live one; one killed elsewhere in its loop leaves the old port "ok" and full, and
that publisher never reaches the respawned node (the path only per-node respawn takes:
under ``pose-ros run`` every participant of the graph dies and comes back together).
That is the likeliest reading of the rare kill -9 respawn failures test/test_dds_shm.py
saw under load (removing the port files here only did first what Fast DDS does anyway).
Keeping them did not cure it: a
respawned estimator then once failed to lock the kept port (``Failed init_port ...:
open_and_lock_file failed``) and stayed deaf, its port segment gone under its lock. A
port's inter-process mutex is broken after 2 s of waiting, so the more processes open
and health-check a port, the likelier this is on a busy machine; under
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST every process ran two shared-memory transports
until pose_ros gave its nodes one (paths.profile_env); see docs/dds.md for the numbers.

:func:`clean_zombies` removes a segment only when its lock file is older than
``min_age`` seconds (a process that is just creating one has not locked it yet) and
nobody holds the lock. Every node process calls it once at start-up (``runner.serve``, through
:func:`clean_dead`), and so does the respawn step of ``pose-ros run`` and of the launch file as
soon as a process died (``pose_ros.respawn.after_exit``); ``POSE_ROS_NO_SHM_CLEAN=1`` turns it off.
"""
from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path

SHM_DIR = Path("/dev/shm")
_SEGMENT_LOCK = re.compile(r"^fastrtps_[0-9a-f]{16}_el$")


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
    """Remove the segments of dead Fast DDS participants (not their ports, see above); returns
    (segments removed, bytes freed)."""
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
        if not _SEGMENT_LOCK.match(name):
            continue
        lock = shm_dir / name
        try:
            if now - lock.stat().st_mtime < min_age:
                continue
        except OSError:
            continue
        if not _unlocked(lock):
            continue
        freed += _remove([shm_dir / name[:-3], lock])
        removed += 1
    return removed, freed


def clean_dead() -> int:
    """:func:`clean_zombies` as housekeeping: never raises (never a reason not to start or respawn);
    the number of segments removed."""
    try:
        return clean_zombies(SHM_DIR)[0]
    except Exception:
        return 0
