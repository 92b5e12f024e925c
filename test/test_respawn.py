"""respawn:=true restarts what died: launch_ros per node, `pose-ros run` the whole graph.

The runner test is for real: a supervised `pose-ros run` on a looping clip, its graph
process killed with SIGKILL, must come back (a new child process, skeletons again).
Exit code 2 (bad input at start-up) is not respawned, and without respawn nothing
comes back.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest

from pose_ros.graph import LAUNCH_ARGUMENTS, build_graph, resolve_args
from pose_ros.msg import SkeletonArray
from rosutil import VENV_BIN, RosSession, start, stop, wait_for
from test_launch_parity import TREE, launch_node_specs


# ------------------------------------------------------------------ launch file (parsed)
def test_launch_arguments_default_off():
    assert LAUNCH_ARGUMENTS["respawn"][0] == "false"
    assert float(LAUNCH_ARGUMENTS["respawn_delay"][0]) > 0


@pytest.mark.parametrize("given, respawn, delay", [
    ({}, False, 2.0),
    ({"respawn": "true", "respawn_delay": "0.5"}, True, 0.5),
    ({"respawn": "true", "video": "clip.mp4", "actions": "true"}, True, 2.0),
])
def test_launch_node_specs_carry_respawn(given, respawn, delay):
    specs = launch_node_specs()(resolve_args(given))
    assert specs and all(s["respawn"] is respawn and s["respawn_delay"] == delay for s in specs)


def test_every_pose_ros_node_passes_respawn_to_launch_ros():
    import ast
    calls = [n for n in ast.walk(TREE) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Node"]
    ours = [c for c in calls if any(k.arg == "package" and ast.literal_eval(k.value) == "pose_ros"
                                    for k in c.keywords)]
    assert ours
    for call in ours:
        kw = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert kw.get("respawn") == "spec['respawn']" and kw.get("respawn_delay") == "spec['respawn_delay']", kw


@pytest.mark.parametrize("bad", [{"respawn": "maybe"}, {"respawn_delay": "soon"}, {"respawn_delay": "-1"}])
def test_bad_respawn_values_are_refused(bad):
    with pytest.raises(ValueError):
        build_graph(resolve_args(bad))


# ------------------------------------------------------------------ the runner (for real)
def _params(tmp_path):
    """The clip loops, so a respawned graph has frames to publish again."""
    path = tmp_path / "params.yaml"
    path.write_text("/**/video_source:\n  ros__parameters:\n    loop: true\n")
    return path


def _children(pid: int) -> list[psutil.Process]:
    try:
        return [c for c in psutil.Process(pid).children() if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return []


def _run_cmd(clip, tmp_path, *extra):
    return ["pose-ros", "run", f"video:={clip}", "actions:=false", "backend:=movenet",
            f"params_file:={_params(tmp_path)}", *extra]


@pytest.mark.timeout(240)
def test_runner_respawns_a_killed_graph(person_clip, tmp_path):
    log = tmp_path / "run.log"
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    proc = start(_run_cmd(person_clip, tmp_path, "respawn:=true", "respawn_delay:=0.5"), log)
    text = lambda: log.read_text()  # noqa: E731
    try:
        assert wait_for(lambda: len(got) >= 3, 90), text()[-3000:]
        [first] = _children(proc.pid)
        first.send_signal(signal.SIGKILL)
        assert wait_for(lambda: "killed by SIGKILL" in text(), 20), text()[-3000:]
        assert wait_for(lambda: any(c.pid != first.pid for c in _children(proc.pid)), 20), text()[-3000:]
        [second] = _children(proc.pid)
        assert second.pid != first.pid
        n = len(got)
        assert wait_for(lambda: len(got) >= n + 3, 90), "the respawned graph publishes again\n" + text()[-3000:]
        assert proc.poll() is None
    finally:
        code = stop(proc, timeout=30)
        ros.close()
    out = text()
    assert code == 0, out[-3000:]
    assert "respawn 1 in 0.5 s" in out and "(respawn 1)" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert wait_for(lambda: not psutil.pid_exists(second.pid), 10), "Ctrl-C stops the graph too"


@pytest.mark.timeout(120)
def test_bad_input_is_not_respawned(tmp_path):
    params = tmp_path / "bad.yaml"
    params.write_text(f"/**/pose_estimator:\n  ros__parameters:\n    movenet.model_path: \"{tmp_path}/none.tflite\"\n")
    res = subprocess.run([str(VENV_BIN / "pose-ros"), "run", "respawn:=true", "respawn_delay:=0.1", "actions:=false",
                          "backend:=movenet", f"params_file:={params}"], capture_output=True, text=True, timeout=90)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert out.count("graph started in process") == 1 and "not respawned" in out, out
    assert f"{tmp_path}/none.tflite" in out and "Traceback" not in out, out


@pytest.mark.timeout(180)
def test_without_respawn_a_killed_runner_stays_dead(person_clip, tmp_path):
    log = tmp_path / "run.log"
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    proc = start(_run_cmd(person_clip, tmp_path), log)
    try:
        assert wait_for(lambda: len(got) >= 3, 90), log.read_text()[-3000:]
        assert _children(proc.pid) == [], "without respawn the graph runs in the runner's own process"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        time.sleep(1.0)  # messages already in flight
        n = len(got)
        time.sleep(3.0)
        assert len(got) == n, "nothing restarted the graph"
    finally:
        stop(proc)
        ros.close()
