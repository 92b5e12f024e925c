"""MediaPipe BlazePose (legacy ``mp.solutions.pose``), single person.

Only ``model_complexity=1`` ships inside the ``mediapipe==0.10.14`` wheel; 0 and 2
download their weights at run time, which fails offline, so they are refused here
with a clear message instead of hanging on the network.
"""
from __future__ import annotations

import numpy as np

from pose_ros.core.detection.base import BackendError
from pose_ros.core.detection.quiet import native_stderr_filtered, quiet_python_warnings
from pose_ros.core.models import BLAZEPOSE_DETECTOR, BLAZEPOSE_LANDMARK, resolve_packaged
from pose_ros.core.skeleton import BLAZEPOSE33_TO_COCO17, Frame3D, Person, keypoint_box, mask_missing


MAX_SIDE = 8192  # longer sides are downscaled before inference

class MediaPipeBackend:
    """BlazePose full: 33 landmarks, COCO-17 subset, metric world landmarks (body frame)."""

    name = "mediapipe"

    def __init__(self, model_complexity: int = 1, static_image_mode: bool = False,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 min_keypoint_score: float = 0.05, **_: object) -> None:
        if model_complexity != 1:
            raise BackendError(
                f"mediapipe model_complexity={model_complexity} downloads its model at run time; "
                "only model_complexity=1 ships in the mediapipe==0.10.14 wheel: set mediapipe.model_complexity: 1")
        # The wheel's model files are pinned like every packaged model: a corrupt or other
        # version fails here with the file and the reinstall command, not inside mediapipe.
        for spec in (BLAZEPOSE_LANDMARK, BLAZEPOSE_DETECTOR):
            resolve_packaged(spec, parameter=None)
        quiet_python_warnings()
        try:
            import mediapipe as mp
        except ImportError as exc:
            raise BackendError("mediapipe is not installed: pip install mediapipe==0.10.14 "
                               "(or run `make setup`)") from exc
        try:
            # The graph opens its TFLite models in its own threads after Pose() returns, and logs
            # then: the filter lasts until a blank frame has gone through (the graph is open).
            with native_stderr_filtered():
                self._pose = mp.solutions.pose.Pose(
                    static_image_mode=static_image_mode, model_complexity=1, smooth_landmarks=not static_image_mode,
                    min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence)
                self._pose.process(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:  # mediapipe raises plain RuntimeError on missing graph files
            raise BackendError(f"mediapipe BlazePose failed to load ({exc}); reinstall mediapipe==0.10.14") from exc
        self.model = "mediapipe==0.10.14 pose_landmark_full (BlazePose, model_complexity=1)"
        self._min_kp = float(min_keypoint_score)

    def infer(self, rgb: np.ndarray) -> list[Person]:
        """Run BlazePose on one RGB image; zero or one person."""
        h, w = rgb.shape[:2]
        if max(h, w) > MAX_SIDE:  # mediapipe's OpenCV aborts the process at 32767 px (cv::remap)
            import cv2
            f = MAX_SIDE / max(h, w)
            rgb = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        if not rgb.flags.c_contiguous:
            rgb = np.ascontiguousarray(rgb)  # mediapipe needs a packed buffer
        res = self._pose.process(rgb)
        if res.pose_landmarks is None:
            return []
        # landmarks are normalised: scaled by the original size they fit the original image
        lm = np.array([(p.x * w, p.y * h, p.visibility) for p in res.pose_landmarks.landmark], dtype=np.float32)
        lm = mask_missing(lm, self._min_kp)
        world = None
        if res.pose_world_landmarks is not None:
            world = np.array([(p.x, p.y, p.z) for p in res.pose_world_landmarks.landmark], dtype=np.float32)
            world[lm[:, 2] <= 0] = np.nan
        kp = lm[BLAZEPOSE33_TO_COCO17]
        valid = kp[:, 2] > 0
        score = float(kp[valid, 2].mean()) if valid.any() else 0.0
        return [Person(
            keypoints=kp, score=score, box=keypoint_box(lm, self._min_kp), landmarks=lm,
            keypoints_3d=None if world is None else world[BLAZEPOSE33_TO_COCO17],
            landmarks_3d=world, frame_3d=Frame3D.NONE if world is None else Frame3D.BODY)]

    def close(self) -> None:
        self._pose.close()
