"""Respawn: one step for ``pose-ros run respawn:=true`` and for launch/pose.launch.py.

``ros2 launch`` respawns single nodes (the launch file's exit handler per Node); the venv's
runner has all nodes in one process, so the unit it restarts is that process (:func:`supervise`).
Both take every exit through :func:`after_exit`: the rule (``pose_ros.graph.RespawnPolicy``: a
crash or a signal is respawned after ``respawn_delay`` seconds, at most ``respawn_max_retries``
times; exit code 0, a normal stop, and 2, bad input at start-up that would fail again, are
not), the line that says so, and the housekeeping before a respawn (the dead process's Fast DDS
shared memory, pose_ros/dds_shm.py). The respawned process itself starts through
``runner.serve`` either way.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Callable

from pose_ros.dds_shm import clean_dead
from pose_ros.exits import EXIT_BAD_INPUT
from pose_ros.graph import RespawnPolicy
from pose_ros.procs import parent_death_signal

STOP_TIMEOUT = 15.0  # seconds the graph gets to shut down after Ctrl-C before it is killed


def describe_exit(code: int) -> str:
    """``exit code 1``, ``killed by SIGKILL`` (a negative return code is the signal, as Popen and launch give it)."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def after_exit(policy: RespawnPolicy, name: str, code: int, restarts: int) -> tuple[str, str | None]:
    """What to do now that ``name`` (a node, or the runner's graph process) exited with ``code`` after
    ``restarts`` respawns: (decision, line to log or None), decision as ``RespawnPolicy.after_exit``.

    The one respawn step of the runner and the launch file: before a respawn it removes the Fast DDS
    shared memory that dead processes left (dds_shm.clean_dead; the respawned process does it again at
    its start-up, for segments that were still under the 10 s guard here).
    """
    what = policy.after_exit(code, restarts)
    if what == "respawn":
        clean_dead()
        return what, f"{name} died ({describe_exit(code)}); respawn {restarts + 1} in {policy.delay:g} s"
    if what == "bad_input":
        return what, (f"{name} exited with code 2 (bad input or configuration, see its error above); not "
                      f"respawned: a restart would fail the same way")
    if what == "give_up":
        return what, (f"{name} died ({describe_exit(code)}) after {restarts} respawns; respawn_max_retries="
                      f"{policy.max_retries} reached, not respawned")
    return what, None


class _Stop(BaseException):
    """Ctrl-C or SIGTERM to the supervisor while no graph process runs (during respawn_delay); a
    BaseException, as KeyboardInterrupt, so that no ``except Exception`` on the way swallows it."""


class _Signals:
    """SIGINT and SIGTERM to the supervisor, counted: the first stops the graph (SIGINT to it), a second
    is ignored while the graph finishes its shutdown, a third kills it (SIGKILL). Nothing is raised
    while a graph process runs, so no signal interrupts the supervisor half-way."""

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.child: subprocess.Popen | None = None

    def __call__(self, signum, frame) -> None:
        self.count += 1
        if self.count == 1:
            self.first = time.monotonic()
        child = self.child
        if child is None:
            if self.count == 1:
                raise _Stop()
            return
        if self.count == 1 or self.count >= 3:
            self.forward(signal.SIGINT if self.count == 1 else signal.SIGKILL)

    def forward(self, sig: int) -> None:
        child = self.child
        if child is not None and child.returncode is None:
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, child: subprocess.Popen) -> int:
        """The child's exit code; once asked to stop it gets STOP_TIMEOUT s, then SIGKILL."""
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self.count and time.monotonic() - self.first > STOP_TIMEOUT:
                    self.forward(signal.SIGKILL)


def supervise(argv_args: dict[str, str], policy: RespawnPolicy, log: Callable[[str], None] | None = None) -> int:
    """respawn:=true: run the graph in a child process and start it again when it dies abnormally.

    The child is ``pose-ros run`` with the same arguments and ``respawn:=false``. It is
    started again ``policy.delay`` seconds after it dies by a signal or with an exit code
    other than 0 (a normal stop) and 2 (bad input at start-up: a respawn would fail the
    same way), at most ``policy.max_retries`` times, and every restart is logged (see
    :func:`after_exit`). When the retries are used up the supervisor returns the last exit
    code (1 for a signal). Ctrl-C (SIGINT) or SIGTERM to the supervisor stops the child
    with SIGINT and returns 0 once it has exited; a second one is ignored (the graph is
    finishing its shutdown), a third one, or ``STOP_TIMEOUT`` s, kills it. The child runs in
    its own process group, so a terminal Ctrl-C reaches it once, through the supervisor,
    and it is sent SIGTERM if the supervisor itself dies.
    """
    def say(msg: str) -> None:
        (log or (lambda m: print(m, file=sys.stderr, flush=True)))(f"pose-ros run: {msg}")

    given = {k: v for k, v in argv_args.items() if k != "respawn"}
    cmd = [sys.executable, "-m", "pose_ros.cli", "run", *(f"{k}:={v}" for k, v in given.items()), "respawn:=false"]
    die_with_parent = parent_death_signal()
    signals = _Signals()
    previous = {s: signal.signal(s, signals) for s in (signal.SIGINT, signal.SIGTERM)}
    restarts = 0
    try:
        while True:
            signals.child = child = subprocess.Popen(cmd, process_group=0, preexec_fn=die_with_parent)
            if signals.count:  # arrived while it was being started
                signals.forward(signal.SIGINT)
            say(f"graph started in process {child.pid}" + (f" (respawn {restarts})" if restarts else ""))
            code = signals.wait(child)
            if signals.count:
                say(f"graph stopped ({describe_exit(code)})")
                return 0
            signals.child = None
            what, line = after_exit(policy, "graph", code, restarts)
            if line:
                say(line)
            if what == "done":
                return code
            if what == "bad_input":
                return EXIT_BAD_INPUT
            if what == "give_up":
                return code if code > 0 else 1
            restarts += 1
            time.sleep(policy.delay)
    except _Stop:
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)

