"""RViz markers for skeletons: joints, bones and an id label per person.

In 3D where the skeleton has camera-frame 3D points; otherwise on an image plane at
a configurable depth in the camera frame, so RViz shows something with any backend.
Each array starts with DELETEALL, so people who left leave no ghost markers.
"""
from __future__ import annotations

import zlib

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from pose_ros.core.draw import id_color
from pose_ros.core.pipeline import CameraModel
from pose_ros.core.skeleton import COCO17_EDGES, Frame3D, Person


def plane_points(kp: np.ndarray, intr: CameraModel, depth: float) -> np.ndarray:
    """Back-project pixel keypoints onto the plane z=depth of the optical frame."""
    x = (kp[:, 0] - intr.cx) / intr.fx * depth
    y = (kp[:, 1] - intr.cy) / intr.fy * depth
    return np.stack([x, y, np.full_like(x, depth)], axis=1)


def person_points(p: Person, intr: CameraModel, plane_depth: float) -> np.ndarray:
    """(17, 3) marker positions in the camera optical frame; NaN where unknown."""
    if p.keypoints_3d is not None and p.frame_3d == Frame3D.CAMERA:
        pts = p.keypoints_3d.astype(np.float64)
        if np.isfinite(pts).all(axis=1).sum() >= 2:
            return pts
    pts = plane_points(p.keypoints.astype(np.float64), intr, plane_depth)
    if p.keypoints_3d is not None and p.frame_3d == Frame3D.BODY:
        placed = place_body_frame(p.keypoints.astype(np.float64), p.keypoints_3d.astype(np.float64), intr)
        if placed is not None:
            pts = placed
    pts[~(p.keypoints[:, 2] > 0)] = np.nan
    return pts


def place_body_frame(kp: np.ndarray, body: np.ndarray, intr: CameraModel) -> np.ndarray | None:
    """Put a metric body-frame skeleton into the camera frame where the 2D one is seen.

    Depth from the ratio of metric to pixel bone lengths (weak perspective), then the
    body is translated so its joints project onto their 2D keypoints on average; so
    RViz shows a metric 3D skeleton that lines up with the image.
    """
    ok = (kp[:, 2] > 0) & np.isfinite(kp[:, :2]).all(axis=1) & np.isfinite(body).all(axis=1)
    edges = np.array([e for e in COCO17_EDGES if ok[e[0]] and ok[e[1]]])
    if len(edges) < 3:
        return None
    px = np.linalg.norm(kp[edges[:, 0], :2] - kp[edges[:, 1], :2], axis=1)
    m = np.linalg.norm(body[edges[:, 0]] - body[edges[:, 1]], axis=1)
    if np.median(px) < 1e-3:
        return None
    depth = intr.fx * float(np.median(m)) / float(np.median(px))
    anchor = plane_points(kp[ok].mean(axis=0, keepdims=True), intr, depth)[0]
    return body - body[ok].mean(axis=0) + anchor


def marker_id(track_id: str, index: int) -> int:
    """Stable marker id from the track id (index keeps untracked people apart)."""
    base = zlib.crc32(track_id.encode()) & 0x3FFFFFFF if track_id else 0
    return (base + index) & 0x7FFFFFFF


def build_markers(people: list[Person], header: Header, intr: CameraModel, plane_depth: float = 3.0,
                  min_score: float = 0.3, joint_size: float = 0.05, lifetime: float = 1.0) -> MarkerArray:
    """MarkerArray for one frame: DELETEALL, then joints, bones and a label per person."""
    arr = MarkerArray()
    arr.markers.append(Marker(header=header, action=Marker.DELETEALL))
    life = Duration(sec=int(lifetime), nanosec=int((lifetime % 1) * 1e9))
    for i, p in enumerate(people):
        r, g, b = id_color(p.track_id)
        color = ColorRGBA(r=r / 255.0, g=g / 255.0, b=b / 255.0, a=1.0)
        pts = person_points(p, intr, plane_depth)
        ok = np.isfinite(pts).all(axis=1) & (p.keypoints[:, 2] >= min_score)
        mid = marker_id(p.track_id, i)
        common = dict(header=header, id=mid, action=Marker.ADD, lifetime=life, color=color)
        joints = Marker(ns="joints", type=Marker.SPHERE_LIST, **common)
        joints.scale.x = joints.scale.y = joints.scale.z = joint_size
        joints.pose.orientation.w = 1.0
        joints.points = [Point(x=x, y=y, z=z) for x, y, z in pts[ok].tolist()]
        bones = Marker(ns="bones", type=Marker.LINE_LIST, **common)
        bones.scale.x = joint_size * 0.5
        bones.pose.orientation.w = 1.0
        for a, c in COCO17_EDGES:
            if ok[a] and ok[c]:
                bones.points.append(Point(x=pts[a, 0], y=pts[a, 1], z=pts[a, 2]))
                bones.points.append(Point(x=pts[c, 0], y=pts[c, 1], z=pts[c, 2]))
        arr.markers += [joints, bones]
        if ok.any():
            top = pts[ok][np.argmin(pts[ok][:, 1])]
            label = Marker(ns="labels", type=Marker.TEXT_VIEW_FACING, text=p.track_id or "person", **common)
            label.scale.z = joint_size * 3
            label.pose.position = Point(x=top[0], y=top[1] - joint_size * 4, z=top[2])
            label.pose.orientation.w = 1.0
            arr.markers.append(label)
    return arr
