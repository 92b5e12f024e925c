"""respawn:=true restarts what died: the launch file per node, `pose-ros run` the whole graph.

One rule for both (pose_ros.graph.RespawnPolicy): not after exit code 0 or 2, at most
respawn_max_retries times. The launch file's exit handler is called through the launch
stand-ins; the runner test is for real: a supervised `pose-ros run` on a looping clip,
its graph process killed with SIGKILL, must come back (a new child process, skeletons
again), and is given up after the retries. Exit code 2 (bad input at start-up) is not
respawned, and without respawn nothing comes back.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from launchstub import LogInfo, Node, ProcessExited, Shutdown, TimerAction, exit_handler, load_launch_file, \
    nodes_of, run_setup
from pose_ros import dds_shm, respawn
from pose_ros.exits import EXIT_BAD_INPUT
from pose_ros.graph import LAUNCH_ARGUMENTS, RespawnPolicy, build_graph, resolve_args, respawn_policy
from pose_ros.msg import SkeletonArray
from rosutil import VENV_BIN, RosSession, start, stop, wait_for

LAUNCH = load_launch_file()


# ------------------------------------------------------------------ the rule (shared)
def test_arguments_default_off_with_a_retry_limit():
    assert LAUNCH_ARGUMENTS["respawn"].default == "false"
    assert float(LAUNCH_ARGUMENTS["respawn_delay"].default) > 0
    assert respawn_policy(resolve_args({})) == RespawnPolicy(False, 2.0, 5)
    assert respawn_policy(resolve_args({"respawn": "true", "respawn_delay": "0.5", "respawn_max_retries": "-1"})) \
        == RespawnPolicy(True, 0.5, -1)


@pytest.mark.parametrize("policy, code, restarts, what", [
    (RespawnPolicy(True, 1.0, 2), 0, 0, "done"),
    (RespawnPolicy(True, 1.0, 2), EXIT_BAD_INPUT, 0, "bad_input"),
    (RespawnPolicy(False, 1.0, 2), EXIT_BAD_INPUT, 0, "bad_input"),
    (RespawnPolicy(False, 1.0, 2), 1, 0, "done"),
    (RespawnPolicy(True, 1.0, 2), 1, 0, "respawn"),
    (RespawnPolicy(True, 1.0, 2), -9, 1, "respawn"),
    (RespawnPolicy(True, 1.0, 2), -9, 2, "give_up"),
    (RespawnPolicy(True, 1.0, -1), -9, 1000, "respawn"),
])
def test_after_exit(policy, code, restarts, what):
    assert policy.after_exit(code, restarts) == what


@pytest.mark.parametrize("bad", [{"respawn": "maybe"}, {"respawn_delay": "soon"}, {"respawn_delay": "-1"},
                                 {"respawn_max_retries": "1.5"}])
def test_bad_respawn_values_are_refused(bad):
    with pytest.raises(ValueError):
        build_graph(resolve_args(bad))


# ------------------------------------------------------------------ the launch file's exit handler
def _estimator(actions) -> Node:
    return next(n for n in nodes_of(actions) if n.kw["executable"] == "pose_estimator")


class _Ctx:
    is_shutdown = False


@pytest.mark.parametrize("respawn", ["false", "true"])
def test_launch_ends_when_a_node_exits_with_bad_input(respawn):
    """backend or model broken in the params file: the estimator exits 2 and the launch ends (before, a
    video_source waited for it forever, and respawn:=true restarted it forever)."""
    actions = run_setup(LAUNCH, {"video": "clip.mp4", "respawn": respawn})
    est = _estimator(actions)
    [shutdown] = exit_handler(actions, est)(ProcessExited(EXIT_BAD_INPUT), _Ctx())
    assert isinstance(shutdown, Shutdown) and "pose_estimator exited with code 2" in shutdown.kw["reason"]


def test_launch_respawns_a_crash_up_to_the_limit():
    actions = run_setup(LAUNCH, {"respawn": "true", "respawn_delay": "0.5", "respawn_max_retries": "2"})
    node = _estimator(actions)
    for attempt in (1, 2):
        log, timer = exit_handler(actions, node)(ProcessExited(-9), _Ctx())
        assert isinstance(log, LogInfo) and f"respawn {attempt} in 0.5 s" in log.kw["msg"]
        assert isinstance(timer, TimerAction) and timer.kw["period"] == 0.5
        actions = timer.kw["actions"]
        new = _estimator(actions)
        assert new is not node and new.kw == node.kw, "a fresh Node action with the same settings"
        node = new
    [log] = exit_handler(actions, node)(ProcessExited(1), _Ctx())
    assert isinstance(log, LogInfo) and "respawn_max_retries=2 reached" in log.kw["msg"]


def _dead_segment(shm: Path) -> list[Path]:
    """A Fast DDS segment and its lock file as a process killed with SIGKILL leaves them (nobody holds the lock),
    older than dds_shm's 10 s guard."""
    files = [shm / "fastrtps_0123456789abcdef", shm / "fastrtps_0123456789abcdef_el"]
    for f in files:
        f.write_bytes(b"x" * 64)
        os.utime(f, (time.time() - 60, time.time() - 60))
    return files


@pytest.mark.parametrize("path", ["launch", "runner"])
def test_respawn_step_cleans_the_dead_process_shared_memory_before_the_restart(path, tmp_path, monkeypatch):
    """The launch file's exit handler (through the launch stand-ins) and the runner's supervisor take every exit
    through the one step, pose_ros.respawn.after_exit: a SIGKILLed process's Fast DDS segment is removed before the
    respawn is scheduled, and both say the same line."""
    monkeypatch.setattr(dds_shm, "SHM_DIR", tmp_path)
    monkeypatch.delenv("POSE_ROS_NO_SHM_CLEAN", raising=False)
    monkeypatch.delenv("RMW_IMPLEMENTATION", raising=False)
    dead = _dead_segment(tmp_path)
    policy = RespawnPolicy(True, 0.5, 2)
    if path == "launch":
        actions = run_setup(LAUNCH, {"respawn": "true", "respawn_delay": "0.5", "respawn_max_retries": "2"})
        log, timer = exit_handler(actions, _estimator(actions))(ProcessExited(-signal.SIGKILL), _Ctx())
        assert isinstance(timer, TimerAction) and _estimator(timer.kw["actions"]).kw["executable"] == "pose_estimator"
        name, line = "pose_estimator", log.kw["msg"]
    else:
        lines = []
        codes = iter([-signal.SIGKILL, 0])  # killed, then a normal stop after the respawn

        class Child:
            pid, returncode = 4242, None

            def wait(self, timeout=None):
                self.returncode = next(codes)
                return self.returncode

        left_at_start = []

        def popen(*a, **kw):
            left_at_start.append(sum(f.exists() for f in dead))
            return Child()

        monkeypatch.setattr(respawn.subprocess, "Popen", popen)
        monkeypatch.setattr(respawn.time, "sleep", lambda s: lines.append(f"slept {s}"))
        assert respawn.supervise({}, policy, log=lines.append) == 0 and "slept 0.5" in lines, lines
        assert left_at_start == [2, 0], "cleaned after the death, before the respawned child started"
        [line] = [entry.removeprefix("pose-ros run: ") for entry in lines if "died" in entry]
        name = "graph"
    assert not any(f.exists() for f in dead), "the dead segment is removed before the respawn"
    assert line == respawn.after_exit(policy, name, -signal.SIGKILL, 0)[1] == \
        f"{name} died (killed by SIGKILL); respawn 1 in 0.5 s"


def test_the_respawn_step_leaves_live_and_young_segments_and_cleans_nothing_without_a_respawn(tmp_path, monkeypatch):
    monkeypatch.setattr(dds_shm, "SHM_DIR", tmp_path)
    dead = _dead_segment(tmp_path)
    policy = RespawnPolicy(True, 0.5, 2)
    for code, restarts in ((0, 0), (EXIT_BAD_INPUT, 0), (-signal.SIGKILL, 2)):  # done, bad input, given up
        assert respawn.after_exit(policy, "pose_estimator", code, restarts)[0] != "respawn"
    assert all(f.exists() for f in dead)
    young = tmp_path / "fastrtps_00000000000000aa_el"
    young.write_bytes(b"")
    os.utime(dead[1], None)  # now under the 10 s guard: a live process may be creating it
    assert respawn.after_exit(policy, "pose_estimator", 1, 0)[0] == "respawn"
    assert all(f.exists() for f in dead + [young])


def test_launch_does_nothing_on_a_clean_exit_a_crash_without_respawn_or_at_shutdown():
    actions = run_setup(LAUNCH, {"video": "clip.mp4"})
    handler = exit_handler(actions, nodes_of(actions)[0])
    assert handler(ProcessExited(0), _Ctx()) is None
    assert handler(ProcessExited(1), _Ctx()) is None
    respawning = run_setup(LAUNCH, {"respawn": "true"})
    shutting_down = _Ctx()
    shutting_down.is_shutdown = True
    assert exit_handler(respawning, _estimator(respawning))(ProcessExited(-2), shutting_down) is None


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


@pytest.mark.timeout(180)
def test_supervised_graph_finishes_its_shutdown_on_a_second_ctrl_c(person_clip, tmp_path):
    """Ctrl-C twice to `pose-ros run respawn:=true`: the second one comes while the graph is stopping (its
    deactivate line) and must not cut it short; the graph exits 0 and so does the supervisor (before, the
    second Ctrl-C made the supervisor SIGKILL the graph)."""
    log = tmp_path / "run.log"
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    proc = start(_run_cmd(person_clip, tmp_path, "respawn:=true"), log)
    try:
        assert wait_for(lambda: len(got) >= 1, 90), log.read_text()[-3000:]
        os.killpg(proc.pid, signal.SIGINT)  # the supervisor's group, as a terminal's Ctrl-C (the graph has its own)
        assert wait_for(lambda: "deactivate: done" in log.read_text(), 30), log.read_text()[-3000:]
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(30)
    finally:
        stop(proc)
        ros.close()
    out = log.read_text()
    assert code == 0 and "graph stopped (exit code 0)" in out, out[-3000:]
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out[-3000:]


@pytest.mark.timeout(180)
def test_runner_gives_up_after_respawn_max_retries(person_clip, tmp_path):
    log = tmp_path / "run.log"
    ros = RosSession()
    got = ros.collect(SkeletonArray, "/pose/skeletons")
    proc = start(_run_cmd(person_clip, tmp_path, "respawn:=true", "respawn_delay:=0.1", "respawn_max_retries:=0"),
                 log)
    try:
        assert wait_for(lambda: len(got) >= 1, 90), log.read_text()[-3000:]
        [first] = _children(proc.pid)
        first.send_signal(signal.SIGKILL)
        code = proc.wait(30)
    finally:
        stop(proc)
        ros.close()
    out = log.read_text()
    assert code == 1, out[-3000:]
    assert "after 0 respawns; respawn_max_retries=0 reached, not respawned" in out, out[-3000:]
    assert out.count("graph started in process") == 1 and "Traceback" not in out, out[-3000:]


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
