"""One small wrapper over the CPU inference engines: OpenVINO, ONNX Runtime, LiteRT.

Why: the same ONNX or TFLite file runs faster on OpenVINO than on ONNX Runtime or
LiteRT on this class of CPU (measured per model: bench/raw_models.py, docs/benchmarks.md),
but OpenVINO is an optional wheel and some graphs may not load in it. ``engine="auto"``
therefore tries OpenVINO first and falls back to ONNX Runtime (``.onnx``) or LiteRT
(``.tflite``), so a backend never has to know which engine it got. Every engine
is asked for a fixed thread count: the package runs next to ROS executors and
other nodes, and letting each engine grab every core makes all of them slower.

``Model.run(*inputs)`` takes numpy arrays in the model's input order and returns
the outputs as numpy arrays in the model's output order (sorted by name for
graphs whose engines disagree on the order, see ``output_names``).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from pose_ros.core.models import ModelError, one_line

ENGINES = ("auto", "openvino", "onnxruntime", "litert")
_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8,
              "tensor(int32)": np.int32, "tensor(int64)": np.int64}


def _dims(shape: Any) -> tuple[int | None, ...]:
    """Engine shape -> tuple with None for every dynamic or unknown dimension."""
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


def import_openvino() -> Any:
    """``import openvino`` without its usage telemetry.

    The openvino wheel imports its model converter, which sends an "ov import" event to
    Google Analytics from a child process and writes ``~/intel/openvino_ga_cid`` unless
    the user opted out (openvino-telemetry, opt-out, off only when ``CI=true``). A robot
    should not phone home, the child inherits the node's Ctrl-C handling (a traceback at
    shutdown), and the call fails offline anyway. With ``openvino_telemetry`` blocked in
    ``sys.modules`` the converter falls back to its own no-op stub; inference is unchanged.
    """
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)   # None: `import` raises ImportError
    import openvino
    return openvino


def _openvino_core() -> Any:
    """A process-wide OpenVINO Core (creating one costs ~50 ms and loads plugins)."""
    global _OV_CORE
    if _OV_CORE is None:
        _OV_CORE = import_openvino().Core()
    return _OV_CORE


_OV_CORE: Any = None


def _numpy_type(convert: Any) -> Any:
    """``convert()`` as a numpy dtype, or None where the engine's type has no numpy name."""
    try:
        return np.dtype(convert())
    except Exception:
        return None


class Model:
    """A loaded model on one engine; ``engine`` says which one it got.

    ``input_shapes`` / ``output_shapes`` (None for a dynamic dimension) and ``input_dtypes``
    (None for a type numpy has no name for) let a backend check a user's model file
    without knowing the engine.
    """

    def __init__(self, path: Path | str, engine: str = "auto", threads: int = 1,
                 input_shape: tuple[int, ...] | None = None) -> None:
        """Load ``path``; ``input_shape`` fixes a dynamic input (OpenVINO, LiteRT) before compiling.

        Raises ModelError when no engine can load the file, naming the file and the errors.
        """
        if engine not in ENGINES:
            raise ModelError(f"unknown inference engine {engine!r}; choose one of {ENGINES}")
        self.path = Path(path)
        self.threads = max(1, int(threads))
        self.input_shape = tuple(input_shape) if input_shape else None
        tflite = self.path.suffix == ".tflite"
        order = [engine] if engine != "auto" else ["openvino", "litert" if tflite else "onnxruntime"]
        errors: list[str] = []
        for name in order:
            try:
                getattr(self, f"_load_{name}")()
                self.engine = name
                break
            except ImportError as exc:
                errors.append(f"{name}: not installed ({exc.name or exc})")
            except Exception as exc:
                errors.append(f"{name}: {one_line(exc, 160)}")
        else:
            raise ModelError(f"cannot load model file {str(self.path)!r} ({'; '.join(errors)}); the file "
                             "is truncated or not a model: run `make setup` to rebuild it")

    # -- engines -----------------------------------------------------------------------------
    def _load_openvino(self) -> None:
        core = _openvino_core()
        model = core.read_model(str(self.path))
        if self.input_shape is not None:
            model.reshape({model.inputs[0].get_any_name(): list(self.input_shape)})
        compiled = core.compile_model(model, "CPU", {
            "INFERENCE_NUM_THREADS": self.threads, "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32",   # no silent bf16 on CPUs that have it
            "ENABLE_CPU_PINNING": False})   # pinned threads stall when other nodes share the cores
        self._request = compiled.create_infer_request()
        self._outputs = list(compiled.outputs)
        self.input_names = [p.get_any_name() for p in compiled.inputs]
        self.output_names = [p.get_any_name() for p in self._outputs]
        self.input_shapes = [_dims(d.get_length() if d.is_static else None for d in p.get_partial_shape())
                             for p in compiled.inputs]
        self.output_shapes = [_dims(d.get_length() if d.is_static else None for d in p.get_partial_shape())
                              for p in self._outputs]
        self.input_dtypes = [_numpy_type(p.get_element_type().to_dtype) for p in compiled.inputs]
        self._run = self._run_openvino

    def _run_openvino(self, inputs: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        res = self._request.infer(dict(enumerate(inputs)), share_inputs=True)
        return [np.asarray(res[o]) for o in self._outputs]

    def _load_onnxruntime(self) -> None:
        if self.path.suffix == ".tflite":
            raise ValueError("ONNX Runtime does not read TFLite files")
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]
        self.input_shapes = [_dims(i.shape) for i in self._session.get_inputs()]
        self.output_shapes = [_dims(o.shape) for o in self._session.get_outputs()]
        self.input_dtypes = [_ORT_TYPES.get(i.type) for i in self._session.get_inputs()]
        self._run = self._run_onnxruntime

    def _run_onnxruntime(self, inputs: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        return self._session.run(None, dict(zip(self.input_names, inputs)))

    def _load_litert(self) -> None:
        if self.path.suffix != ".tflite":
            raise ValueError("LiteRT reads only TFLite files")
        from ai_edge_litert.interpreter import Interpreter
        interp = Interpreter(model_path=str(self.path), num_threads=self.threads)
        inp = interp.get_input_details()[0]
        if self.input_shape is not None:
            interp.resize_tensor_input(inp["index"], list(self.input_shape), strict=False)
        interp.allocate_tensors()
        self._interp = interp
        self._in_idx = [d["index"] for d in interp.get_input_details()]
        self._in_dtype = [np.dtype(d["dtype"]) for d in interp.get_input_details()]
        self._out_idx = [d["index"] for d in interp.get_output_details()]
        self.input_names = [d["name"] for d in interp.get_input_details()]
        self.output_names = [d["name"] for d in interp.get_output_details()]
        self.input_shapes = [_dims(d["shape_signature"]) for d in interp.get_input_details()]
        self.output_shapes = [_dims(d["shape_signature"]) for d in interp.get_output_details()]
        self.input_dtypes = list(self._in_dtype)
        self._run = self._run_litert

    def _run_litert(self, inputs: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        for idx, dtype, arr in zip(self._in_idx, self._in_dtype, inputs):
            self._interp.set_tensor(idx, np.ascontiguousarray(arr, dtype=dtype))
        self._interp.invoke()
        return [self._interp.get_tensor(i).copy() for i in self._out_idx]

    # -- public --------------------------------------------------------------------------------
    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Outputs for one set of inputs (numpy in the model's input order)."""
        return self._run(inputs)

    def outputs_by_name(self, *inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs keyed by name without the ``:0`` suffix (engines disagree on output order)."""
        return {n.split(":")[0]: v for n, v in zip(self.output_names, self._run(inputs))}

    def close(self) -> None:
        """Drop the engine objects (they free their memory on garbage collection)."""
        for attr in ("_request", "_session", "_interp"):
            if hasattr(self, attr):
                setattr(self, attr, None)


def load(path: Path | str, engine: str = "auto", threads: int = 1,
         input_shape: tuple[int, ...] | None = None) -> Model:
    """Shorthand for :class:`Model`."""
    return Model(path, engine=engine, threads=threads, input_shape=input_shape)


__all__ = ["ENGINES", "Model", "import_openvino", "load"]
