"""Start and stop child processes: one implementation for the runner (rviz2), bench/soak.py and the tests.

A child gets its own process group, so that stopping it (SIGINT, then SIGKILL) reaches
everything it started and a terminal's Ctrl-C does not reach it twice.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable


def parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn that has Linux send ``sig`` to the child when its parent dies (None elsewhere).

    Linux delivers it when the *thread* that started the child ends, so start such children
    from a thread that lives as long as the parent (the main thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)
    return preexec


def start_process(cmd: list[str], log: Path | None, env: dict[str, str] | None = None,
                  die_with_parent: bool = False, **kw) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, stdout and stderr to ``log`` (None: inherited).

    A shell's background job ignores SIGINT and its children inherit that, so a node
    would never see Ctrl-C: SIGINT is made "handled" here for the fork (exec resets a
    handled signal to its default; an ignored one stays ignored).
    """
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    preexec = parent_death_signal() if die_with_parent else None
    old = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if log is None:
            return subprocess.Popen(cmd, start_new_session=True, env=env, preexec_fn=preexec, **kw)
        with open(log, "w") as fh:
            return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                    preexec_fn=preexec, **kw)
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT to the process group (as Ctrl-C), SIGKILL after ``timeout`` s; the exit code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        except ProcessLookupError:
            proc.wait()
    return proc.returncode
