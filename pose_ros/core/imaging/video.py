"""Frame sources without ROS: video files, image folders, V4L2 devices.

Each frame carries its position on the media timeline, which becomes the header
stamp, so replaying a file gives the same stamps every time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class SourceError(RuntimeError):
    """The source cannot be opened or read; the message says what to do."""


@dataclass
class Frame:
    bgr: np.ndarray
    index: int       # 0-based frame index in the media
    t: float         # seconds on the media timeline


class FrameSource:
    """Iterate frames of a video file, an image folder or a camera device.

    ``source`` is a path, or a device: ``/dev/videoN`` or a bare integer.
    """

    def __init__(self, source: str, fps: float = 0.0, max_width: int = 0) -> None:
        self.source = source
        self.max_width = max_width
        self.is_device = source.isdigit() or source.startswith("/dev/video")
        self._files: list[Path] = []
        self._cap = None
        path = Path(source)
        if self.is_device:
            self._cap = cv2.VideoCapture(int(source) if source.isdigit() else source, cv2.CAP_V4L2)
            if not self._cap.isOpened():
                raise SourceError(f"cannot open camera device {source!r}: check it exists and is not in use")
            self.fps = fps or self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        elif path.is_dir():
            self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS)
            if not self._files:
                raise SourceError(f"image folder {source!r} has no images ({', '.join(sorted(IMAGE_EXTS))})")
            self.fps = fps or 30.0
        elif path.is_file():
            self._cap = cv2.VideoCapture(str(path))
            if not self._cap.isOpened():
                raise SourceError(f"cannot read video {source!r}: not a video OpenCV can decode")
            ok, _ = self._cap.read()
            if not ok:
                raise SourceError(f"cannot read video {source!r}: no decodable frame")
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self.fps = fps or self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        else:
            raise SourceError(f"video source {source!r} does not exist: give a video file, an image folder "
                              "or a camera device (/dev/video0)")

    @property
    def frame_count(self) -> int:
        if self._files:
            return len(self._files)
        if self._cap is not None and not self.is_device:
            return int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        return -1

    def _resize(self, bgr: np.ndarray) -> np.ndarray:
        if self.max_width and bgr.shape[1] > self.max_width:
            h = round(bgr.shape[0] * self.max_width / bgr.shape[1])
            return cv2.resize(bgr, (self.max_width, h), interpolation=cv2.INTER_AREA)
        return bgr

    def frames(self) -> Iterator[Frame]:
        """One pass over the media (a device runs until it fails)."""
        if self._files:
            for i, f in enumerate(self._files):
                bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if bgr is None:
                    continue  # unreadable file in the folder: skip it, keep its time slot
                yield Frame(self._resize(bgr), i, i / self.fps)
            return
        assert self._cap is not None
        if not self.is_device:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        i = 0
        while True:
            ok, bgr = self._cap.read()
            if not ok:
                return
            # Frame index / fps is exact for constant-rate files; POS_MSEC can lag by a frame.
            yield Frame(self._resize(bgr), i, i / self.fps)
            i += 1

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
