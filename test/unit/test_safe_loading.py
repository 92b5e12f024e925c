"""Safe loading: no file, bag or message can make the package run code, and every
parameter says its allowed range when it is refused.

The source scan is the guard for the future (a new ``pickle.load`` fails here); the
booby-trapped files prove that today's loaders refuse what a pickle can smuggle in.
"""
from __future__ import annotations

import ast
import importlib
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / d for d in ("pose_ros", "bench", "scripts", "launch")]
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def _sources() -> list[Path]:
    files = [f for d in SCANNED if d.is_dir() for f in d.rglob("*.py")]
    assert len(files) > 40, "source scan found too few files; is the tree layout different?"
    return files


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _name(node: ast.AST) -> str:
    """Dotted name of a call target, e.g. 'torch.load'."""
    if isinstance(node, ast.Attribute):
        return _name(node.value) + "." + node.attr
    return node.id if isinstance(node, ast.Name) else ""


def unsafe_calls(tree: ast.AST) -> list[str]:
    """Every construct in ``tree`` that can execute code from data."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = _name(node.func)
            last = name.rsplit(".", 1)[-1]
            if name in ("eval", "exec"):
                found.append(f"{name}()")
            elif last == "load" and name.split(".")[0] == "torch":
                w = _kw(node, "weights_only")
                if not (isinstance(w, ast.Constant) and w.value is True):
                    found.append("torch.load without weights_only=True")
            elif name in ("np.load", "numpy.load"):
                a = _kw(node, "allow_pickle")
                if a is not None and not (isinstance(a, ast.Constant) and a.value is False):
                    found.append("np.load with allow_pickle")
            elif name in ("yaml.load", "yaml.load_all"):
                loader = _kw(node, "Loader")
                if loader is None or "Safe" not in _name(loader):
                    found.append(f"{name} without a SafeLoader")
            elif name in ("yaml.unsafe_load", "yaml.full_load", "pd.read_pickle", "pandas.read_pickle"):
                found.append(name)
    return found


def test_scanner_catches_unsafe_code() -> None:
    """The scan is not vacuous: each kind of unsafe loading is seen."""
    bad = ast.parse("import pickle\nfrom joblib import load\nimport torch, numpy as np, yaml\n"
                    "torch.load('x')\ntorch.load('x', weights_only=False)\nnp.load('x', allow_pickle=True)\n"
                    "yaml.load(s)\neval('1')\n")
    assert len(unsafe_calls(bad)) == 7
    ok = ast.parse("import torch, numpy as np, yaml\ntorch.load('x', map_location='cpu', weights_only=True)\n"
                   "np.load('x', allow_pickle=False)\nyaml.safe_load(s)\nyaml.load(s, Loader=yaml.SafeLoader)\n")
    assert unsafe_calls(ok) == []


def test_no_source_unpickles_or_evaluates() -> None:
    problems = {str(f.relative_to(ROOT)): hits for f in _sources()
                if (hits := unsafe_calls(ast.parse(f.read_text(), str(f))))}
    assert not problems, problems


class _Trap:
    """Unpickling this runs ``Path(marker).touch()``: the shape of a real exploit."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_booby_trapped_action_weights_never_run(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    from pose_ros.core.actions.learned import create_action_classifier
    from pose_ros.core.models import ModelError
    marker = tmp_path / "pwned"
    weights = tmp_path / "actions.pt"
    torch.save({"state_dict": _Trap(marker)}, weights)
    with pytest.raises(ModelError) as err:
        create_action_classifier("learned", weights_path=str(weights))
    assert not marker.exists(), "loading the weights ran code from the file"
    assert str(weights) in str(err.value) and "actions.weights" in str(err.value), err.value


def test_booby_trapped_recording_never_runs(tmp_path) -> None:
    """A dataset .npz with a pickled object array is refused, not executed."""
    from pose_ros.training.dataset import load_recording
    marker = tmp_path / "pwned"
    path = tmp_path / "rec.npz"
    np.savez(path, stamps=np.zeros(3), keypoints=np.zeros((3, 17, 3), np.float32),
             label=np.array([_Trap(marker)], dtype=object))
    with zipfile.ZipFile(path) as z:
        assert "label.npy" in z.namelist()
    with pytest.raises(ValueError):
        load_recording(path)
    assert not marker.exists()


def _all_params():
    """Every node's parameter declarations (the nodes and the examples)."""
    out = []
    for mod in ("pose_ros.nodes.estimator_params", "pose_ros.nodes.action_params", "pose_ros.nodes.video_source",
                "pose_ros.examples.hands_up_stop", "pose_ros.examples.follow_person",
                "pose_ros.examples.point_target"):
        m = importlib.import_module(mod)
        for value in vars(m).values():
            if isinstance(value, (list, tuple)) and value and type(value[0]).__name__ == "Param":
                out += [(mod, p) for p in value]
    assert len(out) > 50
    return out


@pytest.mark.parametrize("mod,param", _all_params(), ids=lambda v: getattr(v, "name", v))
def test_parameter_is_range_checked_with_its_range_in_the_message(mod, param) -> None:
    if not isinstance(param.default, (int, float)) or isinstance(param.default, bool):
        if param.choices is not None:
            msg = param.check("definitely-not-a-choice")
            assert msg and all(str(c) in msg for c in param.choices)
        return
    assert param.min is not None and param.max is not None, f"{mod}: {param.name} has no range"
    assert param.check(param.default) is None, f"{param.name}: the default is outside its own range"
    for bad in (param.min - 1, param.max + 1) + ((math.nan,) if isinstance(param.default, float) else ()):
        msg = param.check(bad)
        assert msg and str(param.min) in msg and str(param.max) in msg and param.name in msg, (bad, msg)
