"""Rule-based per-track action labels over a time window (the interpretable baseline).

``RuleActionClassifier`` scores body speed, vertical bounce and the active
gestures/postures, each scaled by torso length so it works at any distance. The
learned temporal model (:class:`pose_ros.core.actions.learned.LearnedActionClassifier`)
shares its interface: ``classify(window, active) -> ActionResult``. Both are
importable from :mod:`pose_ros.core.actions.learned`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_ros.core.features.pose import TrackWindow, body_centres, torso_length, visible_mask

ACTION_CLASSES: tuple[str, ...] = (
    "standing", "walking", "running", "waving", "jumping", "sitting", "squatting", "lying", "falling")
UNKNOWN = "unknown"


@dataclass
class ActionResult:
    label: str
    score: float
    class_scores: np.ndarray  # (len(classifier.classes),), sums to 1
    window_start: float
    window_end: float


def _sig(x: float, at: float, width: float) -> float:
    return float(1.0 / (1.0 + np.exp(-(x - at) / width)))


class RuleActionClassifier:
    """Scores every class from motion features and gesture states; 'unknown' when unsure."""

    classes = ACTION_CLASSES

    def __init__(self, min_visible: float = 0.5, min_duration: float = 0.5, min_confidence: float = 0.4,
                 min_keypoint_score: float = 0.2) -> None:
        self.min_visible = min_visible
        self.min_duration = min_duration
        self.min_confidence = min_confidence
        self.min_score = min_keypoint_score

    def motion(self, window: TrackWindow) -> dict[str, float] | None:
        """Hip-centre speed and bounce in torso lengths; None when the window says too little."""
        kp = window.keypoints
        t = window.stamps
        if len(t) < 3 or window.duration < self.min_duration:
            return None
        vis = visible_mask(kp, self.min_score)
        if vis.mean() < self.min_visible:
            return None
        _, hips = body_centres(kp, self.min_score)
        tl = torso_length(kp, self.min_score)
        # no torso seen in the whole window (e.g. shoulders and hips occluded): no scale
        torso = np.nanmedian(tl) if np.isfinite(tl).any() else np.nan
        ok = np.isfinite(hips).all(axis=1)
        if ok.sum() < 3 or not np.isfinite(torso) or torso <= 1e-6:
            return None
        h, tt = hips[ok] / torso, t[ok]
        dt = tt[-1] - tt[0]
        if dt <= 0:
            return None
        speed_x = abs(h[-1, 0] - h[0, 0]) / dt           # net horizontal travel per second
        bounce = float(np.std(h[:, 1]))                   # vertical oscillation
        return {"speed": float(speed_x), "bounce": bounce, "visible": float(vis.mean())}

    def classify(self, window: TrackWindow, active: set[str]) -> ActionResult:
        m = self.motion(window)
        start, end = (window.start, window.end) if len(window) else (0.0, 0.0)
        n = len(self.classes)
        if m is None:
            return ActionResult(UNKNOWN, 0.0, np.full(n, 1.0 / n, dtype=np.float32), start, end)
        s = {c: 0.05 for c in self.classes}
        moving = _sig(m["speed"], 0.35, 0.08)
        s["walking"] += moving * (1 - _sig(m["speed"], 2.0, 0.3))
        s["running"] += _sig(m["speed"], 2.0, 0.3)
        s["jumping"] += _sig(m["bounce"], 0.12, 0.03) * (1 - 0.5 * moving)
        s["standing"] += (1 - moving) * (1 - _sig(m["bounce"], 0.12, 0.03)) * (1.0 if "standing" in active else 0.5)
        s["waving"] += 1.5 if ("wave_left" in active or "wave_right" in active) else 0.0
        s["sitting"] += 1.2 if "sitting" in active else 0.0
        s["squatting"] += 1.2 if "crouching" in active else 0.0
        s["lying"] += 1.2 if "lying" in active else 0.0
        s["falling"] += 2.0 if "fall" in active else 0.0
        scores = np.array([s[c] for c in self.classes], dtype=np.float32)
        scores /= scores.sum()
        best = int(np.argmax(scores))
        conf = float(scores[best]) * min(1.0, m["visible"] / max(self.min_visible, 1e-6))
        label = self.classes[best] if conf >= self.min_confidence else UNKNOWN
        return ActionResult(label, conf, scores, start, end)
