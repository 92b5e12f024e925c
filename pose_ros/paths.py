"""Where the package's own files are: config/, launch/, msg/ and the DDS profile.

On a ROS install they are in the package share directory; in the venv (editable
install) they are in the source tree.
"""
from __future__ import annotations

import os
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]
FASTDDS_PROFILE_NAME = "fastdds_large_frames.xml"


def share_dir() -> Path:
    """The pose_ros share directory, or the source tree when running from the venv."""
    if (SOURCE_ROOT / "config" / "pose.yaml").is_file():
        return SOURCE_ROOT
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory("pose_ros"))
    except Exception:  # not installed the ROS way
        return SOURCE_ROOT


def config_file(name: str = "pose.yaml") -> Path:
    return share_dir() / "config" / name


def use_large_frame_profile() -> None:
    """Give this process's DDS participant the large-frame Fast DDS profile.

    Must run before rclpy.init(). A profile the user already set wins.
    """
    if os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE") or os.environ.get("POSE_ROS_NO_DDS_PROFILE"):
        return
    profile = config_file(FASTDDS_PROFILE_NAME)
    if profile.is_file():
        os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(profile)
