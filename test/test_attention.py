"""The attention topic: the person a robot interacts with is posed every frame under a budget.

Real processes and DDS: `pose-ros run` (thunder, one crop a frame for two people, so each
would be predicted every other frame), `pose-ros bag play --wait-for` over real frames of
two people, and a probe that names one of them on /pose/attention (hri_msgs/IdsList, by
REP-155 body id) as soon as their first skeletons arrive.
"""
from __future__ import annotations

import threading

import pytest
import yaml
from hri_msgs.msg import IdsList
from test_replay_determinism import N_FRAMES, two_people_bag  # noqa: F401  (the fixture)

from pose_ros.msg import SkeletonArray
from pose_ros.nodes.qos import OUT_QOS
from pose_ros.paths import config_file
from rosutil import RosSession, lockstep_replay


@pytest.mark.timeout(300)
def test_the_attended_person_is_posed_every_frame(two_people_bag, tmp_path):  # noqa: F811
    params = yaml.safe_load(config_file().read_text())
    est = params["/**/pose_estimator"]["ros__parameters"]
    est.update({"image_reliability": "reliable", "thunder.crop_budget": 1.0, "thunder.adaptive_budget": False,
                "thunder.detect_period": 0.2, "thunder.small_person_height": 150.0})
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(params))
    ros = RosSession("attention_probe")
    pub = ros.node.create_publisher(IdsList, "/pose/attention", OUT_QOS)
    chosen: list[str] = []
    got: list = []
    lock = threading.Lock()

    def on_skeletons(msg: SkeletonArray) -> None:
        with lock:
            got.append(msg)
            ids = sorted(s.id for s in msg.skeletons if s.id)
            if not chosen and len(ids) >= 2:
                chosen.append(ids[0])
                pub.publish(IdsList(header=msg.header, ids=["b" + ids[0]]))   # the hri_bridge body id

    ros.node.create_subscription(SkeletonArray, "/pose/skeletons", on_skeletons, OUT_QOS)
    lockstep_replay(ros, got, two_people_bag, pfile, tmp_path, "attention", N_FRAMES,
                    lambda: ros.node.count_publishers("/pose/skeletons") > 0 and pub.get_subscription_count() > 0)
    assert chosen, "never two tracked people in one frame"
    late = got[12:]   # the list reached the node a frame or two after it was sent
    attended = [s for m in late for s in m.skeletons if s.id == chosen[0]]
    others = [s for m in late for s in m.skeletons if s.id != chosen[0]]
    assert len(attended) == len(late), "the attended person is in every frame"
    assert not any(s.predicted for s in attended), "posed, never predicted"
    assert sum(s.predicted for s in others) >= len(others) // 2, "the budget is spent on them: the rest is predicted"
