"""Keep the native libraries' start-up chatter off the terminal.

TFLite (``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``) and MediaPipe's
absl logging (``WARNING: All log messages before absl::InitializeLog() ...``,
``W0000 ... Feedback manager requires a model with a single signature ...``) write
straight to file descriptor 2 while a model loads, unformatted and ignoring
TF_CPP_MIN_LOG_LEVEL / GLOG_minloglevel (checked with mediapipe 0.10.14 and
ai-edge-litert). :func:`native_stderr_filtered` sends fd 2 to a temporary file for
the duration of a model load; afterwards the known lines go to the Python logger
``pose_ros.detection`` at DEBUG, and everything else, including other threads' output
written meanwhile, is passed on to the real stderr unchanged.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from typing import Iterator

log = logging.getLogger("pose_ros.detection")

NOISE = re.compile(
    r"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\d+ inference_feedback_manager\.cc:\d+\] Feedback manager requires a model with a "
    r"single signature inference\. Disabling support for feedback tensors\.")

_lock = threading.RLock()
_depth = 0


def quiet_python_warnings() -> None:
    """protobuf's deprecation warning that mediapipe triggers on its first results."""
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated",
                            category=UserWarning)


def _flush_c_stderr() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Filter the known start-up lines out of fd 2 while the block runs (nested uses share one redirect)."""
    global _depth
    with _lock:
        if _depth:
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no usable stderr: nothing to filter
            yield
            return
        _depth = 1
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                _flush_c_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                _depth = 0
                tmp.seek(0)
                _replay(tmp.read().decode(errors="replace"))


def _replay(text: str) -> None:
    """Known noise to the debug log; every other line back to stderr as it was."""
    keep = []
    for line in text.splitlines(keepends=True):
        if NOISE.fullmatch(line.strip()):
            log.debug("native: %s", line.strip())
        else:
            keep.append(line)
    if keep:
        with contextlib.suppress(OSError):
            os.write(2, "".join(keep).encode())
