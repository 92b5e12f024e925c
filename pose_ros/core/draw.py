"""Drawing skeletons on images, coloured by track id.

The same colours are used for RViz markers (``id_color``), so a person has one
colour everywhere.
"""
from __future__ import annotations

import zlib

import cv2
import numpy as np

from pose_ros.core.skeleton import COCO17_EDGES, Person

_UNTRACKED = (200, 200, 200)


def id_color(track_id: str) -> tuple[int, int, int]:
    """A stable, saturated RGB colour for a track id (grey when untracked)."""
    if not track_id:
        return _UNTRACKED
    hue = zlib.crc32(track_id.encode()) % 180
    hsv = np.array([[[hue, 220, 255]]], dtype=np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def draw_people(bgr: np.ndarray, people: list[Person], min_score: float = 0.3,
                thickness: int | None = None, actions: dict[str, str] | None = None) -> np.ndarray:
    """Draw bones, joints, boxes and labels in place on a BGR image and return it.

    The label is the track id and, when ``actions`` (track id -> current action label)
    knows the person, their action: what a person watching the image wants to read.
    """
    h, w = bgr.shape[:2]
    t = thickness or max(1, round(min(h, w) / 240))
    for p in people:
        r, g, b = id_color(p.track_id)
        color = (b, g, r)
        kp = p.keypoints
        ok = (kp[:, 2] >= min_score) & np.isfinite(kp[:, :2]).all(axis=1)
        pts = np.zeros((len(kp), 2), dtype=np.int32)
        pts[ok] = np.round(kp[ok, :2]).astype(np.int32)
        for a, c in COCO17_EDGES:
            if ok[a] and ok[c]:
                cv2.line(bgr, tuple(pts[a]), tuple(pts[c]), color, t, cv2.LINE_AA)
        for x, y in pts[ok]:
            cv2.circle(bgr, (int(x), int(y)), t + 1, color, -1, cv2.LINE_AA)
        if p.box is not None and np.isfinite(p.box).all():
            x0, y0, x1, y1 = (int(round(v)) for v in p.box)
            cv2.rectangle(bgr, (x0, y0), (x1, y1), color, 1)
            action = (actions or {}).get(p.track_id, "")
            label = f"{p.track_id} {action}".strip() if p.track_id else f"person {p.score:.2f}"
            cv2.putText(bgr, label, (x0, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * t, color, t, cv2.LINE_AA)
    return bgr
