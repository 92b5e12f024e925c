"""Spin an rclpy executor in a background thread that is stopped before its node goes.

Destroying a node, or shutting its context down, while a thread still waits in the
executor's wait set crashes rcl (an abort in bag playback, a segfault in the test
probe): owners call :meth:`BackgroundSpin.stop` first and tear down after.
"""
from __future__ import annotations

import threading


class BackgroundSpin:
    """``executor.spin_once`` in a daemon thread until :meth:`stop` or the context ends."""

    def __init__(self, executor, context=None, period: float = 0.05) -> None:
        self._executor, self._context, self._period = executor, context, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _ok(self) -> bool:
        return self._context is None or self._context.ok()

    def _run(self) -> None:
        while not self._stop.is_set() and self._ok():
            try:
                self._executor.spin_once(timeout_sec=self._period)
            except Exception:
                if not self._ok():   # the context went away under us: nothing left to spin
                    return
                raise

    def stop(self, timeout: float = 2.0) -> None:
        """Stop spinning and wait for the thread (at most ``timeout`` s)."""
        self._stop.set()
        self._thread.join(timeout=timeout)


__all__ = ["BackgroundSpin"]
