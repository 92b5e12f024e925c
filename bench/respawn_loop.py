#!/usr/bin/env python3
"""Kill loop: the graph's pose_estimator killed with SIGKILL again and again under respawn:=true.

Two paths, the same checks:

* ``--path run``: ``pose-ros run ... respawn:=true`` (the venv's runner; the unit it restarts is
  its graph process, so that is what is killed);
* ``--path launch``: ``ros2 launch pose_ros pose.launch.py ... respawn:=true`` (per-node respawn by
  the launch file; the ``pose_estimator`` process is killed). Needs ``ros2`` with launch_ros and
  pose_ros installed (an ament prefix) on PATH; see /work/shared/ros-from-pypi.md.

After every kill (``--kills``, 20) the respawned estimator must *serve again* within
``--serve-timeout`` seconds of the kill: a subscriber that was there before the kill gets new
``/pose/skeletons`` (so its camera subscription receives too), ``action_classifier`` (an existing
subscriber in another process under launch) publishes ``/pose/joint_angles`` for them, a
subscriber created after the respawn (a new participant) gets skeletons, the graph lists
``/pose/pose_estimator`` and its lifecycle ``get_state`` answers ``active``. With ``--cli`` the
``ros2`` CLI is asked too (``ros2 node list``, ``ros2 lifecycle get``, through its daemon, as a user
would). A failure is counted, its logs kept, and the loop goes on with the next kill.

``--range localhost`` runs everything under ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, ``--range
default`` with the range unset (multicast discovery: the run still gets a ROS_DOMAIN_ID of its own).
``--busy N`` keeps N cores busy beside the graph. At the end the graph is stopped with one SIGINT
and must exit 0.

``--sigint-trials N`` runs the other check of issue 22 instead: the path is started N times and its
process group gets SIGINT twice (a terminal's double Ctrl-C), the first at a random moment (imports,
model loading or serving), the second 0-1.5 s later (or 0.5-8 s with ``--long-gaps``); every node
must exit 0 with no "process has died" line and no traceback.

    python bench/respawn_loop.py --path run --range localhost --busy 1
    . /tmp/ros2cli_prefix/env.sh && python bench/respawn_loop.py --path launch --range default --busy 1 --cli
    python bench/respawn_loop.py --path launch --sigint-trials 10

Exit 0 when every kill (or trial) passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ESTIMATOR = "pose_estimator"
BAD_OUTPUT = ("process has died", "Traceback", "KeyboardInterrupt", "exception not rethrown", "Fatal Python error")


def setup_env(rng_range: str, domain: int) -> None:
    """Before rclpy is imported: this process (the probes) and every child get the same DDS setting."""
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ.pop("ROS_LOCALHOST_ONLY", None)
    if rng_range == "localhost":
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    else:
        os.environ.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)


def graph_command(path: str, clip: Path, params: Path, opts, respawn: bool) -> list[str]:
    args = [f"video:={clip}", f"backend:={opts.backend}", f"params_file:={params}",
            f"respawn:={'true' if respawn else 'false'}", "respawn_max_retries:=-1", f"respawn_delay:={opts.delay:g}",
            *opts.arg]
    if path == "run":
        return [str(BIN / "pose-ros"), "run", *args]
    ros2 = shutil.which("ros2")
    if ros2 is None:
        raise SystemExit("--path launch needs `ros2` (launch_ros, ros2launch) and pose_ros in AMENT_PREFIX_PATH")
    return [ros2, "launch", "pose_ros", "pose.launch.py", *args]


def estimator_process(psutil, root: int, path: str):
    """The process that a kill -9 of "the estimator" hits: the runner's graph child, or launch's node."""
    try:
        procs = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    for p in procs:
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            cmd = p.cmdline()
            if path == "run" and p.ppid() == root and "run" in cmd:
                return p
            if path == "launch" and any(os.path.basename(a) == ESTIMATOR for a in cmd[:2]):
                return p
        except psutil.NoSuchProcess:
            continue
    return None


def wait_until(pred, timeout: float, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def _end_group(pgid: int) -> None:
    """Whatever is left of a process group whose leader is gone (launch died and left its nodes)."""
    def gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    for sig in (signal.SIGINT, signal.SIGKILL):
        if gone():
            return
        _signal_group(pgid, sig)
        wait_until(gone, 10.0)


def get_state(probe, timeout: float) -> str | None:
    """The estimator's lifecycle state label through its get_state service (None: no answer)."""
    from lifecycle_msgs.srv import GetState
    client = probe.node.create_client(GetState, f"/pose/{ESTIMATOR}/get_state")
    try:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not client.wait_for_service(timeout_sec=min(1.0, max(0.1, end - time.monotonic()))):
                continue
            fut = client.call_async(GetState.Request())
            if wait_until(fut.done, min(3.0, max(0.1, end - time.monotonic())), 0.05):
                return fut.result().current_state.label
            client.remove_pending_request(fut)  # sent before the match: ask again
        return None
    finally:
        probe.node.destroy_client(client)


def cli_check(timeout: float) -> tuple[bool, str]:
    """``ros2 node list`` lists the estimator and ``ros2 lifecycle get`` says active (daemon, as a user)."""
    out = ""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            nodes = subprocess.run(["ros2", "node", "list"], capture_output=True, text=True, timeout=20).stdout
            state = subprocess.run(["ros2", "lifecycle", "get", f"/pose/{ESTIMATOR}"], capture_output=True,
                                   text=True, timeout=20)
        except subprocess.TimeoutExpired:
            continue
        out = f"node list: {nodes.split()}; lifecycle get: {(state.stdout + state.stderr).strip()}"
        if f"/pose/{ESTIMATOR}" in nodes.split() and state.stdout.startswith("active"):
            return True, out
        time.sleep(0.5)
    return False, out


def kill_loop(opts, work: Path, clip: Path, params: Path) -> dict:
    import psutil
    from soak import Probe
    from pose_ros.procs import start_process, stop_process

    log = work / "graph.log"
    graph = start_process(graph_command(opts.path, clip, params, opts, True), log)
    probe = Probe()  # the subscriber that is there before every kill
    results, t0 = [], time.monotonic()
    try:
        if not wait_until(lambda: probe.skeleton_arrays >= 3 and probe.joint_angles >= 3, 120):
            raise SystemExit(f"the graph did not start:\n{log.read_text()[-3000:]}")
        for k in range(opts.kills):
            victim = estimator_process(psutil, graph.pid, opts.path)
            if victim is None:
                raise SystemExit(f"no estimator process to kill (kill {k + 1}):\n{log.read_text()[-3000:]}")
            time.sleep(random.uniform(0.0, 2.0))  # killed at different moments of the stream
            t_kill = time.monotonic()
            victim.send_signal(signal.SIGKILL)
            res = {"kill": k + 1, "pid": victim.pid}
            new = None

            def respawned() -> bool:
                nonlocal new
                new = estimator_process(psutil, graph.pid, opts.path)
                return new is not None and new.pid != victim.pid

            ok_spawn = wait_until(respawned, opts.serve_timeout)
            res["respawned_s"] = round(time.monotonic() - t_kill, 2) if ok_spawn else None
            t_new = time.monotonic()
            left = lambda: max(0.5, t_kill + opts.serve_timeout - time.monotonic())  # noqa: E731
            after = lambda ts: sum(1 for t in list(ts) if t > t_new)  # noqa: E731
            res["old_subscriber"] = ok_spawn and wait_until(lambda: after(probe.skel_t) >= 3, left())
            res["existing_node_subscriber"] = ok_spawn and wait_until(lambda: after(probe.angles_t) >= 3, left())
            res["serves_s"] = round(time.monotonic() - t_kill, 2)
            fresh = Probe()  # a participant that joins after the respawn
            try:
                res["new_subscriber"] = ok_spawn and wait_until(lambda: fresh.skeleton_arrays >= 1, left())
                res["node_listed"] = ok_spawn and wait_until(
                    lambda: (ESTIMATOR, "/pose") in fresh.node.get_node_names_and_namespaces(), left())
                res["lifecycle"] = get_state(fresh, left()) if ok_spawn else None
            finally:
                fresh.close()
            if opts.cli:
                res["cli"], res["cli_output"] = cli_check(max(10.0, left()))
            checks = ("old_subscriber", "existing_node_subscriber", "new_subscriber", "node_listed")
            res["ok"] = bool(ok_spawn and all(res[c] for c in checks) and res["lifecycle"] == "active"
                             and res.get("cli", True))
            results.append(res)
            print(json.dumps(res), flush=True)
            if not res["ok"]:
                keep = work / f"failed_kill{k + 1}"
                keep.mkdir()
                (keep / "dev_shm.txt").write_text("\n".join(sorted(os.listdir("/dev/shm"))))
                shutil.copy(log, keep / "graph.log")
                if not wait_until(lambda: after(probe.skel_t) >= 3, opts.serve_timeout):
                    print(f"kill {k + 1}: still deaf {2 * opts.serve_timeout:g} s after the kill", flush=True)
    finally:
        probe.close()
        code = stop_process(graph, timeout=30)
        _end_group(graph.pid)
    text = log.read_text()
    return {"path": opts.path, "range": opts.range, "busy": opts.busy, "kills": len(results),
            "passed": sum(r["ok"] for r in results), "stop_exit_code": code,
            "bad_output": [b for b in BAD_OUTPUT if b in text and b != "process has died"],
            "seconds": round(time.monotonic() - t0), "results": results, "log": str(log)}


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the whole group is gone already
        pass


def _exited(proc: subprocess.Popen, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``proc`` to end; True if it did."""
    try:
        proc.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def sigint_trials(opts, work: Path, clip: Path, params: Path) -> dict:
    """Double Ctrl-C to the whole process group at random moments; every node must exit 0, silently."""
    from pose_ros.procs import start_process
    trials = []
    for i in range(opts.sigint_trials):
        log = work / f"sigint{i}.log"
        proc = start_process(graph_command(opts.path, clip, params, opts, False), log)
        first = random.uniform(0.5, 8.0)
        gap = random.uniform(0.5, 8.0) if opts.long_gaps else random.uniform(0.0, 1.5)
        _exited(proc, first)
        ready = "activate: done" in log.read_text()
        _signal_group(proc.pid, signal.SIGINT)
        if not _exited(proc, gap):
            _signal_group(proc.pid, signal.SIGINT)
        if not _exited(proc, 40):
            _signal_group(proc.pid, signal.SIGKILL)
        code = proc.wait()
        _end_group(proc.pid)
        text = log.read_text()
        died = re.findall(r"process has died \[pid \d+, exit code (-?\d+)", text)
        bad = [b for b in BAD_OUTPUT if b in text]
        res = {"trial": i, "first_s": round(first, 2), "gap_s": round(gap, 2), "serving": ready,
               "exit_code": code, "nodes_died": died, "bad_output": bad,
               "ok": not bad and (code == 0 or (opts.path == "launch" and code in (-2, 130)))}
        trials.append(res)
        print(json.dumps(res), flush=True)
    return {"path": opts.path, "range": opts.range, "trials": len(trials), "passed": sum(t["ok"] for t in trials),
            "results": trials}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", choices=("run", "launch"), required=True)
    ap.add_argument("--range", choices=("localhost", "default"), default="localhost")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--busy", type=int, default=0, help="cores kept busy beside the graph")
    ap.add_argument("--backend", default="movenet")
    ap.add_argument("--delay", type=float, default=2.0, help="respawn_delay")
    ap.add_argument("--serve-timeout", type=float, default=30.0, help="seconds from a kill to serving again")
    ap.add_argument("--cli", action="store_true", help="also ask `ros2 node list` / `ros2 lifecycle get`")
    ap.add_argument("--sigint-trials", type=int, default=0)
    ap.add_argument("--long-gaps", action="store_true", help="second SIGINT 0.5-8 s after the first")
    ap.add_argument("--arg", action="append", default=[], help="another name:=value for the graph")
    ap.add_argument("--video", type=Path, help="clip to loop (default: the demo video, 640x480)")
    ap.add_argument("--domain", type=int, default=100 + os.getpid() % 100)
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--json", type=Path)
    opts = ap.parse_args()
    random.seed(opts.seed)
    setup_env(opts.range, opts.domain)
    sys.path.insert(0, str(HERE))
    from soak import make_clip

    work = Path(tempfile.mkdtemp(prefix=f"respawn_{opts.path}_{opts.range}_"))
    clip = opts.video or make_clip(work)
    params = work / "loop.yaml"
    params.write_text("/**/video_source:\n  ros__parameters:\n    loop: true\n")
    busy = [subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]) for _ in range(opts.busy)]
    try:
        out = sigint_trials(opts, work, clip, params) if opts.sigint_trials else kill_loop(opts, work, clip, params)
    finally:
        for b in busy:
            b.kill()
            b.wait()
        if opts.cli:
            subprocess.run(["ros2", "daemon", "stop"], capture_output=True, timeout=30)
    out.update(domain=opts.domain, workdir=str(work))
    summary = {k: v for k, v in out.items() if k != "results"}
    print(json.dumps(summary), flush=True)
    if opts.json:
        opts.json.write_text(json.dumps(out, indent=1))
    total = out.get("kills", out.get("trials"))
    clean_stop = out.get("stop_exit_code", 0) == 0 and not out.get("bad_output")
    return 0 if out["passed"] == total and clean_stop else 1


if __name__ == "__main__":
    sys.exit(main())
