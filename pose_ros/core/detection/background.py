"""Run a detector on a worker thread, one frame at a time, newest frame wins.

Why: in video the person detector is the costliest stage but is needed only now and
then (to find newcomers and re-find lost people); run inline it makes every k-th
frame late. On a worker thread it overlaps the per-person pose crops of the next
frames (the inference engines release the GIL), so no frame pays for it. Results
come back tagged with the frame number they were computed for.
"""
from __future__ import annotations

import threading
import time
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


class DetectionClock:
    """When a video-mode backend detects, and on which frame the result counts: by image stamps only.

    A detection is started at most every ``period`` s (sooner when ``urgent``: someone
    was lost or nobody is followed), one at a time, and its result is used on the first
    frame stamped ``latency`` s or more after the frame it ran on, waiting for the worker
    if it is not done yet. So the result never lands on "whichever frame is current when
    it finishes": a replay gives the same stream whatever the machine's load. In live use
    the detector has ``latency`` s of frames to finish on its own core before anyone waits.
    With ``background`` False it runs inline on the frame it was started on.
    """

    def __init__(self, detect: Callable[[np.ndarray], Any], period: float, latency: float,
                 background: bool = True) -> None:
        self._detect = detect
        self.period = float(period)
        self.latency = float(latency)
        self._worker = BackgroundDetector(detect) if background else None
        self._inline: Any = None
        self._flight: tuple[float, Any] | None = None     # (stamp started, what the caller held then)
        self.last_start: float | None = None
        self.waited = 0.0                                  # seconds the last result was waited for

    def started(self, stamp: float) -> None:
        """A detection ran outside the clock (the first frame, inline) at ``stamp``."""
        self.last_start = stamp

    def idle_due(self, stamp: float) -> bool:
        """No detection in flight and one is due by the period: the caller may detect inline."""
        return self._flight is None and (self.last_start is None or stamp - self.last_start >= self.period)

    def maybe_start(self, stamp: float, rgb: np.ndarray, urgent: bool, held: Any) -> bool:
        """Start a detection on ``rgb`` when due; ``held`` comes back with its result."""
        if self._flight is not None:
            return False
        due = self.last_start is None or urgent or stamp - self.last_start >= self.period
        if not due:
            return False
        self._flight, self.last_start = (stamp, held), stamp
        if self._worker is None:
            self._inline = self._detect(rgb)
        else:
            self._worker.submit(0, rgb)
        return True

    def result(self, stamp: float, wait: bool = True) -> tuple[Any, Any] | None:
        """(detection, held) once its frame has come, else None. The worker is waited for
        unless ``wait`` is False (a node already behind its camera): then an unfinished
        detection counts on the first frame after it finishes."""
        self.waited = 0.0
        if self._flight is None or stamp < self._flight[0] + self.latency:
            return None
        if self._worker is not None and not wait and self._worker.busy:
            return None
        held = self._flight[1]
        self._flight = None
        if self._worker is None:
            out, self._inline = self._inline, None
            return out, held
        t0 = time.perf_counter()
        done = self._worker.wait()
        self.waited = time.perf_counter() - t0
        return (None if done is None else done[1]), held

    def reset(self) -> None:
        """Forget the detection in flight (its frame is gone) and when the last one ran."""
        if self._worker is not None:
            self._worker.wait()
        self._flight, self._inline, self.last_start = None, None, None

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


__all__ = ["BackgroundDetector", "DetectionClock"]
