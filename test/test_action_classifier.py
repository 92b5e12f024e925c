"""action_classifier over real DDS: gesture start/end events, joint angles, actions keyed by track id."""
from __future__ import annotations

import math

import numpy as np
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from pose_ros.msg import ActionArray, Gesture, GestureArray, JointAnglesArray, Keypoint, Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for

# A front-facing standing person (pixels, y down), 100 px torso.
STAND = np.array([[320, 100], [312, 92], [328, 92], [304, 96], [336, 96], [290, 130], [350, 130],
                  [285, 180], [355, 180], [282, 230], [358, 230], [300, 230], [340, 230],
                  [300, 310], [340, 310], [300, 390], [340, 390]], dtype=float)


def hands_up(kp: np.ndarray) -> np.ndarray:
    kp = kp.copy()
    kp[7] = (285, 85)   # elbows above the shoulders
    kp[8] = (355, 85)
    kp[9] = (288, 40)   # wrists far above the nose
    kp[10] = (352, 40)
    return kp


def skeleton(tid: str, kp: np.ndarray, score: float = 0.9) -> Skeleton:
    s = Skeleton(id=tid, track_state=Skeleton.STATE_TRACKED, score=score, format=0)
    s.keypoints = [Keypoint(x=float(x), y=float(y), score=score if math.isfinite(x) else 0.0) for x, y in kp]
    s.x_min, s.y_min = float(np.nanmin(kp[:, 0])) if np.isfinite(kp).any() else 0.0, 0.0
    s.x_max, s.y_max = 400.0, 400.0
    return s


@pytest.mark.timeout(120)
def test_gestures_start_and_end_and_actions(tmp_path):
    ros = RosSession()
    gestures = ros.collect(GestureArray, "/pose/gestures")
    actions = ros.collect(ActionArray, "/pose/actions")
    angles = ros.collect(JointAnglesArray, "/pose/joint_angles")
    pub = ros.node.create_publisher(SkeletonArray, "/pose/skeletons",
                                    QoSProfile(depth=50, reliability=QoSReliabilityPolicy.RELIABLE))
    proc = start(["action_classifier", "--ros-args", "-r", "__ns:=/pose"], tmp_path / "ac.log")
    try:
        assert wait_for(lambda: pub.get_subscription_count() > 0, 30)
        rng = np.random.default_rng(1)
        t = 1000.0
        sent = 0

        def send(people: list[Skeleton]) -> None:
            nonlocal t, sent
            msg = SkeletonArray(image_width=640, image_height=480, skeletons=people)
            msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9))
            msg.header.frame_id = "cam"
            pub.publish(msg)
            t += 1 / 15
            sent += 1
            assert wait_for(lambda: len(angles) >= sent, 10)

        for _ in range(15):   # 1 s standing, plus a garbage skeleton that must not hurt
            send([skeleton("a3f", STAND + rng.normal(0, 1, STAND.shape)),
                  skeleton("bad", np.full((17, 2), np.nan), 0.0)])
        for _ in range(15):   # 1 s hands up
            send([skeleton("a3f", hands_up(STAND) + rng.normal(0, 1, STAND.shape))])
        for _ in range(20):   # a3f leaves: nobody in view
            send([])
        assert wait_for(lambda: any(g.event == Gesture.EVENT_END and g.gesture == "hands_up_both"
                                    for a in gestures for g in a.gestures), 10)
        # gesture hysteresis changes at run time, validated
        from rosutil import set_param
        ok, reason = set_param(ros, "gestures.min_duration", 0.4, node="/pose/action_classifier")
        assert ok, reason
        ok, reason = set_param(ros, "gestures.off_threshold", 0.9, node="/pose/action_classifier")
        assert not ok and "off_threshold" in reason
        # declared 0.1-10 s: a fall longer than the 2 s window used to be refused
        ok, reason = set_param(ros, "gestures.fall_max_duration", 5.0, node="/pose/action_classifier")
        assert ok, reason
        ok, reason = set_param(ros, "rate", 2.0, node="/pose/action_classifier")
        assert ok, reason
    finally:
        stop(proc)
        ros.close()
    events = [(g.id, g.gesture, g.event) for a in gestures for g in a.gestures]
    assert ("a3f", "hands_up_both", Gesture.EVENT_START) in events
    assert ("a3f", "hands_up_both", Gesture.EVENT_END) in events, "a track that disappears gets its gestures ended"
    start_i = events.index(("a3f", "hands_up_both", Gesture.EVENT_START))
    assert events.index(("a3f", "hands_up_both", Gesture.EVENT_END)) > start_i
    assert not any(e[0] == "bad" and e[2] == Gesture.EVENT_START for e in events), "no gesture from missing joints"
    # headers: gesture events carry the stamp of the frame that caused them
    assert all(a.header.frame_id == "cam" for a in gestures)
    # joint angles for every frame with the track, named
    named = [p for a in angles for p in a.people if p.id == "a3f"]
    assert len(named) == 30 and "left_elbow" in named[0].names and len(named[0].angles) == len(named[0].names)
    trunk = named[0].angles[named[0].names.index("trunk_lean")]
    assert abs(trunk) < 0.2
    # actions keyed by the track id, with all class scores and the window
    acts = [x for a in actions for x in a.actions]
    assert acts and {x.id for x in acts} <= {"a3f", "bad"}
    good = [x for x in acts if x.id == "a3f"]
    assert good and len(good[-1].class_scores) == len(good[-1].class_names)
    assert abs(sum(good[-1].class_scores) - 1.0) < 1e-3
    assert all(x.label == "unknown" and x.score < 0.5 for x in acts if x.id == "bad"), \
        "mostly missing joints give a low-confidence unknown"
    log = (tmp_path / "ac.log").read_text()
    assert "Traceback" not in log
