"""rosbag2 tools without the ROS bag tools: make, inspect, play and record bags.

Bags are rosbag2 directories (metadata.yaml + mcap or sqlite3 storage) written
with ``rosbags``, so ``ros2 bag`` reads them. Our own messages (msg/*.msg) are
registered in the typestore at run time from the installed message files.

- ``from_video``: a video file or image folder -> bag of bgr8 Images (+ CameraInfo)
  stamped with the media timeline (header stamp == bag timestamp).
- ``info``: what ``ros2 bag info`` shows.
- ``record``: live topics -> bag (raw CDR, receive time, like ``ros2 bag record``).
- ``play``: bag -> live topics at the recorded rate, with /clock.

Problems the user can fix (missing bag, unknown topic, unknown type) raise
``BagError``; ``pose-ros bag`` turns it into one line and exit code 2.
"""
from __future__ import annotations

from pose_ros.bag.common import BagError, msg_dir, open_reader, stamp_ns, typestore
from pose_ros.bag.convert import from_video
from pose_ros.bag.info import format_info, info
from pose_ros.bag.playback import play
from pose_ros.bag.recording import record

__all__ = ["BagError", "format_info", "from_video", "info", "msg_dir", "open_reader", "play", "record",
           "stamp_ns", "typestore"]
