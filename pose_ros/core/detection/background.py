"""Run a detector on a worker thread, one frame at a time, newest frame wins.

Why: in video the person detector is the costliest stage but is needed only now and
then (to find newcomers and re-find lost people); run inline it makes every k-th
frame late. On a worker thread it overlaps the per-person pose crops of the next
frames (the inference engines release the GIL), so no frame pays for it. Results
come back tagged with the frame number they were computed for.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class BackgroundDetector:
    """``submit(frame_no, rgb)`` when idle; ``poll()`` returns ``(frame_no, result)`` once, else None."""

    def __init__(self, detect: Callable[[np.ndarray], Any]) -> None:
        self._detect = detect
        self._cond = threading.Condition()
        self._job: tuple[int, np.ndarray] | None = None
        self._result: tuple[int, Any] | None = None
        self._error: BaseException | None = None
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="pose_ros-detector", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a frame is queued or being detected."""
        with self._cond:
            return self._busy

    def submit(self, frame_no: int, rgb: np.ndarray) -> bool:
        """Queue a copy of ``rgb`` (the caller may reuse its buffer); False when still busy."""
        with self._cond:
            if self._busy or self._stop:
                return False
            self._job = (frame_no, rgb.copy())
            self._busy = True
            self._cond.notify()
            return True

    def poll(self) -> tuple[int, Any] | None:
        """The finished result, once; re-raises a detector failure in the caller's thread."""
        with self._cond:
            if self._error is not None:
                err, self._error = self._error, None
                raise err
            out, self._result = self._result, None
            return out

    def wait(self, timeout: float | None = None) -> tuple[int, Any] | None:
        """Block until the queued frame is done (tests, shutdown), then :meth:`poll`."""
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout)
        return self.poll()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._job is not None or self._stop)
                if self._stop:
                    return
                assert self._job is not None
                frame_no, rgb = self._job
                self._job = None
            try:
                result: Any = self._detect(rgb)
                error = None
            except Exception as exc:
                result, error = None, exc
            with self._cond:
                if error is None:
                    self._result = (frame_no, result)
                else:
                    self._error = error
                self._busy = False
                self._cond.notify_all()

    def close(self) -> None:
        """Stop the worker (waits for a detection in progress, at most a second)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=1.0)


__all__ = ["BackgroundDetector"]
