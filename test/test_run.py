"""`pose-ros run` (the venv's launch) serves /pose/* to a separate ROS node."""
from __future__ import annotations

import numpy as np
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from diagnostic_msgs.msg import DiagnosticArray
from visualization_msgs.msg import Marker, MarkerArray

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for
from conftest import check_person_in_region


@pytest.mark.timeout(120)
def test_pose_ros_run_serves_skeletons_and_markers(person_clip, tmp_path):
    ros = RosSession("external_consumer")
    skeletons = ros.collect(SkeletonArray, "/pose/skeletons")
    markers = ros.collect(MarkerArray, "/pose/markers")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    # Our own parameter file (params_file argument): play at quarter speed so a busy
    # machine still processes most frames of the short clip.
    import yaml
    from pose_ros.paths import config_file
    params = yaml.safe_load(config_file().read_text())
    params["/**/video_source"]["ros__parameters"]["rate"] = 0.25
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run = start(["pose-ros", "run", f"video:={person_clip}", "actions:=false",
                 f"params_file:={tmp_path / 'params.yaml'}"], tmp_path / "run.log")
    try:
        ok = wait_for(lambda: sum(1 for m in skeletons if m.skeletons) >= 5 and len(markers) >= 5, 60)
    finally:
        code = stop(run)
        ros.close()
    log = (tmp_path / "run.log").read_text()
    names = {st.name for d in diags for st in d.status}
    assert {"/pose/video_source", "/pose/pose_estimator"} <= names, f"diagnostics from every node: {names}"
    assert ok, f"{len(skeletons)} skeleton arrays, {len(markers)} marker arrays\n{log[-3000:]}"
    assert "Traceback" not in log and code in (0, -2, 130), log[-2000:]
    withp = [m for m in skeletons if m.skeletons]
    check_person_in_region(withp, min_fraction=0.8)
    ids = {s.id for m in withp for s in m.skeletons}
    assert all(ids) and len(ids) <= 2, f"one person should keep one id, got {ids}"
    assert all(len(s.keypoints) == 17 for m in withp for s in m.skeletons)
    # markers: DELETEALL first (no ghosts), then joints/bones/labels in the image frame
    m = markers[-1]
    assert m.markers[0].action == Marker.DELETEALL
    spaces = {mk.ns for mk in m.markers[1:]}
    if any(x.skeletons for x in skeletons[-3:]):
        assert {"joints", "bones", "labels"} <= spaces
    assert all(mk.header.frame_id == "camera" for mk in m.markers)


@pytest.mark.timeout(60)
def test_pose_tracker_node_assigns_ids(tmp_path):
    """The standalone tracker gives untracked skeletons stable ids and copies headers."""
    ros = RosSession()
    out = ros.collect(SkeletonArray, "/pose/skeletons")
    qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
    pub = ros.node.create_publisher(SkeletonArray, "/pose/skeletons_in", qos)
    proc = start(["pose_tracker", "--ros-args", "-r", "__ns:=/pose", "-p", "tracker.min_hits:=2"],
                 tmp_path / "tracker.log")
    try:
        assert wait_for(lambda: pub.get_subscription_count() > 0 and ros.node.count_publishers("/pose/skeletons") > 0, 30)
        rng = np.random.default_rng(0)
        base = np.array([[0, -80], [-5, -85], [5, -85], [-10, -82], [10, -82], [-25, -60], [25, -60], [-30, -30],
                         [30, -30], [-32, 0], [32, 0], [-15, 0], [15, 0], [-15, 40], [15, 40], [-15, 80], [15, 80]],
                        dtype=float)
        for i in range(20):
            msg = SkeletonArray(image_width=640, image_height=480)
            msg.header.stamp.sec, msg.header.stamp.nanosec = 100 + i // 10, (i % 10) * 100_000_000
            msg.header.frame_id = "cam"
            for cx in (150.0 + 3 * i, 450.0 - 3 * i):
                kp = base + [cx, 240] + rng.normal(0, 1, base.shape)
                s = Skeleton(score=0.9, format=0)
                s.keypoints = [Keypoint(x=float(x), y=float(y), score=0.9) for x, y in kp]
                s.x_min, s.y_min = float(kp[:, 0].min()), float(kp[:, 1].min())
                s.x_max, s.y_max = float(kp[:, 0].max()), float(kp[:, 1].max())
                msg.skeletons.append(s)
            pub.publish(msg)
            assert wait_for(lambda: len(out) > i, 10)
    finally:
        stop(proc)
        ros.close()
    assert len(out) == 20
    assert [m.header.stamp.sec for m in out] == [100 + i // 10 for i in range(20)]
    late = out[5:]
    left = {min(m.skeletons, key=lambda s: s.keypoints[0].x).id for m in late}
    right = {max(m.skeletons, key=lambda s: s.keypoints[0].x).id for m in late}
    assert len(left) == 1 and len(right) == 1 and left != right and "" not in left | right
    assert all(s.track_state == Skeleton.STATE_TRACKED for m in late for s in m.skeletons)
