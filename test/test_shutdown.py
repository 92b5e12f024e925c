"""Ctrl-C is clean: every node process exits 0, silently, on one or two SIGINTs at any moment.

A terminal Ctrl-C signals the whole process group and ``ros2 launch`` forwards one
more SIGINT, so each trial starts a real executable in its own group and sends SIGINT
twice to the group: first during imports, model loading or steady state, then a second
one right after (0 s to 1.5 s later). Each trial must end with exit code 0 and no
traceback, KeyboardInterrupt or C++ abort ("exception not rethrown").

The first ~0.15 s of a process belong to the Python interpreter and the venv's
``ros_wheels_bootstrapper`` re-exec, before any pose_ros code runs; signals there get
Python's own behaviour, so the trials start signalling after that.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rosutil import VENV_BIN
from pose_ros import shutdown

BAD = ("Traceback", "KeyboardInterrupt", "exception not rethrown", "Fatal Python error")
SEED = int(os.environ.get("POSE_ROS_SHUTDOWN_SEED", "20240611"))


def _cases(clip: Path) -> list[tuple[str, list[str], str]]:
    """(label, command, log line that means 'steady state') per executable under test."""
    def node(exe: str, ns: str, *params: str) -> list[str]:
        args = [str(VENV_BIN / exe), "--ros-args", "-r", f"__ns:={ns}"]
        for p in params:
            args += ["-p", p]
        return args
    return [
        ("pose_estimator", node("pose_estimator", "/sd_est"), "activate: done"),
        ("action_classifier", node("action_classifier", "/sd_act"), "activate: done"),
        ("video_source", node("video_source", "/sd_vid", f"source:={clip}", "loop:=true",
                              "wait_subscriber:=false", "rate:=2.0"), ""),
        ("pose_tracker", node("pose_tracker", "/sd_trk"), ""),
        ("hands_up_stop", node("hands_up_stop", "/sd_hus"), ""),
        ("pose-ros run", [str(VENV_BIN / "pose-ros"), "run", f"video:={clip}"], "action_classifier]: activate: done"),
    ]


# trials per executable; the graph and the estimator (heavy start-up) get the most
TRIALS = {"pose_estimator": 6, "pose-ros run": 7, "action_classifier": 4, "video_source": 4,
          "pose_tracker": 2, "hands_up_stop": 2}


def _trial(cmd: list[str], ready: str, phase: str, gap: float, rng: random.Random, log: Path) -> tuple[int, str, str]:
    """Start ``cmd`` as a group, SIGINT it twice, return (exit code, output, when the first signal hit)."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    if phase == "startup":            # imports (rclpy, numpy, cv2, torch, mediapipe)
        time.sleep(rng.uniform(0.15, 1.2))
    elif phase == "loading":          # rclpy initialised, nodes and models being created
        time.sleep(rng.uniform(1.2, 4.0))
    else:                             # serving (after the ready line), then a moment more
        end = t0 + 60
        while time.monotonic() < end and proc.poll() is None and ready not in log.read_text():
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0) if ready else rng.uniform(2.0, 4.0))
    hit = "after ready" if ready and ready in log.read_text() else "before ready"
    for i in range(2):
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            break
        if i == 0:
            time.sleep(gap)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return -999, log.read_text() + "\n[test: no exit 30 s after SIGINT]", hit
    return proc.returncode, log.read_text(), hit


@pytest.mark.timeout(900)
def test_every_node_process_exits_0_silently_on_double_sigint(person_clip, tmp_path):
    rng = random.Random(SEED)
    plan = []
    for label, cmd, ready in _cases(person_clip):
        for k in range(TRIALS[label]):
            phase = ("startup", "loading", "steady")[k % 3]
            gap = rng.choice([0.0, rng.uniform(0.0, 0.05), rng.uniform(0.05, 0.5), rng.uniform(0.5, 1.5)])
            plan.append((label, cmd, ready, phase, gap, random.Random(rng.random())))
    failures, seen, lock = [], [], threading.Lock()

    def one(i: int) -> None:
        label, cmd, ready, phase, gap, trng = plan[i]
        code, out, hit = _trial(cmd, ready, phase, gap, trng, tmp_path / f"trial{i}.log")
        with lock:
            seen.append((label, phase, hit, round(gap, 3), code))
            bad = [s for s in BAD if s in out]
            if code != 0 or bad:
                failures.append(f"{label} ({phase}, {hit}, second SIGINT after {gap:.3f} s): exit {code}, "
                                f"found {bad}\n{out[-2500:]}")

    # two trials at a time (different namespaces; pose-ros run has /pose to itself)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, range(len(plan))))
    print(f"seed {SEED}: {len(plan)} trials", *sorted(seen), sep="\n  ")
    assert len(seen) == len(plan) >= 20
    assert not failures, f"{len(failures)} of {len(plan)} trials were not clean (seed {SEED}):\n\n" + \
        "\n\n".join(failures)


# -- the handler's phases, in this process (no ROS) ------------------------------------------------------

def _in_child(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that installed the handler first, as an entry point does."""
    prog = "from pose_ros import shutdown\nshutdown.install()\n" + code
    return subprocess.run([str(VENV_BIN / "python"), "-c", prog], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(shutdown.__file__).parents[1])})


def test_signal_while_starting_exits_0_at_once():
    r = _in_child("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\nprint('not reached')")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_signal_while_loading_unwinds_once_and_later_ones_are_ignored():
    r = _in_child(
        "import os, signal, time\n"
        "shutdown.set_phase(shutdown.LOADING)\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
        "except shutdown.ShutdownRequested:\n"
        "    shutdown.set_phase(shutdown.CLEANUP)\n"
        "    os.kill(os.getpid(), signal.SIGINT); os.kill(os.getpid(), signal.SIGTERM); time.sleep(0.2)\n"
        "    print('cleaned up', shutdown.requested())\n"
        "shutdown.finish(0)\n")
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "cleaned up True", "")


def test_signal_while_serving_only_records_the_request():
    r = _in_child(
        "import os, signal, time\n"
        "shutdown.set_phase(shutdown.SERVING)\n"
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.2)\n"
        "print('still here', shutdown.requested())\n")
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "still here True", "")


def test_handling_restores_the_previous_handlers():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with shutdown.handling():
        assert shutdown.installed() and signal.getsignal(signal.SIGINT) is not before[0]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert not shutdown.installed() and not shutdown.requested()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("exe", ["pose_estimator", "action_classifier", "pose_tracker"])
def test_a_stopped_node_leaves_the_graph_at_once(exe, tmp_path):
    """After Ctrl-C the node's DDS participant is gone: other processes stop seeing it (and its
    lifecycle services) right away, not after the 20 s lease as for a killed process, so a
    restarted node's get_state answers."""
    from rosutil import RosSession, start, wait_for
    ros = RosSession(f"watch_{exe}")
    ns = f"/leave_{exe}"

    def visible() -> bool:
        return (ns, exe) in [(n_ns, n) for n, n_ns in ros.node.get_node_names_and_namespaces()]

    log = tmp_path / "node.log"
    proc = start([exe, "--ros-args", "-r", f"__ns:={ns}"], log)
    try:
        assert wait_for(visible, 60) and wait_for(lambda: "activate: done" in log.read_text() or exe == "pose_tracker",
                                                  60), log.read_text()
        time.sleep(3.0)  # serving (a signal while still loading exits at once and leaves the lease to expire)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()
        assert wait_for(lambda: not visible(), 10), f"{exe} stays in the graph: its participant was not freed"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        ros.close()


# -- the lib/pose_ros scripts that `ros2 launch` and `ros2 run` start --------------------------------------

NODE_ENTRY_TEMPLATE = Path(__file__).resolve().parents[1] / "scripts" / "node_entry.py.in"


def _lib_script(exe: str, tmp_path: Path) -> Path:
    """scripts/node_entry.py.in for ``exe``, as CMake's configure_file(@ONLY) installs it into lib/pose_ros."""
    path = tmp_path / exe
    path.write_text(NODE_ENTRY_TEMPLATE.read_text().replace("@exe@", exe))
    return path


def test_lib_scripts_run_the_console_script_function(tmp_path, monkeypatch):
    """Under ros2 launch the node is lib/pose_ros/<exe>, not the venv's console script: it must run the same
    function (pose_ros.nodes.entry.<exe>: the handler before the heavy imports, shutdown.finish at the end).
    Calling main() instead let a second SIGINT kill every node with exit code -2 (issue 22)."""
    import runpy

    from pose_ros.graph import EXECUTABLES
    from pose_ros.nodes import entry
    called = []
    monkeypatch.setattr(shutdown, "install", lambda: called.append("install"))  # not in the test process
    for exe in EXECUTABLES:
        monkeypatch.setattr(entry, exe, lambda exe=exe: called.append(exe))
        runpy.run_path(str(_lib_script(exe, tmp_path)), run_name="__main__")
    assert called == [step for exe in EXECUTABLES for step in ("install", exe)]


def _wait_for_line(logs: list[Path], text: str, proc: subprocess.Popen, timeout: float) -> bool:
    """True once ``text`` is in one of ``logs`` (rcutils logs to stderr), False after ``timeout`` or the exit."""
    def seen() -> bool:
        return any(text in log.read_text() for log in logs)
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if seen():
            return True
        time.sleep(0.02)
    return seen()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("second", ["stopping", "stopped"])
def test_lib_script_node_exits_0_on_a_second_sigint_while_stopping(second, tmp_path):
    """SIGINT to the process group of a serving pose_estimator started as ros2 launch starts it, then a second
    one once it is stopping (its deactivate line) or has stopped (its last line): exit 0, nothing on stderr
    but its log lines, no traceback."""
    script = _lib_script("pose_estimator", tmp_path)
    log, err = tmp_path / "out.log", tmp_path / "err.log"
    cmd = [str(VENV_BIN / "python"), str(script), "--ros-args", "-r", f"__ns:=/sd_lib_{second}",
           "-p", "backend:=movenet"]
    with open(log, "w") as out, open(err, "w") as errf:
        proc = subprocess.Popen(cmd, stdout=out, stderr=errf, start_new_session=True)
    try:
        assert _wait_for_line([log, err], "activate: done", proc, 120), log.read_text() + err.read_text()
        os.killpg(proc.pid, signal.SIGINT)
        assert _wait_for_line([log, err], "deactivate: done" if second == "stopping" else "cleanup: done", proc,
                              30), log.read_text() + err.read_text()
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:  # already gone: the second signal came too late to matter
            pass
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stderr = err.read_text()
    assert code == 0, f"exit {code}\n{log.read_text()}\n{stderr}"
    assert not [b for b in BAD if b in stderr + log.read_text()], stderr
