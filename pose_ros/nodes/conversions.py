"""Messages <-> core objects: images, skeletons. No cv_bridge needed."""
from __future__ import annotations

from array import array

import numpy as np
from geometry_msgs.msg import Point, Vector3
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from pose_ros.core import image as imgconv
from pose_ros.core.skeleton import Frame3D, KeypointFormat, Person, TrackState
from pose_ros.msg import Keypoint, Skeleton, SkeletonArray


def stamp_to_sec(stamp) -> float:
    """builtin_interfaces/Time -> float seconds (the only clock the pipeline uses)."""
    return stamp.sec + stamp.nanosec * 1e-9


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB; raises image.ImageError on bad input."""
    return imgconv.image_to_rgb(msg.encoding, msg.width, msg.height, msg.step, bool(msg.is_bigendian), msg.data)


def compressed_msg_to_rgb(msg: CompressedImage) -> np.ndarray:
    return imgconv.decode_compressed(msg.format, msg.data)


def depth_msg_to_metres(msg: Image) -> np.ndarray:
    return imgconv.depth_to_metres(msg.encoding, msg.width, msg.height, msg.step, bool(msg.is_bigendian), msg.data)


def bgr_to_image_msg(bgr: np.ndarray, header: Header) -> Image:
    """Pack a BGR uint8 array into a bgr8 Image with the given header."""
    bgr = np.ascontiguousarray(bgr)
    h, w = bgr.shape[:2]
    return Image(header=header, height=h, width=w, encoding="bgr8", is_bigendian=0, step=w * 3,
                 data=array("B", bgr.tobytes()))  # array: rclpy's fast path (bytes is re-checked)


def _keypoints(arr: np.ndarray) -> list[Keypoint]:
    return [Keypoint(x=float(x), y=float(y), score=float(s)) for x, y, s in arr.tolist()]


def _points(arr: np.ndarray) -> list[Point]:
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in arr.tolist()]


def person_to_msg(p: Person, header: Header) -> Skeleton:
    box = p.box if p.box is not None else np.full(4, np.nan, dtype=np.float32)
    s = Skeleton(header=header, id=p.track_id, track_state=int(p.track_state), score=float(p.score),
                 x_min=float(box[0]), y_min=float(box[1]), x_max=float(box[2]), y_max=float(box[3]),
                 format=int(KeypointFormat.COCO_17), keypoints=_keypoints(p.keypoints))
    if p.keypoints_3d is not None and p.frame_3d != Frame3D.NONE:
        s.frame_3d = int(p.frame_3d)
        s.keypoints_3d = _points(p.keypoints_3d)
        if p.landmarks_3d is not None:
            s.landmarks_3d = _points(p.landmarks_3d)
    if p.landmarks is not None:
        s.landmarks = _keypoints(p.landmarks)
    for side, (sign, conf) in p.extra.get("hand_signs", {}).items():
        setattr(s, f"{side}_hand_sign", str(sign))
        setattr(s, f"{side}_hand_sign_score", float(conf))
    if p.velocities is not None:
        s.velocities = [Vector3(x=float(vx), y=float(vy), z=0.0) for vx, vy in p.velocities.tolist()]
    return s


def people_to_msg(people: list[Person], header: Header, width: int, height: int) -> SkeletonArray:
    """Every output copies the source image header: stamp and frame_id."""
    return SkeletonArray(header=header, image_width=int(width), image_height=int(height),
                         skeletons=[person_to_msg(p, header) for p in people])


def _kp_array(kps) -> np.ndarray:
    return np.array([(k.x, k.y, k.score) for k in kps], dtype=np.float32).reshape(-1, 3)


def _pt_array(pts) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in pts], dtype=np.float32).reshape(-1, 3)


def msg_to_person(s: Skeleton) -> Person:
    """Skeleton message -> Person (for the standalone tracker and the action classifier)."""
    box = np.array([s.x_min, s.y_min, s.x_max, s.y_max], dtype=np.float32)
    frame = Frame3D(s.frame_3d) if s.frame_3d in (0, 1, 2) else Frame3D.NONE
    return Person(
        keypoints=_kp_array(s.keypoints), score=float(s.score),
        box=box if np.isfinite(box).all() else None,
        landmarks=_kp_array(s.landmarks) if s.landmarks else None,
        keypoints_3d=_pt_array(s.keypoints_3d) if s.keypoints_3d else None,
        landmarks_3d=_pt_array(s.landmarks_3d) if s.landmarks_3d else None,
        frame_3d=frame, track_id=s.id,
        track_state=TrackState(s.track_state) if s.track_state in (0, 1, 2, 3) else TrackState.UNTRACKED,
        velocities=np.array([(v.x, v.y) for v in s.velocities], dtype=np.float32) if s.velocities else None,
        extra={"hand_signs": {side: (getattr(s, f"{side}_hand_sign"), getattr(s, f"{side}_hand_sign_score"))
                              for side in ("left", "right") if getattr(s, f"{side}_hand_sign")}})


def msg_to_people(msg: SkeletonArray) -> list[Person]:
    return [msg_to_person(s) for s in msg.skeletons]
