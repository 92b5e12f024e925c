"""The one CDR header-stamp reader (bag play, the soak probe) on both byte orders."""
import struct

from pose_ros.bag.common import header_stamp_ns


def test_header_stamp_both_byte_orders() -> None:
    sec, nsec = 1_700_000_123, 456_789_012
    little = b"\x00\x01\x00\x00" + struct.pack("<iI", sec, nsec) + b"\x05\x00\x00\x00cam\x00"
    big = b"\x00\x00\x00\x00" + struct.pack(">iI", sec, nsec) + b"\x00\x00\x00\x05cam\x00"
    assert header_stamp_ns(little) == header_stamp_ns(big) == sec * 10**9 + nsec


def test_image_encoding_both_byte_orders_any_frame_id() -> None:
    """bag play tells depth images from colour by their encoding, without decoding pixels."""
    import numpy as np

    from pose_ros.bag.common import image_encoding, typestore
    store = typestore()
    T = store.types
    for frame_id in ("", "c", "cam", "camx", "head_camera_rgb_optical_frame"):
        for enc in ("32FC1", "bgr8", "16UC1"):
            header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=1, nanosec=2),
                                              frame_id=frame_id)
            msg = T["sensor_msgs/msg/Image"](header=header, height=1, width=2, encoding=enc, is_bigendian=0,
                                             step=2, data=np.zeros(2, np.uint8))
            for little in (True, False):
                data = bytes(store.serialize_cdr(msg, "sensor_msgs/msg/Image", little_endian=little))
                assert image_encoding(data) == enc
                assert header_stamp_ns(data) == 1_000_000_002
