"""Ctrl-C and SIGTERM for pose_ros processes: one clean stop, exit code 0, no traceback.

A terminal Ctrl-C sends SIGINT to every process of the foreground group, and
``ros2 launch`` forwards one more, so a node usually gets two signals, the second
one while it is already cleaning up. Python's default handler raises
KeyboardInterrupt wherever the main thread happens to be: inside a thread join, a
publisher's destruction, ``cap.release()``, an import of torch. Half-done cleanup
then leaves threads running in C++ code at interpreter exit, which aborts the
process ("FATAL: exception not rethrown", exit code -6).

So the process entry points (node executables, ``pose-ros run``) call
:func:`install` before any heavy import, and the handler acts by phase:

* ``starting`` (imports, before rclpy is initialised): nothing to clean up, so the
  process exits 0 at once;
* ``loading`` (rclpy initialised, nodes and models being created): raises
  :class:`ShutdownRequested` once, which unwinds to ``runner.serve``; it destroys
  what exists and returns 0 (inside an import, e.g. of mediapipe, it exits 0 at once:
  an exception there can leave an import lock held, and the cleanup would hang on it;
  the shared memory left behind is removed by the next start, see dds_shm.py);
* ``serving``: only records the request; the spin loop sees it and stops;
* any signal after the first one is ignored: cleanup runs to its end.

:func:`finish` ends the process without interpreter finalization, whose teardown
of library threads (TFLite, torch, Fast DDS) is what aborts.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from typing import Iterator, NoReturn

STARTING, LOADING, SERVING, CLEANUP = "starting", "loading", "serving", "cleanup"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ShutdownRequested(KeyboardInterrupt):
    """Ctrl-C/SIGTERM while nodes were being created (a KeyboardInterrupt to generic code)."""


# A plain flag, not a threading.Event: the handler must take no lock. A second signal
# can arrive while the first handler is inside Event.set(), and the nested handler would
# then wait forever for the lock its own thread holds (a hang at start-up, seen in tests).
_requested = False
_phase = STARTING
_installed = False


def requested() -> bool:
    """True once SIGINT or SIGTERM arrived (handler installed) or :func:`request` was called."""
    return _requested


def request() -> None:
    """Ask for the same clean stop as a signal would (serve() stops spinning)."""
    global _requested
    _requested = True


def set_phase(phase: str) -> None:
    """Tell the handler what a first signal should do now (see the module doc)."""
    global _phase
    _phase = phase


def _handler(signum: int, frame) -> None:
    global _requested
    if _requested:
        return  # the second Ctrl-C (launch forwards one): cleanup is under way, let it finish
    _requested = True
    if _phase == STARTING:
        finish(0)
    if _phase == LOADING:
        if _in_import(frame):  # an exception inside an import can leave module locks held: later imports
            finish(0)          # in the cleanup would hang; nothing has been served yet, so just go
        raise ShutdownRequested()


def _in_import(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _unraisable(hook):
    """Drop ShutdownRequested raised where Python cannot propagate it (a weakref callback in an import)."""
    def quiet(info) -> None:
        if not isinstance(info.exc_value, ShutdownRequested):
            hook(info)
    return quiet


def install() -> None:
    """Handle SIGINT and SIGTERM from now on (main thread only; the process entry calls this first)."""
    global _installed
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    if not _installed:
        sys.unraisablehook = _unraisable(sys.unraisablehook)
    _installed = True


def uninstall() -> None:
    """Back to Python's defaults (KeyboardInterrupt on SIGINT): for code that handles signals itself."""
    global _installed
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _installed = False


def installed() -> bool:
    return _installed


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """The handler for the duration of a ``with`` block, if it is not installed already.

    Lets ``runner.serve`` run inside a test process or the demo: the previous handlers
    come back afterwards. Outside the main thread signals cannot be handled: no-op.
    """
    global _installed, _requested
    if _installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = [signal.getsignal(s) for s in SIGNALS]
    hook = sys.unraisablehook
    install()
    try:
        yield
    finally:
        for s, h in zip(SIGNALS, previous):
            signal.signal(s, h)
        sys.unraisablehook = hook
        _installed = False
        _requested = False
        set_phase(STARTING)


def finish(code: int) -> NoReturn:
    """Flush every output stream and end the process with ``code``, skipping finalization."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)  # C stdio buffers (rcutils, TFLite, glog)
    os._exit(code)
