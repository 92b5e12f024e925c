"""Keep large image buffers in the process instead of handing them back to the OS per frame.

Every camera frame allocates and frees buffers of its own size several times (the message,
its serialised form, conversions). glibc gives freed memory of a thread's arena back to the
kernel (madvise) as soon as more than its trim threshold is free, so the next frame's
buffers are fresh pages: a 1280x960 frame page-faulted and zeroed again, measured at about
half the CPU of publishing it (4.8 -> 2.4 ms a frame at 30 Hz). Fixed thresholds keep up to
``TRIM_BYTES`` free per arena and serve buffers up to ``MMAP_BYTES`` from the heap. Memory
stays flat (the same buffers are reused); it only stops shrinking between frames.

Linux with glibc only; elsewhere (musl, macOS) nothing happens. ``POSE_ROS_NO_MALLOC_TUNING=1``
turns it off.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 * 1024 * 1024    # glibc's own ceiling for its dynamic threshold: a 4K bgr8 frame fits
TRIM_BYTES = 64 * 1024 * 1024


def keep_large_buffers() -> bool:
    """Set the thresholds for this process (before its first frame); True when glibc took them."""
    if os.environ.get("POSE_ROS_NO_MALLOC_TUNING") == "1":
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
