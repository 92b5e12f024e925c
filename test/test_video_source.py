"""video_source stamps like a camera driver: node clock by default, /clock under use_sim_time, media on request."""
from __future__ import annotations

import subprocess
import time

import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image

from conftest import CLIP_FRAMES
from rosutil import VENV_BIN, RosSession, start, stop, wait_for


def _sec(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def _play(clip, log, *params: str, ros: RosSession, ns: str) -> tuple[list, list]:
    images = ros.collect(Image, f"{ns}/image")
    infos = ros.collect(CameraInfo, f"{ns}/camera_info")
    args = ["video_source", "--ros-args", "-r", f"__ns:={ns}", "-p", f"source:={clip}", "-p", "rate:=2.0"]
    for p in params:
        args += ["-p", p]
    src = start(args, log)
    try:
        wait_for(lambda: "video source finished" in log.read_text() or src.poll() is not None, 60)
        wait_for(lambda: len(images) >= CLIP_FRAMES and len(infos) >= CLIP_FRAMES, 3)
    finally:
        code = stop(src)
    assert code == 0 and len(images) == CLIP_FRAMES, f"exit {code}, {len(images)} frames\n{log.read_text()[-1500:]}"
    return images, infos


@pytest.mark.timeout(90)
def test_default_stamps_are_the_node_clock_at_publication(person_clip, tmp_path):
    ros = RosSession()
    try:
        before = ros.node.get_clock().now().nanoseconds * 1e-9
        images, infos = _play(person_clip, tmp_path / "src.log", ros=ros, ns="/vs_clock")
        after = ros.node.get_clock().now().nanoseconds * 1e-9
    finally:
        ros.close()
    stamps = [_sec(m.header.stamp) for m in images]
    assert all(before <= t <= after for t in stamps), (before, stamps[:3], after)
    assert stamps == sorted(stamps) and len(set(stamps)) == CLIP_FRAMES
    # rate 2.0 on a 30 fps clip: about 1/60 s apart, not the media's 1/30 s
    assert (stamps[-1] - stamps[0]) < 0.9 * (CLIP_FRAMES - 1) / 30.0
    assert {_sec(i.header.stamp) for i in infos} == set(stamps), "camera_info carries the image's stamp"


@pytest.mark.timeout(90)
def test_media_stamps_on_request(person_clip, tmp_path):
    ros = RosSession()
    try:
        images, _ = _play(person_clip, tmp_path / "src.log", "stamp_source:=media", "stamp_offset:=100.0",
                          ros=ros, ns="/vs_media")
    finally:
        ros.close()
    assert [_sec(m.header.stamp) for m in images] == pytest.approx([100.0 + i / 30.0 for i in range(CLIP_FRAMES)],
                                                                    abs=1e-6)


@pytest.mark.timeout(90)
def test_sim_time_stamps_come_from_clock_topic(person_clip, tmp_path):
    """use_sim_time: the stamps are /clock time; before the first /clock no frame goes out (no stamp 0)."""
    ros = RosSession()
    images = ros.collect(Image, "/vs_sim/image")
    pub = ros.node.create_publisher(Clock, "/clock", 10)
    src = start(["video_source", "--ros-args", "-r", "__ns:=/vs_sim", "-p", f"source:={person_clip}",
                 "-p", "use_sim_time:=true", "-p", "rate:=2.0"], tmp_path / "src.log")
    try:
        assert wait_for(lambda: "waiting for /clock" in (tmp_path / "src.log").read_text(), 30), \
            (tmp_path / "src.log").read_text()
        time.sleep(0.5)
        assert not images, "frames before any /clock"
        t = 5000.0
        while len(images) < CLIP_FRAMES and t < 5000.0 + 60.0 and src.poll() is None:
            pub.publish(Clock(clock=_time(t)))
            time.sleep(0.02)
            t += 0.02
        wait_for(lambda: len(images) >= CLIP_FRAMES, 3)
    finally:
        code = stop(src)
        ros.close()
    stamps = [_sec(m.header.stamp) for m in images]
    assert code == 0 and len(stamps) == CLIP_FRAMES, (tmp_path / "src.log").read_text()[-1500:]
    assert all(5000.0 <= s <= t for s in stamps), (stamps[:3], t)


def _time(t: float):
    from builtin_interfaces.msg import Time
    return Time(sec=int(t), nanosec=int(round((t % 1) * 1e9)))


def test_bad_stamp_source_is_refused_with_one_line(person_clip):
    r = subprocess.run([str(VENV_BIN / "video_source"), "--ros-args", "-p", f"source:={person_clip}",
                        "-p", "stamp_source:=wall"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "stamp_source='wall' is not one of ['clock', 'media']" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
