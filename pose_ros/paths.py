"""Where the package's own files are: config/, launch/, msg/ and the DDS profile.

On a ROS install they are in the package share directory; in the venv (editable
install) they are in the source tree.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]
FASTDDS_PROFILE_NAME = "fastdds_large_frames.xml"
# The same transports for ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, see profile_env().
FASTDDS_LOCALHOST_PROFILE_NAME = "fastdds_large_frames_localhost.xml"


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


# Fast DDS 2.x (Humble, Jazzy) reads the first name, Fast DDS 3.x (Kilted on) the second.
PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")


def opted_out(environ) -> bool:
    """POSE_ROS_NO_DDS_PROFILE set to anything but 0/false/no/off/empty."""
    return environ.get("POSE_ROS_NO_DDS_PROFILE", "").strip().lower() not in ("", "0", "false", "no", "off")


def localhost_discovery(environ) -> bool:
    """ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST without ROS_STATIC_PEERS (which only rmw can add)."""
    return (environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").strip().upper() == "LOCALHOST"
            and not environ.get("ROS_STATIC_PEERS", "").strip())


def profile_env(environ, profile: Path) -> dict[str, str]:
    """The variables that give a DDS participant ``profile``, or {} when the user chose otherwise.

    A profile the user already set (under either name) wins, as does POSE_ROS_NO_DDS_PROFILE.
    Under ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST rmw_fastrtps would add its own default
    shared-memory and UDP transports to the profile's, so that every process ran two of
    each; there the profile's LOCALHOST twin is given instead, with the range set to
    SYSTEM_DEFAULT so that rmw leaves the transports alone (the twin keeps discovery on
    this host the way rmw does). ROS_STATIC_PEERS keeps rmw's LOCALHOST handling.
    """
    if opted_out(environ) or any(environ.get(v) for v in PROFILE_VARS):
        return {}
    twin = profile.with_name(FASTDDS_LOCALHOST_PROFILE_NAME)
    if localhost_discovery(environ) and twin.is_file():
        return {**{v: str(twin) for v in PROFILE_VARS}, "ROS_AUTOMATIC_DISCOVERY_RANGE": "SYSTEM_DEFAULT"}
    return {v: str(profile) for v in PROFILE_VARS}


def use_large_frame_profile() -> None:
    """Give this process's DDS participant the large-frame Fast DDS profile.

    Must run before rclpy.init(). A profile the user already set wins.
    """
    profile = config_file(FASTDDS_PROFILE_NAME)
    if profile.is_file():
        os.environ.update(profile_env(os.environ, profile))


RVIZ_MISSING = ("rviz:=true, but rviz2 is not installed, so the graph starts without it. Install it with "
                "`sudo apt install ros-jazzy-rviz2` (ros-<distro>-rviz2 on another ROS 2 distribution) and "
                "run `rviz2 -d {config}`, or launch again.")


def find_rviz2() -> str | None:
    """The rviz2 executable: in the ament index (where launch_ros looks), else on PATH; None when absent."""
    try:
        from ament_index_python.packages import get_package_prefix
        exe = Path(get_package_prefix("rviz2")) / "lib" / "rviz2" / "rviz2"
        if os.access(exe, os.X_OK):
            return str(exe)
    except (ImportError, LookupError, OSError):  # no ament index (the venv), rviz2 not in it, no AMENT_PREFIX_PATH
        pass
    return shutil.which("rviz2")


def rviz_missing_message() -> str:
    return RVIZ_MISSING.format(config=config_file("pose.rviz"))
