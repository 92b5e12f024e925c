"""The one small interface every pose backend implements.

Nodes, the runner, the bag tools and the benchmarks all hold a ``PoseBackend``;
backends never know about ROS.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from pose_ros.core.skeleton import Person


class BackendError(RuntimeError):
    """A backend could not be created or run; the message says what to do."""


@runtime_checkable
class PoseBackend(Protocol):
    """Find people in an RGB image.

    ``infer`` takes an (H, W, 3) uint8 RGB array (it may be a view: do not modify
    it) and returns one :class:`Person` per person, keypoints in COCO-17 order and
    in pixels of that image.
    """

    name: str
    model: str  # human-readable model identifier (file name or package), for diagnostics

    def infer(self, rgb: np.ndarray) -> list[Person]: ...

    def close(self) -> None: ...


@runtime_checkable
class VideoBackend(Protocol):
    """A backend that keeps state between video frames and can bound its cost per frame.

    ``infer_frame`` takes the frame's stamp (seconds, from its header: never the wall
    clock, so replays are exact) and a budget in crop units (None: its own ceiling);
    people it did not measure in this frame come back with ``Person.predicted`` set;
    ``attend`` holds the last boxes of the people the robot interacts with, posed first.
    ``frame_info`` describes the last frame (``units`` spent, ``posed``, ``predicted``).
    """

    frame_info: dict[str, float]

    def infer_frame(self, rgb: np.ndarray, stamp: float, budget: float | None = None,
                    attend: np.ndarray | None = None) -> list[Person]: ...

    def reset(self) -> None: ...
