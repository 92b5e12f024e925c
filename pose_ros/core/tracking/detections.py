"""What the tracker can use of a frame's people: garbage filtered, the rest stacked as arrays.

Kept out of the tracker because it is about the input, not about identities: scores
clipped to [0, 1], joints that are not finite or out of range made unseen (NaN would
poison OKS and the float32 output), a box that is not a proper box replaced by the
keypoint box, and a person with neither dropped.
"""
from __future__ import annotations

import numpy as np

from pose_ros.core.skeleton import NUM_COCO17, Person, TrackState, box_ok, coords_ok, keypoint_box


def accept(people: list[Person], low_score: float
           ) -> tuple[list[Person], np.ndarray, np.ndarray, np.ndarray]:
    """Filter out what cannot be tracked; stack boxes (xyxy), keypoints and scores."""
    dets, boxes, kps, scores = [], [], [], []
    for p in people:
        s = float(p.score) if p.score is not None and np.isfinite(p.score) else 0.0
        s = min(max(s, 0.0), 1.0)
        if s < low_score:
            continue
        kp = np.asarray(p.keypoints, dtype=np.float64)
        if kp.shape != (NUM_COCO17, 3):
            kp = np.full((NUM_COCO17, 3), np.nan)
            kp[:, 2] = 0.0
        else:
            unseen = ~(coords_ok(kp[:, :2]) & np.isfinite(kp[:, 2]))
            if unseen.any() or not ((kp[:, 2] >= 0.0) & (kp[:, 2] <= 1.0)).all():
                # NaN/inf/huge joints would poison OKS, the shape and the float32 output
                kp = kp.copy()
                kp[unseen, :2], kp[unseen, 2] = np.nan, 0.0
                np.clip(kp[:, 2], 0.0, 1.0, out=kp[:, 2])
        box = p.ensure_box()
        if not box_ok(box):
            box = p.box = keypoint_box(kp)
            if box is None:
                continue
        p.track_id, p.track_state = "", TrackState.UNTRACKED
        dets.append(p)
        boxes.append(np.asarray(box, dtype=np.float64))
        kps.append(kp)
        scores.append(s)
    if not dets:
        return [], np.zeros((0, 4)), np.zeros((0, NUM_COCO17, 3)), np.zeros(0)
    return dets, np.stack(boxes), np.stack(kps), np.array(scores)


__all__ = ["accept"]
