"""Messages <-> core objects: images, skeletons. No cv_bridge needed.

Input messages are validated here, at the edge of the nodes: a malformed message raises
a typed error (``image.ImageError`` for images, :class:`SkeletonError` for skeletons)
whose text says what is wrong; the node callbacks catch it, count it and log it through
``ratelog.RateLimitedLog``. Nothing malformed reaches the core code.
"""
from __future__ import annotations

import re
from array import array

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Vector3
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from pose_ros.core.imaging import raw as imgconv
from pose_ros.core.imaging.compressed import decode_compressed
from pose_ros.core.skeleton import (
    NUM_BLAZEPOSE33, NUM_COCO17, Frame3D, KeypointFormat, Person, TrackState, clean_ages, clean_boxes, clean_enum,
    clean_keypoints, clean_points, clean_scores,
)
from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from pose_ros.nodes.ratelog import problem_key

# Most people in one SkeletonArray (work per message is linear in it; backends find <= 20).
MAX_SKELETONS = 100


class SkeletonError(ValueError):
    """A Skeleton / SkeletonArray message that cannot be used. ``kind`` names the problem
    without the values, for rate-limited logging (one line per kind, not per value)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


def sec_to_stamp(t: float) -> Time:
    """Seconds -> builtin_interfaces/Time, rounding to the nanosecond with the carry.

    (Rounding the fraction alone turns 61.99999999999999 into 61.000: a stamp one
    second back, which resets every tracker downstream.)
    """
    sec, nanosec = divmod(int(round(t * 1e9)), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def stamp_to_sec(stamp) -> float:
    """builtin_interfaces/Time -> float seconds (the only clock the pipeline uses)."""
    return stamp.sec + stamp.nanosec * 1e-9


def image_problem(exc: Exception) -> str:
    """The kind of an image problem, for rate-limited logging: the message without its values
    and without the encoding name ("bgr8 image data is truncated: 214 bytes" and "mono8 image
    data is truncated: 7 bytes" are one kind)."""
    return problem_key(re.sub(r"^\S+ image ", "image ", str(exc)))[:40]


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB; raises image.ImageError on bad input."""
    imgconv.check_image_size(f"{msg.encoding[:32]!r} image", msg.width, msg.height)
    return imgconv.image_to_rgb(msg.encoding, msg.width, msg.height, msg.step, bool(msg.is_bigendian), msg.data)


def compressed_msg_to_rgb(msg: CompressedImage) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> (H, W, 3) uint8 RGB; raises image.ImageError on bad input."""
    return decode_compressed(msg.format, msg.data)


def depth_msg_to_metres(msg: Image) -> np.ndarray:
    return imgconv.depth_to_metres(msg.encoding, msg.width, msg.height, msg.step, bool(msg.is_bigendian), msg.data)


def bgr_to_image_msg(bgr: np.ndarray, header: Header) -> Image:
    """Pack a BGR uint8 array into a bgr8 Image with the given header."""
    bgr = np.ascontiguousarray(bgr)
    h, w = bgr.shape[:2]
    data = array("B")   # array: rclpy's fast path (bytes is re-checked)
    data.frombytes(memoryview(bgr).cast("B"))   # one copy (tobytes then array() made two)
    return Image(header=header, height=h, width=w, encoding="bgr8", is_bigendian=0, step=w * 3, data=data)


def _keypoints(arr: np.ndarray) -> list[Keypoint]:
    return [Keypoint(x=float(x), y=float(y), score=float(s)) for x, y, s in arr.tolist()]


def _points(arr: np.ndarray) -> list[Point]:
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in arr.tolist()]


def person_to_msg(p: Person, header: Header) -> Skeleton:
    box = p.box if p.box is not None else np.full(4, np.nan, dtype=np.float32)
    s = Skeleton(header=header, id=p.track_id, track_state=int(p.track_state), score=float(p.score),
                 predicted=bool(p.predicted), pose_age=float(p.pose_age),
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


def _score(v: float) -> float:
    """A confidence in [0, 1]; NaN and inf count as 0 (no confidence)."""
    return float(clean_scores(v))


def _clean_keypoints(kps, what: str, count: int, mask: bool = True) -> np.ndarray:
    """(count, 3) float32 cleaned by the one rule (core.skeleton.clean_keypoints)."""
    if len(kps) != count:
        raise SkeletonError(f"{what} count", f"skeleton has {len(kps)} {what}, expected {count} (Skeleton.msg)")
    return clean_keypoints(_kp_array(kps), mask)


def _optional_points(pts, what: str, count: int) -> np.ndarray | None:
    if not pts:
        return None
    if len(pts) != count:
        raise SkeletonError(f"{what} count", f"skeleton has {len(pts)} {what}, expected 0 or {count}")
    return clean_points(_pt_array(pts))


def msg_to_person(s: Skeleton) -> Person:
    """Skeleton message -> Person (for the standalone tracker and the action classifier).

    Raises SkeletonError for a skeleton that breaks Skeleton.msg (another keypoint format,
    wrong number of keypoints / landmarks / 3D points / velocities). Keypoints with a
    non-finite or absurd coordinate or score count as not detected (score 0, NaN x, y);
    scores are clipped to [0, 1]; a box that is not finite, inverted or empty is dropped (it is
    rebuilt from the keypoints). The rule is core.skeleton's clean_*, which api.to_numpy uses too.
    """
    if s.format != KeypointFormat.COCO_17:
        raise SkeletonError("format", f"skeleton keypoint format {s.format} is unknown; only "
                            f"FORMAT_COCO_17 ({int(KeypointFormat.COCO_17)}) is defined")
    keypoints = _clean_keypoints(s.keypoints, "keypoints", NUM_COCO17)
    landmarks = _clean_keypoints(s.landmarks, "landmarks", NUM_BLAZEPOSE33, mask=False) if s.landmarks else None
    keypoints_3d = _optional_points(s.keypoints_3d, "keypoints_3d", NUM_COCO17)
    landmarks_3d = _optional_points(s.landmarks_3d, "landmarks_3d", NUM_BLAZEPOSE33)
    velocities = None
    if s.velocities:
        if len(s.velocities) != NUM_COCO17:
            raise SkeletonError("velocities count", f"skeleton has {len(s.velocities)} velocities, "
                                f"expected 0 or {NUM_COCO17}")
        velocities = np.array([(v.x, v.y) for v in s.velocities], dtype=np.float32)
        velocities[~np.isfinite(velocities).all(axis=1)] = np.nan
    box = clean_boxes(np.array([s.x_min, s.y_min, s.x_max, s.y_max], dtype=np.float64))
    frame = Frame3D(int(clean_enum(s.frame_3d, Frame3D, Frame3D.NONE))) if keypoints_3d is not None else Frame3D.NONE
    return Person(
        keypoints=keypoints, score=_score(s.score), box=box if np.isfinite(box).all() else None,
        landmarks=landmarks, keypoints_3d=keypoints_3d if frame != Frame3D.NONE else None,
        landmarks_3d=landmarks_3d if frame != Frame3D.NONE else None,
        frame_3d=frame, track_id=s.id,
        track_state=TrackState(int(clean_enum(s.track_state, TrackState, TrackState.UNTRACKED))),
        velocities=velocities, predicted=bool(s.predicted), pose_age=float(clean_ages(s.pose_age)),
        extra={"hand_signs": {side: (getattr(s, f"{side}_hand_sign"), _score(getattr(s, f"{side}_hand_sign_score")))
                              for side in ("left", "right") if getattr(s, f"{side}_hand_sign")}})


def check_skeleton_array(msg: SkeletonArray) -> None:
    """SkeletonError for a message too large to be one camera image of people."""
    if len(msg.skeletons) > MAX_SKELETONS:
        raise SkeletonError("too many skeletons", f"SkeletonArray has {len(msg.skeletons)} skeletons, "
                            f"more than {MAX_SKELETONS} in one image; message skipped")


def msg_to_people(msg: SkeletonArray, on_error=None) -> list[Person]:
    """The usable skeletons of ``msg`` as Persons.

    A malformed skeleton raises SkeletonError, or, with ``on_error``, is passed to it
    and left out (the rest of the frame is still used). A message with more than
    MAX_SKELETONS raises SkeletonError either way.
    """
    check_skeleton_array(msg)
    people = []
    for s in msg.skeletons:
        try:
            people.append(msg_to_person(s))
        except SkeletonError as exc:
            if on_error is None:
                raise
            on_error(exc)
    return people
