"""A bag replayed lock-step gives the same skeletons every time, even beside a busy core.

Real processes and DDS: `pose-ros run` (thunder, with its background detector, a crop
budget that leaves people predicted, and threads), `pose-ros bag play --wait-for`, a
probe node. Three fresh graphs replay one bag of real frames (two people) while another
process keeps a core busy; ids, boxes, keypoints and the predicted flags must be equal.
"""
from __future__ import annotations

import subprocess
import sys

import cv2
import pytest
import yaml

from pose_ros.msg import SkeletonArray
from pose_ros.paths import config_file
from rosutil import RosSession, lockstep_replay

FIRST, N_FRAMES = 50, 36   # demo clip frames with the jumper and the walker


@pytest.fixture(scope="module")
def two_people_bag(demo_video, tmp_path_factory):
    from pose_ros.bag import from_video
    tmp = tmp_path_factory.mktemp("determinism")
    clip = tmp / "two.avi"
    cap = cv2.VideoCapture(str(demo_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, FIRST)
    writer = None
    for _ in range(N_FRAMES):
        ok, bgr = cap.read()
        assert ok
        bgr = cv2.resize(bgr, (640, round(bgr.shape[0] * 640 / bgr.shape[1])), interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, bgr.shape[1::-1])
        writer.write(bgr)
    writer.release()
    cap.release()
    out = tmp / "bag"
    assert from_video(clip, out, topic="/camera/image_raw", storage="mcap") == N_FRAMES
    return out


@pytest.fixture
def busy_core():
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield
    proc.kill()
    proc.wait()


def replay(tmp, bag, tag: str) -> dict:
    params = yaml.safe_load(config_file().read_text())
    est = params["/**/pose_estimator"]["ros__parameters"]
    est.update({"image_reliability": "reliable", "thunder.crop_budget": 1.0, "thunder.detect_period": 0.2,
                "thunder.small_person_height": 150.0})
    pfile = tmp / f"params_{tag}.yaml"
    pfile.write_text(yaml.safe_dump(params))
    ros = RosSession(f"determinism_{tag}")
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    lockstep_replay(ros, got, bag, pfile, tmp, tag, N_FRAMES, lambda: ros.matched("/pose/skeletons") > 0)
    return {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec:
            [(s.id, s.track_state, s.predicted, round(s.pose_age, 4), round(s.x_min, 2), round(s.y_max, 2),
              tuple((round(k.x, 2), round(k.y, 2), round(k.score, 3)) for k in s.keypoints)) for s in m.skeletons]
            for m in got}


@pytest.mark.timeout(600)
def test_lockstep_replay_is_exact_beside_a_busy_core(two_people_bag, tmp_path, busy_core):
    runs = [replay(tmp_path, two_people_bag, tag) for tag in "abc"]
    first = runs[0]
    assert len(first) == N_FRAMES
    people = [len(v) for v in first.values()]
    assert min(people[3:]) >= 2, people                              # both people, every frame
    assert sum(s[2] for v in first.values() for s in v) >= N_FRAMES // 2, "the budget left people predicted"
    for other in runs[1:]:
        assert other.keys() == first.keys()
        diff = [k for k in first if other[k] != first[k]]
        assert not diff, f"{len(diff)} of {N_FRAMES} frames differ, first at stamp {diff[0]}"
