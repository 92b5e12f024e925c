"""Hand landmark models, resolved like every other model (see :mod:`pose_ros.core.models`).

Both MediaPipe hand landmark models ship inside the ``mediapipe==0.10.14`` wheel
(``mediapipe/modules/hand_landmark/``), so nothing is downloaded at run time:

* ``full`` -- ``hand_landmark_full.tflite`` (5.5 MB, legacy ``model_complexity=1``)
* ``lite`` -- ``hand_landmark_lite.tflite`` (2.1 MB, legacy ``model_complexity=0``)

Both take a 224x224 RGB float input in [0, 1] and return 21 landmarks (x, y, z in
input pixels), a hand presence probability, a handedness probability and 21
metric world landmarks. :mod:`pose_ros.core.hands.signs` runs them with LiteRT on
crops placed from the body pose, so the palm detectors (which also ship) are not
needed. The files are found with ``find_spec`` (mediapipe is never imported) and
pinned by sha256.
"""
from __future__ import annotations

from pathlib import Path

from pose_ros.core.models import MEDIAPIPE_PIP, ModelError, PackagedModel, resolve_packaged

HAND_LANDMARK_FULL_SHA256 = "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3"
HAND_LANDMARK_LITE_SHA256 = "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6"

HAND_MODEL_PARAMETER = "hand_signs.model_path"

HAND_LANDMARK_FULL = PackagedModel(
    package="mediapipe", relpath="modules/hand_landmark/hand_landmark_full.tflite", member="",
    sha256=HAND_LANDMARK_FULL_SHA256, pip=MEDIAPIPE_PIP, parameter=HAND_MODEL_PARAMETER)
HAND_LANDMARK_LITE = PackagedModel(
    package="mediapipe", relpath="modules/hand_landmark/hand_landmark_lite.tflite", member="",
    sha256=HAND_LANDMARK_LITE_SHA256, pip=MEDIAPIPE_PIP, parameter=HAND_MODEL_PARAMETER)

HAND_LANDMARK_MODELS: dict[str, PackagedModel] = {"full": HAND_LANDMARK_FULL, "lite": HAND_LANDMARK_LITE}


def resolve_hand_landmark(path_override: str = "", variant: str = "full", parameter: str = "") -> Path:
    """The hand landmark model: ``path_override`` if given, else the pinned file from the wheel.

    Raises :class:`~pose_ros.core.models.ModelError` naming ``pip install mediapipe==0.10.14``
    when the wheel (or the file in it) is missing, and the parameter to set instead.
    """
    spec = HAND_LANDMARK_MODELS.get(variant)
    if spec is None:
        raise ModelError(f"unknown hand landmark model {variant!r}; use one of "
                         f"{', '.join(sorted(HAND_LANDMARK_MODELS))}")
    return resolve_packaged(spec, path_override, parameter)


__all__ = ["HAND_LANDMARK_FULL", "HAND_LANDMARK_LITE", "HAND_LANDMARK_MODELS", "HAND_MODEL_PARAMETER",
           "ModelError", "resolve_hand_landmark"]
