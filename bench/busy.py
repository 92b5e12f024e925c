"""One core kept busy while a bench runs: the stand-in for a robot whose CPU is shared
with navigation and everything else (and for a slower machine)."""
from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

_SPIN = "while True: pass"


@contextlib.contextmanager
def busy_core(on: bool = True) -> Iterator[None]:
    """A child process spinning on one core for the duration of the block (no-op when ``on`` is False)."""
    if not on:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", _SPIN])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()
