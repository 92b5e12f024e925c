"""A video file or image folder -> a bag of Images (+ CameraInfo) with media-time stamps."""
from __future__ import annotations

import functools
from pathlib import Path

from pose_ros.bag.common import DEFAULT_QOS, BagError, open_writer, stamp_ns, typestore


def from_video(video: str | Path, out_bag: str | Path, topic: str = "/camera/image_raw", storage: str = "mcap",
               fps: float = 0.0, max_width: int = 0, stamp_offset: float = 0.0, frame_id: str = "camera",
               camera_info: bool = True, max_frames: int = 0) -> int:
    """Write a video file / image folder as bgr8 sensor_msgs/Image (+ CameraInfo next to it).

    Stamps are ``stamp_offset + frame_index / fps``; header stamp and bag time are equal.
    Returns the number of frames written.
    """
    import numpy as np

    from pose_ros.core.imaging.video import FrameSource, SourceError
    from pose_ros.core.pipeline import CameraModel

    try:
        src = FrameSource(str(video), fps=fps, max_width=max_width)
    except SourceError as exc:
        raise BagError(str(exc)) from None
    if src.is_device:
        src.close()
        raise BagError("from-video needs a video file or image folder, not a camera device")
    topic = topic if topic.startswith("/") else "/" + topic
    info_topic = topic.rsplit("/", 1)[0] + "/camera_info"
    store = typestore()
    T = store.types
    Time, Header = T["builtin_interfaces/msg/Time"], T["std_msgs/msg/Header"]
    Image, Info = T["sensor_msgs/msg/Image"], T["sensor_msgs/msg/CameraInfo"]
    Roi = T["sensor_msgs/msg/RegionOfInterest"]
    writer = open_writer(out_bag, storage)
    n = 0
    try:
        img_conn = writer.add_connection(topic, Image.__msgtype__, typestore=store, offered_qos_profiles=[DEFAULT_QOS])
        info_conn = (writer.add_connection(info_topic, Info.__msgtype__, typestore=store,
                                           offered_qos_profiles=[DEFAULT_QOS]) if camera_info else None)
        for frame in src.frames():
            if max_frames and n >= max_frames:
                break
            ns = stamp_ns(stamp_offset + frame.t)
            header = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=frame_id)
            h, w = frame.bgr.shape[:2]
            data = np.ascontiguousarray(frame.bgr, dtype=np.uint8).reshape(-1)
            msg = Image(header=header, height=h, width=w, encoding="bgr8", is_bigendian=0, step=w * 3, data=data)
            writer.write(img_conn, ns, store.serialize_cdr(msg, Image.__msgtype__))
            if info_conn is not None:
                cam = CameraModel.guess(w, h)
                f64 = functools.partial(np.array, dtype=np.float64)
                ci = Info(header=header, height=h, width=w, distortion_model="plumb_bob", d=f64([0.0] * 5),
                          k=f64(cam.k_matrix()),
                          r=f64([1, 0, 0, 0, 1, 0, 0, 0, 1]),
                          p=f64(cam.p_matrix()), binning_x=0, binning_y=0,
                          roi=Roi(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))
                writer.write(info_conn, ns, store.serialize_cdr(ci, Info.__msgtype__))
            n += 1
    finally:
        src.close()
        writer.close()
    return n


# ----------------------------------------------------------------------------- recording
