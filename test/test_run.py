"""`pose-ros run` (the venv's launch) serves /pose/* to a separate ROS node."""
from __future__ import annotations

import time

import numpy as np
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy
from diagnostic_msgs.msg import DiagnosticArray
from visualization_msgs.msg import Marker, MarkerArray

from pose_ros.msg import Keypoint, Skeleton, SkeletonArray
from rosutil import VENV_BIN as VENV_BIN_DIR, RosSession, start, stop, wait_for
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
    def names() -> set[str]:
        return {st.name for d in list(diags) for st in d.status}

    # Each node publishes diagnostics once a second: wait for both, not only for skeletons
    # (five skeleton arrays can arrive before video_source's first diagnostics does).
    try:
        ok = wait_for(lambda: sum(1 for m in skeletons if m.skeletons) >= 5 and len(markers) >= 5
                      and {"/pose/video_source", "/pose/pose_estimator"} <= names(), 60)
    finally:
        code = stop(run)
        ros.close()
    log = (tmp_path / "run.log").read_text()
    assert {"/pose/video_source", "/pose/pose_estimator"} <= names(), f"diagnostics from every node: {names()}"
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
        assert wait_for(lambda: pub.get_subscription_count() > 0 and ros.matched("/pose/skeletons") > 0, 30)
        time.sleep(0.5)   # the tracker's writer learns of our reader at about the same time; let it
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


def test_params_file_value_wins_over_an_argument_not_given(tmp_path):
    """The ROS-install issue: `backend: movenet` in the user's params file was replaced by the
    backend argument's default. Real nodes, in-process, as `pose-ros run` creates them."""
    import rclpy

    from pose_ros.graph import build_graph, resolve_args
    from pose_ros.runner import create_nodes
    params = tmp_path / "mine.yaml"
    params.write_text("/**/pose_estimator:\n  ros__parameters:\n    autostart: false\n    backend: movenet\n"
                      "    compressed: true\n/**/action_classifier:\n  ros__parameters:\n    autostart: false\n")
    rclpy.init()
    try:
        for given, backend, compressed in [({}, "movenet", True),
                                           ({"backend": "topdown", "compressed": "false"}, "topdown", False)]:
            args = resolve_args({"params_file": str(params), "actions": "false", "hri": "false", **given})
            [est] = create_nodes(build_graph(args), args["params_file"])
            try:
                assert (est.params["backend"], est.params["compressed"]) == (backend, compressed), given
                assert est.get_namespace() == "/pose"
            finally:
                est.destroy_node()
    finally:
        rclpy.try_shutdown()


@pytest.mark.parametrize("arg, allowed", [("backend:=nonsense", "thunder, mediapipe, movenet, topdown, onnx"),
                                          ("log_level:=loud", "debug, info, warn, error, fatal"),
                                          ("rviz:=maybe", "true, false")])
def test_run_refuses_values_outside_the_choices(arg, allowed):
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "pose_ros.cli", "run", arg], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and allowed in res.stderr and "Traceback" not in res.stderr, res.stderr


@pytest.mark.timeout(120)
def test_run_with_rviz_but_without_rviz2_warns_and_serves(tmp_path):
    """rviz:=true where rviz2 is not installed: one warning naming the apt package, the graph runs."""
    import os
    env = dict(os.environ, PATH=str(VENV_BIN_DIR))  # the venv has no rviz2
    env.pop("AMENT_PREFIX_PATH", None)
    ros = RosSession()
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    run = start(["pose-ros", "run", "rviz:=true", "actions:=false", "backend:=movenet", "log_level:=warn"],
                tmp_path / "run.log", env=env)
    try:
        ok = wait_for(lambda: any(st.name == "/pose/pose_estimator" for d in diags for st in d.status), 60)
    finally:
        code = stop(run)
        ros.close()
    log = (tmp_path / "run.log").read_text()
    assert ok, log[-3000:]
    assert "sudo apt install ros-jazzy-rviz2" in log and "Traceback" not in log, log[-3000:]
    assert code in (0, -2, 130), log[-2000:]
    assert "configure: done" not in log, "log_level:=warn reaches the nodes"
