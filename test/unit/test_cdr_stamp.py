"""The one CDR header-stamp reader (bag play, the soak probe) on both byte orders."""
import struct

from pose_ros.bag.common import header_stamp_ns


def test_header_stamp_both_byte_orders() -> None:
    sec, nsec = 1_700_000_123, 456_789_012
    little = b"\x00\x01\x00\x00" + struct.pack("<iI", sec, nsec) + b"\x05\x00\x00\x00cam\x00"
    big = b"\x00\x00\x00\x00" + struct.pack(">iI", sec, nsec) + b"\x00\x00\x00\x05cam\x00"
    assert header_stamp_ns(little) == header_stamp_ns(big) == sec * 10**9 + nsec
