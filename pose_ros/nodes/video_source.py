"""video_source: publish a video file, image folder or V4L2 camera as sensor_msgs/Image.

Like a camera driver, it stamps each frame with the node clock when it publishes it
(``stamp_source: clock``, the default), so latency on /diagnostics, TF lookups and
``bag info`` make sense; under ``use_sim_time`` that is the /clock time, and frames
wait until a clock arrives. ``stamp_source: media`` stamps with the media timeline
instead (``stamp_offset`` + frame time, continuing across loops): deterministic
replays, the demo and tests. ``wait_for`` makes it publish a frame only once the
previous one came out of the pipeline: offline processing of every frame, as fast as
the pipeline goes.
"""
from __future__ import annotations

import threading
import time

from rclpy.node import Node
from rclpy.qos import QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from pose_ros.core.pipeline import CameraModel
from pose_ros.core.imaging.video import FrameSource, SourceError
from pose_ros.msg import SkeletonArray
from pose_ros.nodes.conversions import bgr_to_image_msg, sec_to_stamp, stamp_to_sec
from pose_ros.nodes.diagnostics import OK, Diagnostics, RateMeter
from pose_ros.nodes.params import Param, ParamSet

VIDEO_PARAMS = [
    Param("source", "", "Video file, image folder, or camera device (/dev/video0 or 0).", reload=True),
    Param("rate", 1.0, "Playback speed: 1.0 = the media frame rate, 2.0 = twice as fast, 0 = as fast as "
          "possible.", 0.0, 100.0),
    Param("fps", 0.0, "Frame rate to assume; 0 = from the file (30 for image folders).", 0.0, 1000.0,
          reload=True),
    Param("loop", False, "Start again at the end (stamps keep increasing).", reload=True),
    Param("frame_id", "camera", "header.frame_id of the images (the camera optical frame).", reload=True),
    Param("stamp_source", "clock", "Header stamps: 'clock' = the node clock at publication, as a camera driver "
          "does (the /clock time under use_sim_time); 'media' = the media time of the frame plus stamp_offset "
          "(deterministic; cameras always use the clock).", choices=("clock", "media"), reload=True),
    Param("stamp_offset", 0.0, "For stamp_source media: seconds added to the media time; -1 = the node clock "
          "at start.", -1.0, 4e9, reload=True),
    Param("max_width", 0, "Downscale wider frames to this width; 0 = keep.", 0, 8192, reload=True),
    Param("wait_for", "", "SkeletonArray topic: publish the next frame only after the previous frame's result "
          "arrived there (lock-step offline processing); empty = free running.", reload=True),
    Param("wait_timeout", 5.0, "Seconds to wait on wait_for before moving on.", 0.1, 600.0),
    Param("wait_subscriber", True, "For files and folders: start only once something subscribes to the images.",
          reload=True),
    Param("start_delay", 0.0, "Seconds to wait before the first frame (lets subscribers connect).", 0.0, 60.0,
          reload=True),
]

IMAGE_QOS = QoSProfile(depth=5, reliability=QoSReliabilityPolicy.RELIABLE, history=QoSHistoryPolicy.KEEP_LAST)


class VideoSourceNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("video_source", **kwargs)
        self.params = ParamSet(self, VIDEO_PARAMS)
        p = self.params
        if not p["source"]:
            raise SourceError("parameter 'source' is empty: set it to a video file, image folder or /dev/videoN")
        self.src = FrameSource(p["source"], fps=p["fps"], max_width=p["max_width"])
        self.pub_image = self.create_publisher(Image, "image", IMAGE_QOS)
        self.pub_info = self.create_publisher(CameraInfo, "camera_info", IMAGE_QOS)
        self.published = 0
        self.wait_total = 0.0  # seconds spent waiting for results (lock-step mode)
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._done_stamp = None
        self._done = threading.Condition()
        if p["wait_for"]:
            self.create_subscription(SkeletonArray, p["wait_for"], self._on_result, 10)
        offset = p["stamp_offset"]
        self._offset = self.get_clock().now().nanoseconds * 1e-9 if offset < 0 else offset
        self.rate_meter = RateMeter()
        self.diagnostics = Diagnostics(self, self._health)
        self._thread = threading.Thread(target=self._run, name="video_source", daemon=True)
        self._thread.start()

    def _on_result(self, msg: SkeletonArray) -> None:
        with self._done:
            self._done_stamp = stamp_to_sec(msg.header.stamp)
            self._done.notify_all()

    def _wait_result(self, stamp: float) -> None:
        deadline = time.monotonic() + self.params["wait_timeout"]
        with self._done:
            while not self._stop.is_set() and (self._done_stamp is None or self._done_stamp < stamp - 1e-6):
                left = deadline - time.monotonic()
                if left <= 0:
                    self.get_logger().warn(f"no result on {self.params['wait_for']} for t={stamp:.3f}; moving on",
                                           throttle_duration_sec=5.0)
                    return
                self._done.wait(min(left, 0.1))

    def _health(self):
        state = "finished" if self.finished.is_set() else "playing"
        return OK, state, [("source", self.params["source"]), ("frames published", self.published),
                           ("publish rate Hz", f"{self.rate_meter.rate():.1f}"), ("media fps", f"{self.src.fps:.2f}")]

    def _camera_info(self, header: Header, w: int, h: int) -> CameraInfo:
        cam = CameraModel.guess(w, h)
        info = CameraInfo(header=header, width=w, height=h, distortion_model="plumb_bob")
        info.k, info.p = cam.k_matrix(), cam.p_matrix()
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.d = [0.0] * 5
        return info

    def _run(self) -> None:
        p = self.params
        if p["start_delay"] > 0:
            self._stop.wait(p["start_delay"])
        if p["wait_subscriber"] and not self.src.is_device:
            # A file is not a live camera: do not play it into the void while
            # subscribers are still being discovered.
            if self.pub_image.get_subscription_count() == 0:
                self.get_logger().info(f"waiting for a subscriber on {self.pub_image.topic_name}")
            while self.pub_image.get_subscription_count() == 0 and not self._stop.is_set():
                self._stop.wait(0.05)
        by_clock = p["stamp_source"] == "clock" or self.src.is_device
        if by_clock and not self._wait_for_clock():
            return
        loop_t = 0.0
        t_wall0 = time.monotonic()  # one timeline across loops: the restart keeps the frame rate
        try:
            while not self._stop.is_set():
                last_t = 0.0
                for frame in self.src.frames():
                    if self._stop.is_set():
                        return
                    rate = p["rate"]
                    if rate > 0 and not self.src.is_device:
                        delay = t_wall0 + (loop_t + frame.t) / rate - time.monotonic()
                        if delay > 0:
                            self._stop.wait(delay)
                    if by_clock:
                        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=p["frame_id"])
                    else:
                        header = Header(stamp=sec_to_stamp(self._offset + loop_t + frame.t), frame_id=p["frame_id"])
                    h, w = frame.bgr.shape[:2]
                    self.pub_info.publish(self._camera_info(header, w, h))
                    self.pub_image.publish(bgr_to_image_msg(frame.bgr, header))
                    self.published += 1
                    self.rate_meter.tick()
                    last_t = frame.t
                    if p["wait_for"]:
                        t_w = time.perf_counter()
                        self._wait_result(stamp_to_sec(header.stamp))
                        self.wait_total += time.perf_counter() - t_w
                if not p["loop"] or self.src.is_device:
                    break
                loop_t += last_t + 1.0 / self.src.fps
        finally:
            self.finished.set()
            self.get_logger().info(f"video source finished: {self.published} frames published")

    def _wait_for_clock(self) -> bool:
        """Under use_sim_time the clock reads 0 until /clock arrives: no frame is stamped 0."""
        if self.get_clock().now().nanoseconds == 0:
            self.get_logger().info("use_sim_time: waiting for /clock before the first frame")
        while self.get_clock().now().nanoseconds == 0:
            if self._stop.wait(0.05):
                return False
        return True

    def destroy_node(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.src.close()
        super().destroy_node()
