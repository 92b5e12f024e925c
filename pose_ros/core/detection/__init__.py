"""Backend registry: ``create_backend(name, **options)``.

Backends are imported lazily so that choosing ``movenet`` never imports mediapipe
(and the reverse), which keeps start-up fast and failures local.
"""
from __future__ import annotations

import importlib
from typing import Any

from pose_ros.core.detection.base import BackendError, PoseBackend, VideoBackend

# name -> "module:Class"
BACKENDS: dict[str, str] = {
    "mediapipe": "pose_ros.core.detection.mediapipe:MediaPipeBackend",
    "movenet": "pose_ros.core.detection.movenet_fast:MoveNetFastBackend",
    "topdown": "pose_ros.core.detection.topdown:TopDownBackend",
    "onnx": "pose_ros.core.detection.onnx:OnnxBackend",
    "yolo": "pose_ros.core.detection.yolo:YoloPoseBackend",   # opt-in: `make yolo` (AGPL-3.0 weights)
    "thunder": "pose_ros.core.detection.thunder:ThunderBackend",
}


def create_backend(name: str, **options: Any) -> PoseBackend:
    """Build the backend called ``name``; unknown names and load failures raise BackendError."""
    target = BACKENDS.get(name)
    if target is None:
        raise BackendError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    module_name, cls_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(f"backend {name!r} cannot be imported ({exc}); run `make setup`") from exc
    return getattr(module, cls_name)(**options)


__all__ = ["BACKENDS", "BackendError", "PoseBackend", "VideoBackend", "create_backend"]
