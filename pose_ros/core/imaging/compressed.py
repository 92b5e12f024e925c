"""sensor_msgs/CompressedImage payloads (image_transport 'compressed': jpeg/png) -> RGB.

The header is read before the decoder sees the stream: a truncated frame would make
libjpeg/libpng print to stderr once per frame (outside any rate limit), and a few
hundred bytes of JPEG can claim 65535 x 65535 pixels (a decompression bomb).
"""
from __future__ import annotations

import struct

import cv2
import numpy as np

from pose_ros.core.imaging.raw import IMREAD_RGB, BufferLike, ImageError, byte_view, check_image_size

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# JPEG markers without a length field; SOF markers (frame header: the image size)
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: memoryview) -> tuple[int, int] | None:
    """(width, height) from the first JPEG frame header, or None if there is none."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        length = struct.unpack_from(">H", data, i + 2)[0]
        if marker in _JPEG_SOF:
            if i + 9 > n:
                return None
            h, w = struct.unpack_from(">HH", data, i + 5)
            return w, h
        i += 2 + length
    return None


def compressed_size(data) -> tuple[str, int, int]:
    """('jpeg'|'png', width, height) read from the header of a complete stream; ImageError otherwise.

    Rejects what cannot be a whole jpeg/png image before it reaches the decoder: no
    signature, no frame header, no end marker (a truncated frame). The decoder would
    print a line to stderr for each of these, outside any rate limit.
    """
    data = memoryview(byte_view(data))   # no copy; bytes() only of the few bytes compared
    head, tail = bytes(data[:33]), bytes(data[-256:])
    if head.startswith(b"\xff\xd8\xff"):
        size = _jpeg_size(data)
        if size is None:
            raise ImageError(f"compressed image is not a complete jpeg ({len(data)} bytes, no frame header); "
                             "check the publisher")
        if not tail.rstrip(b"\0").endswith(b"\xff\xd9"):
            raise ImageError(f"compressed jpeg is truncated ({len(data)} bytes, no end-of-image marker); "
                             "the message is incomplete (check the publisher or the transport)")
        return ("jpeg", *size)
    if head.startswith(_PNG_SIGNATURE):
        if len(data) < 33 or head[12:16] != b"IHDR":
            raise ImageError(f"compressed png has no header ({len(data)} bytes); check the publisher")
        w, h = struct.unpack_from(">II", data, 16)
        if not tail.endswith(_PNG_IEND):
            raise ImageError(f"compressed png is truncated ({len(data)} bytes, no IEND chunk); the message "
                             "is incomplete (check the publisher or the transport)")
        return ("png", w, h)
    raise ImageError(f"compressed image is neither jpeg nor png ({len(data)} bytes starting "
                     f"{head[:8].hex(' ') or 'with nothing'}); use the image_transport 'compressed' "
                     "plugin with format jpeg or png")


def decode_compressed(format: str, data: BufferLike) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> new (H, W, 3) uint8 RGB array.

    image_transport always compresses colour as BGR, so the decoded BGR is
    swapped to RGB regardless of the ``format`` prefix.
    """
    fmt = str(format).lower()
    if "compresseddepth" in fmt:
        raise ImageError("compressedDepth images are not supported here; subscribe to the raw depth "
                         "topic (or republish it with image_transport 'raw')")
    buf = byte_view(data)
    if buf.size == 0:
        raise ImageError("compressed image is empty (0 bytes); check the publisher")
    kind, w, h = compressed_size(buf)   # before the decoder: it would print to stderr, or blow up
    if w == 0 or h == 0:
        raise ImageError(f"compressed {kind} has zero size {w}x{h}; check the publisher")
    check_image_size(f"compressed {kind}", w, h)
    try:
        if IMREAD_RGB is not None:
            img = cv2.imdecode(buf, IMREAD_RGB)
        else:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            if img is not None:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    except cv2.error as exc:
        img, err = None, exc
    else:
        err = None
    if img is None:
        raise ImageError(f"cannot decode compressed image (format {format!r}, {buf.size} bytes): "
                         "not a valid jpeg/png stream" + (f" ({err})" if err else "")
                         + "; check the image_transport plugin and format")
    return img
