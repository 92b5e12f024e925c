"""Pair each colour frame with the depth frame nearest in stamp time.

Many RGB-D drivers do not synchronise depth with colour: depth is stamped 0.1-0.35 s
before or after the colour frame it belongs with, and arrives before or after it. So
depth frames are kept in a short buffer and each colour frame takes the one whose
stamp is nearest to its own, up to ``max_offset`` seconds away; when there is none,
the pairing says why (for diagnostics). The latest camera intrinsics are kept too.

Depth arriving after the colour frame: stamps of one depth stream only increase, so
once a depth frame stamped at or after the colour stamp is buffered no nearer one can
come and the pairing is *settled*. :meth:`DepthSync.wait_settled` blocks until then
(and until intrinsics are known), bounded by a timeout; the pairing is then the
nearest in the buffer. A lock-step bag player that publishes that settling depth frame
before the colour frame (``pose-ros bag play --wait-for`` does) makes the pairing a
function of the bag only, whatever the machine's load.

Pure Python (no ROS): the node wraps it; thread-safe (callbacks add, a worker pairs).
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")   # a depth frame (a message, an array)
C = TypeVar("C")   # camera intrinsics

NO_DEPTH = "no depth"
NO_CAMERA_INFO = "no camera info"
OFFSET_TOO_LARGE = "depth offset too large"
REASONS = (NO_DEPTH, NO_CAMERA_INFO, OFFSET_TOO_LARGE)


@dataclass(frozen=True)
class Pairing(Generic[T, C]):
    """The depth frame and intrinsics for one colour frame, or why there are none.

    ``offset`` is depth stamp minus colour stamp (seconds) of the nearest depth frame,
    also when it was too far; None without depth. ``reason`` is None when paired.
    """
    depth: T | None
    camera: C | None
    offset: float | None
    reason: str | None

    def explain(self, max_offset: float, param: str = "depth_max_offset") -> str:
        """The reason in words a user can act on ("" when paired)."""
        if self.reason == OFFSET_TOO_LARGE:
            return (f"nearest depth is {abs(self.offset):.3f} s {'after' if self.offset > 0 else 'before'} the "
                    f"image, over {param} ({max_offset:g} s)")
        return self.reason or ""


class DepthSync(Generic[T, C]):
    """The last ``capacity`` depth frames by stamp, and the latest intrinsics.

    ``capacity`` bounds memory (16 frames: about 0.5 s of a 30 Hz depth stream, 20 MB of
    640x480 32FC1); a stamp earlier than the newest buffered one (a restarted camera, a
    looped bag) starts the buffer again.
    """

    def __init__(self, capacity: int = 16) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._frames: deque[tuple[float, T]] = deque(maxlen=capacity)
        self._camera: C | None = None
        self._cond = threading.Condition()

    def add(self, stamp: float, depth: T) -> None:
        with self._cond:
            if self._frames and stamp < self._frames[-1][0]:
                self._frames.clear()
            self._frames.append((stamp, depth))
            self._cond.notify_all()

    def set_camera(self, camera: C) -> None:
        with self._cond:
            self._camera = camera
            self._cond.notify_all()

    @property
    def camera(self) -> C | None:
        return self._camera

    def clear(self) -> None:
        """Forget depth frames (not the intrinsics: they stay valid for the same camera)."""
        with self._cond:
            self._frames.clear()

    def __len__(self) -> int:
        return len(self._frames)

    def _settled(self, stamp: float) -> bool:
        return self._camera is not None and bool(self._frames) and self._frames[-1][0] >= stamp

    def settled(self, stamp: float) -> bool:
        """True when no depth frame still to come can be nearer to ``stamp`` and intrinsics are known."""
        with self._cond:
            return self._settled(stamp)

    def wait_settled(self, stamp: float, timeout: float) -> bool:
        """Wait up to ``timeout`` s until :meth:`settled`; returns whether it is."""
        with self._cond:
            return self._cond.wait_for(lambda: self._settled(stamp), timeout=max(timeout, 0.0))

    def pair(self, stamp: float, max_offset: float) -> Pairing[T, C]:
        """The buffered depth frame nearest to ``stamp`` (the earlier one on a tie) if at most
        ``max_offset`` s away, with the latest intrinsics."""
        with self._cond:
            camera, frames = self._camera, list(self._frames)
        if not frames:
            return Pairing(None, camera, None, NO_DEPTH)
        offsets = np.fromiter((s for s, _ in frames), np.float64, len(frames)) - stamp
        i = int(np.argmin(np.abs(offsets)))   # first minimum: the earlier stamp on a tie
        offset = float(offsets[i])
        if camera is None:
            return Pairing(None, None, offset, NO_CAMERA_INFO)
        if abs(offset) > max_offset:
            return Pairing(None, camera, offset, OFFSET_TOO_LARGE)
        return Pairing(frames[i][1], camera, offset, None)
