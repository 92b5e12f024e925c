"""Images in: sensor_msgs/Image fields, compressed payloads, depth, video files and folders."""
from pose_ros.core.imaging.compressed import decode_compressed
from pose_ros.core.imaging.raw import (
    SUPPORTED_ENCODINGS, ImageError, depth_to_metres, image_to_rgb, keypoints_to_3d, letterbox,
)
from pose_ros.core.imaging.video import FrameSource, SourceError

__all__ = ["SUPPORTED_ENCODINGS", "FrameSource", "ImageError", "SourceError", "decode_compressed",
           "depth_to_metres", "image_to_rgb", "keypoints_to_3d", "letterbox"]
