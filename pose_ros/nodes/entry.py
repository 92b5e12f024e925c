"""Process entry points for the node executables (console scripts and lib/pose_ros).

The executables are those of the registry in ``pose_ros.graph.EXECUTABLES``; each gets a
module-level function of its own name here, which setup.py's console scripts and the
lib/pose_ros scripts (scripts/node_entry.py.in) call.
"""
from __future__ import annotations

import sys
from typing import Callable

from pose_ros.graph import EXECUTABLES, node_class


def spin_node(cls, args=None) -> int:
    """Run one node until Ctrl-C; bad sources/parameters exit with code 2 and one clear line."""
    from pose_ros.malloc import keep_large_buffers
    from pose_ros.runner import serve
    keep_large_buffers()   # image buffers reused, not page-faulted in again every frame
    return serve(lambda: [cls()], cls.__name__, args if args is not None else sys.argv)


def main(name: str) -> int:
    return spin_node(node_class(name))


def _entry(name: str) -> Callable[[], int]:
    """A console-script function for node ``name`` (setup.py points each executable at one).

    Ctrl-C handling comes first, before the node's module imports torch or mediapipe,
    and the process ends through shutdown.finish (see pose_ros/shutdown.py).
    """
    def run() -> int:
        from pose_ros import shutdown
        shutdown.install()
        shutdown.finish(main(name))
    run.__name__ = run.__qualname__ = name
    return run


for _name in EXECUTABLES:  # video_source, pose_estimator, ... as module attributes
    globals()[_name] = _entry(_name)
del _name

