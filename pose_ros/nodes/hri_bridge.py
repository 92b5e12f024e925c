"""hri_bridge: pose_ros's tracked skeletons, actions and gestures as REP-155 (ROS4HRI) bodies.

Subscribes (relative names, in the graph's namespace): ``skeletons``, ``actions``,
``gestures`` and, only while someone subscribes to a ``cropped`` topic, ``image`` (or
``image/compressed`` with ``compressed``).
Publishes, as ``hri_body_detect`` does:

* ``/humans/bodies/tracked`` (hri_msgs/IdsList): the confirmed bodies of every frame;
* per body, ``/humans/bodies/<id>/``: ``roi``, ``cropped``, ``skeleton2d``, ``posture``,
  ``gesture``, and with 3D keypoints ``position`` and ``velocity``; these publishers come
  with the body and go ``forget_after`` seconds (image time) after it leaves;
* ``body_<id>`` on ``/tf`` where the body has 3D keypoints (tf2_ros' broadcaster when
  installed, else a plain TFMessage publisher: the venv has no tf2_ros).

Every header is the source image's (copied from the skeletons / actions / gestures).
What each field holds is decided in :mod:`pose_ros.core.hri`; this node only converts.
Per-body messages are built only for publishers someone listens to.
"""
from __future__ import annotations

import threading
from collections import deque

import numpy as np
from geometry_msgs.msg import Point, PointStamped, Quaternion, TransformStamped, TwistStamped, Vector3
from hri_msgs.msg import BodyPosture, Gesture, IdsList, NormalizedPointOfInterest2D, \
    NormalizedRegionOfInterest2D, Skeleton2D
from rclpy.serialization import deserialize_message
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from pose_ros.core import hri
from pose_ros.core.skeleton import Frame3D, TrackState
from pose_ros.msg import ActionArray, GestureArray, SkeletonArray
from pose_ros.nodes import conversions as conv
from pose_ros.nodes.diagnostics import OK, Diagnostics, RateMeter
from pose_ros.nodes.params import Param, ParamSet
from pose_ros.nodes.qos import OUT_QOS, image_qos
from pose_ros.nodes.ratelog import RateLimitedLog

try:  # a system ROS install has tf2_ros; the PyPI venv does not
    from tf2_ros import TransformBroadcaster
except ImportError:  # pragma: no cover - depends on the install
    TransformBroadcaster = None

HRI_PARAMS = [
    Param("forget_after", 5.0, "Seconds (image time) after a body was last seen before its per-body topics "
          "under /humans/bodies/<id>/ are removed.", 0.0, 3600.0),
    Param("publish_tf", True, "Broadcast body_<id> on /tf (parent: the image frame, origin at the hip centre, "
          "x the way the torso faces, z up) for bodies with 3D keypoints."),
    Param("tf.min_cutoff", 1.0, "One Euro minimum cutoff (Hz) of the body frame and its velocity "
          "(the estimator's smoother.min_cutoff by default).", 0.001, 100.0, reload=True),
    Param("tf.beta", 0.05, "One Euro speed coefficient of the body frame.", 0.0, 10.0, reload=True),
    Param("tf.d_cutoff", 1.0, "One Euro derivative cutoff (Hz) of the body frame.", 0.001, 100.0, reload=True),
    Param("tf.min_score", 0.3, "Keypoints below this score are not used for the body frame.", 0.0, 1.0,
          reload=True),
    Param("crop", True, "Publish /humans/bodies/<id>/cropped (subscribes to the image only while someone "
          "listens to a cropped topic)."),
    Param("image_reliability", "best_effort", "QoS reliability of the image subscription for cropped.",
          choices=("best_effort", "reliable"), reload=True),
    Param("compressed", False, "cropped cuts from image/compressed (CompressedImage) instead of image, for a "
          "camera that pose_estimator reads compressed.", reload=True),
]
BODY_TOPICS = ("roi", "cropped", "skeleton2d", "posture", "gesture", "position", "velocity")
_TYPES = {"roi": NormalizedRegionOfInterest2D, "cropped": Image, "skeleton2d": Skeleton2D,
          "posture": BodyPosture, "gesture": Gesture, "position": PointStamped, "velocity": TwistStamped}
_SLOTS = {name: getattr(Skeleton2D, name) for name in (*hri.SKELETON2D_FROM_COCO, "NECK")}  # by constant name


def _listened(pub) -> bool:
    return pub.get_subscription_count() > 0


class HriBridgeNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("hri_bridge", **kwargs)
        self.params = p = ParamSet(self, HRI_PARAMS, on_change=self._on_param_change)
        self._lock = threading.Lock()
        self.errors = RateLimitedLog(self.get_logger())
        self.lifetimes = hri.BodyLifetimes(p["forget_after"])
        self.frames = hri.BodyFrames(p["tf.min_cutoff"], p["tf.beta"], p["tf.d_cutoff"], min_score=p["tf.min_score"])
        self.gestures = hri.GestureState()
        self.bodies: dict[str, dict[str, object]] = {}  # body id -> topic -> publisher
        self.pub_tracked = self.create_publisher(IdsList, "/humans/bodies/tracked", OUT_QOS)
        if TransformBroadcaster is not None:
            self._tf = TransformBroadcaster(self)
            self._tf_pub = self._tf.pub_tf
        else:
            from tf2_msgs.msg import TFMessage
            self._tf, self._tf_pub = None, self.create_publisher(TFMessage, "/tf", 100)
            self._tf_msg = TFMessage
        self._images: deque = deque(maxlen=8)  # recent images for cropped, only while subscribed
        self._image_sub = None
        self._rgb: tuple = (None, None)   # (Image, its RGB array) of the frame being cropped
        self.input = RateMeter()
        self.stats = {"frames": 0, "skipped": 0, "bad_input": 0, "failed": 0, "tf": 0, "no_frame_id": 0,
                      "crops": 0}
        # raw: a crowd's SkeletonArray costs milliseconds to turn into Python objects, paid only
        # while someone listens (see _on_raw)
        self.create_subscription(SkeletonArray, "skeletons", self._on_raw, OUT_QOS, raw=True)
        self.create_subscription(ActionArray, "actions", self._on_actions, OUT_QOS)
        self.create_subscription(GestureArray, "gestures", self._on_gestures, OUT_QOS)
        self.diagnostics = Diagnostics(self, lambda: (OK, "ok", [
            ("input rate Hz", f"{self.input.rate():.1f}"), ("bodies", len(self.bodies)),
            ("image subscribed", self._image_sub is not None), *self.stats.items()]))

    def _on_param_change(self, changes: dict) -> None:
        """forget_after applies from the next frame; publish_tf and crop are read per frame."""
        if "forget_after" in changes:
            self.lifetimes.forget_after = float(changes["forget_after"])

    # -- per-body publishers -----------------------------------------------------------------
    def _add_body(self, bid: str) -> None:
        self.bodies[bid] = {t: self.create_publisher(_TYPES[t], f"/humans/bodies/{bid}/{t}", OUT_QOS)
                            for t in BODY_TOPICS}

    def _remove_body(self, bid: str) -> None:
        for pub in self.bodies.pop(bid, {}).values():
            self.destroy_publisher(pub)
        self.frames.forget(bid)
        self.gestures.forget(bid)

    # -- skeletons: tracked, roi, skeleton2d, cropped, position, velocity, /tf ------------------
    def listened(self) -> bool:
        """Anyone on /humans/bodies/tracked, a body's topic, or /tf (when published)."""
        return (_listened(self.pub_tracked) or (self.params["publish_tf"] and _listened(self._tf_pub))
                or any(_listened(p) for pubs in self.bodies.values() for p in pubs.values()))

    def _on_raw(self, raw: bytes) -> None:
        """Skeletons as CDR bytes: decoded and bridged only while someone listens. A ROS4HRI
        consumer subscribes to tracked first; until then no body publisher is made, so a
        crowd's ids coming and going create no DDS endpoints nobody wants."""
        self.input.tick()
        if not self.listened():
            self.stats["skipped"] += 1
            return
        try:
            msg = deserialize_message(raw, SkeletonArray)
        except Exception as exc:   # a malformed message is bad input, like any other
            self._bad_input(conv.SkeletonError("undecodable", f"SkeletonArray that does not decode ({exc})"))
            return
        self._on_skeletons(msg, tick=False)

    def _on_skeletons(self, msg: SkeletonArray, tick: bool = True) -> None:
        if tick:
            self.input.tick()
        try:
            conv.check_skeleton_array(msg)
            with self._lock:
                self._process(msg)
        except conv.SkeletonError as exc:
            self._bad_input(exc)
        except Exception as exc:  # one bad message never stops the bridge
            self.stats["failed"] += 1
            self.errors.error(type(exc).__name__, f"skeletons skipped: {type(exc).__name__}: {exc}")

    def _bad_input(self, exc: conv.SkeletonError) -> None:
        self.stats["bad_input"] += 1
        self.errors.error(exc.kind, f"skeleton skipped: {exc}")

    def _process(self, msg: SkeletonArray) -> None:
        """Ids and publishers for every frame; a skeleton is converted only when one of its
        body's topics (or /tf) has a subscriber, so nobody listening costs next to nothing."""
        self.stats["frames"] += 1
        stamp = conv.stamp_to_sec(msg.header.stamp)
        tracked: dict[str, object] = {}
        for s in msg.skeletons:  # confirmed tracks only: tentative ones may be clutter
            if s.id and s.track_state == TrackState.TRACKED:
                tracked.setdefault(hri.body_id(s.id), s)
        new, gone = self.lifetimes.update(stamp, list(tracked))
        for bid in gone:
            self._remove_body(bid)
        for bid in new:
            self._add_body(bid)
        self.pub_tracked.publish(IdsList(header=msg.header, ids=list(tracked)))
        self._update_image_subscription()
        image = self._image_for(msg.header) if self._image_sub is not None else None
        tf_wanted = self.params["publish_tf"] and _listened(self._tf_pub)
        transforms = []
        for bid, s in tracked.items():
            pubs = self.bodies[bid]
            want = {t for t in ("roi", "skeleton2d", "cropped", "position", "velocity") if _listened(pubs[t])}
            if tf_wanted and s.frame_3d == Frame3D.CAMERA:
                want.add("tf")
            if not want:
                continue
            try:
                p = conv.msg_to_person(s)
            except conv.SkeletonError as exc:
                self._bad_input(exc)
                continue
            transforms += self._publish_body(msg, pubs, bid, p, want, image, stamp)
        self._send_tf([t for t in transforms if t is not None])

    def _publish_body(self, msg: SkeletonArray, pubs: dict, bid: str, p, want: set, image, stamp: float) -> list:
        """Publish what is wanted of one body; its /tf transform, if any, is returned."""
        w, h = msg.image_width, msg.image_height
        if p.box is not None and "roi" in want:
            x0, y0, x1, y1 = hri.normalized_roi(p.box, w, h)
            pubs["roi"].publish(NormalizedRegionOfInterest2D(header=msg.header, xmin=x0, ymin=y0, xmax=x1,
                                                             ymax=y1, c=float(p.score)))
        if "skeleton2d" in want:
            pubs["skeleton2d"].publish(self.skeleton2d(msg.header, p.keypoints, w, h))
        if image is not None and p.box is not None and "cropped" in want:
            self._publish_crop(pubs["cropped"], msg.header, image, p.box)
        if p.keypoints_3d is None or p.frame_3d != Frame3D.CAMERA or not want & {"tf", "position", "velocity"}:
            return []
        pose = self.frames.update(bid, p.keypoints_3d, p.keypoints[:, 2], stamp)
        if pose is None:
            return []
        self._publish_pose(pubs, msg.header, pose)
        return [self._transform(msg.header, bid, pose)] if "tf" in want else []

    @staticmethod
    def skeleton2d(header, keypoints: np.ndarray, width: int, height: int) -> Skeleton2D:
        """The 18 points, each at the index of the Skeleton2D constant of its name."""
        out = Skeleton2D(header=header)
        for name, (x, y, c) in hri.skeleton2d_points(keypoints, width, height).items():
            out.skeleton[_SLOTS[name]] = NormalizedPointOfInterest2D(x=x, y=y, c=c)
        return out

    def _publish_pose(self, pubs: dict, header, pose: hri.BodyPose) -> None:
        o, v = pose.origin, pose.velocity
        if _listened(pubs["position"]):
            pubs["position"].publish(PointStamped(header=header, point=Point(x=float(o[0]), y=float(o[1]),
                                                                             z=float(o[2]))))
        if _listened(pubs["velocity"]) and np.isfinite(v).all():
            tw = TwistStamped(header=header)
            tw.twist.linear = Vector3(x=float(v[0]), y=float(v[1]), z=float(v[2]))
            pubs["velocity"].publish(tw)

    def _transform(self, header, bid: str, pose: hri.BodyPose) -> TransformStamped | None:
        if not header.frame_id:
            self.stats["no_frame_id"] += 1  # TF needs a parent frame
            return None
        t = TransformStamped(header=header, child_frame_id=f"body_{bid}")
        o, q = pose.origin, pose.quaternion
        t.transform.translation = Vector3(x=float(o[0]), y=float(o[1]), z=float(o[2]))
        t.transform.rotation = Quaternion(x=q[0], y=q[1], z=q[2], w=q[3])
        return t

    def _send_tf(self, transforms: list) -> None:
        if not transforms:
            return
        self.stats["tf"] += len(transforms)
        if self._tf is not None:
            self._tf.sendTransform(transforms)
        else:
            self._tf_pub.publish(self._tf_msg(transforms=transforms))

    # -- cropped: the image only while someone listens -----------------------------------------
    def _update_image_subscription(self) -> None:
        wanted = self.params["crop"] and any(_listened(pubs["cropped"]) for pubs in self.bodies.values())
        if wanted and self._image_sub is None:
            kind, topic = (CompressedImage, "image/compressed") if self.params["compressed"] else (Image, "image")
            self._image_sub = self.create_subscription(kind, topic, self._on_image,
                                                       image_qos(self.params["image_reliability"]))
        elif not wanted and self._image_sub is not None:
            self.destroy_subscription(self._image_sub)
            self._image_sub = None
            self._images.clear()
            self._rgb = (None, None)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self._images.append(msg)

    def _image_for(self, header) -> Image | CompressedImage | None:
        for img in reversed(self._images):
            if img.header.stamp == header.stamp:
                return img
        return None

    def _publish_crop(self, pub, header, image: Image | CompressedImage, box: np.ndarray) -> None:
        if self._rgb[0] is not image:   # decoded once per frame, whatever the number of bodies
            try:
                rgb = conv.compressed_msg_to_rgb(image) if isinstance(image, CompressedImage) \
                    else conv.image_msg_to_rgb(image)
            except Exception as exc:  # an encoding we cannot read: say so once in a while
                self.errors.error("image", f"cropped skipped: {conv.image_problem(exc)}")
                return
            self._rgb = (image, rgb)
        rgb = self._rgb[1]
        r = hri.crop_box(box, rgb.shape[1], rgb.shape[0])
        if r is None:
            return
        x0, y0, x1, y1 = r
        self.stats["crops"] += 1
        pub.publish(conv.bgr_to_image_msg(rgb[y0:y1, x0:x1, ::-1], header))

    # -- posture and gesture ---------------------------------------------------------------------
    def _on_actions(self, msg: ActionArray) -> None:
        with self._lock:
            for a in msg.actions:
                pubs = self.bodies.get(hri.body_id(a.id))
                if pubs is not None:
                    pubs["posture"].publish(BodyPosture(header=msg.header,
                                                        posture=getattr(BodyPosture, hri.posture_name(a.label))))

    def _on_gestures(self, msg: GestureArray) -> None:
        """One Gesture per body whose gesture changed in this message (after all its events)."""
        with self._lock:
            changed = []
            for g in msg.gestures:
                bid = hri.body_id(g.id)
                if bid in self.bodies and self.gestures.update(bid, g.gesture, g.event == g.EVENT_START) \
                        and bid not in changed:
                    changed.append(bid)
            for bid in changed:
                gesture, hand = self.gestures.current(bid)
                self.bodies[bid]["gesture"].publish(Gesture(header=msg.header, gesture=getattr(Gesture, gesture),
                                                            handedness=getattr(Gesture, hand)))
