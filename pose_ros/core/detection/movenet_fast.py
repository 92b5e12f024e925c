"""MoveNet MultiPose Lightning on OpenVINO: the same TFLite file and outputs, faster.

OpenVINO reads the TFLite flatbuffer directly; the network is compiled once per
input shape (a stream keeps its shape, and whole image and tiles alternate between
two at most), exactly as the LiteRT backend keeps one interpreter per shape.
Pre- and post-processing are the LiteRT backend's own, so the two differ only in
float rounding (checked in test/unit/test_detection_runtime.py). Without the
``openvino`` wheel, or with ``engine="litert"``, this is the LiteRT backend.
"""
from __future__ import annotations

import numpy as np

from pose_ros.core.detection.movenet import MoveNetBackend, input_shape
from pose_ros.core.detection.runtime import Model
from pose_ros.core.models import ModelError


class MoveNetFastBackend(MoveNetBackend):
    """:class:`MoveNetBackend` whose network runs on OpenVINO when it can (``engine``)."""

    name = "movenet"

    def __init__(self, *args, engine: str = "auto", **kwargs) -> None:
        """``engine``: ``auto`` (OpenVINO if installed, else LiteRT), ``openvino`` or ``litert``."""
        if engine not in ("auto", "openvino", "litert"):
            raise ModelError(f"engine must be auto, openvino or litert, got {engine!r}")
        self.engine = "litert"
        self._ov: dict[tuple[int, ...], Model] = {}
        super().__init__(*args, **kwargs)   # loads and dry-runs the file on LiteRT: same checks
        if engine != "litert":
            try:
                self._ov_model((1, *input_shape(480, 640, self.input_size), 3))  # PosePipeline.warmup's frame
                self.engine = "openvino"
            except ModelError:
                if engine == "openvino":
                    raise
        self.model = f"{self.model} [{self.engine}]"

    def _ov_model(self, shape: tuple[int, ...]) -> Model:
        model = self._ov.get(shape)
        if model is None:
            model = Model(self.model_path, engine="openvino", threads=self._num_threads, input_shape=shape)
            self._ov[shape] = model
        return model

    def run(self, rgb: np.ndarray) -> np.ndarray:
        """Raw (6, 56) model output for an RGB image (see :meth:`MoveNetBackend.run`)."""
        if self.engine == "litert":
            return super().run(rgb)
        batch = self.network_input(rgb)
        return self._ov_model(batch.shape).run(batch)[0][0].copy()

    def close(self) -> None:
        """Drop the OpenVINO networks and the LiteRT interpreter."""
        for model in self._ov.values():
            model.close()
        self._ov.clear()
        super().close()


__all__ = ["MoveNetFastBackend"]
