#!/usr/bin/env python3
"""Large bgr8 images across processes: frames delivered with and without the large-frame profile.

With the Fast DDS defaults of the PyPI wheels a 640x480 bgr8 image (920 KB) does not
fit the publisher's default 512 KB shared-memory segment and many frames are lost;
config/fastdds_large_frames.xml (32 MB SHM segment, 4 MB UDP buffers) fixes that.
This measures it. Per cell a subscriber process and a publisher process are started
on a ROS domain of their own (201..231), discovery on this host only
(ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST). Both call ``use_large_frame_profile()``
like our node executables, so the profile is switched per side with
POSE_ROS_NO_DDS_PROFILE=1 (and FASTRTPS_DEFAULT_PROFILES_FILE unset):

  profile  off  = neither side, pub = the publishing side only (what pose_ros does for
           its own publishers), both = publisher and subscriber.

Publishing starts only once both sides are matched (the publisher's
get_subscription_count() and the subscriber's get_publisher_count()), then ``--frames``
images go out at ``--rate`` Hz (keep last, depth 10, best effort or reliable; reliable
then waits up to 3 s for acks). Latency = receive wall time - header stamp (wall time
at publish), over the delivered frames.

Usage: python bench/transport.py [--frames 300] [--rate 30] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}
QOS = ("best_effort", "reliable")
MODES = ("off", "pub", "both")
TOPIC = "/bench/transport/image"
DEPTH = 10
MATCH_TIMEOUT = 20.0


def _qos(name: str):
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    rel = ReliabilityPolicy.RELIABLE if name == "reliable" else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=DEPTH, reliability=rel)


def _init_ros():
    from pose_ros.paths import use_large_frame_profile
    use_large_frame_profile()   # as our node executables do; off with POSE_ROS_NO_DDS_PROFILE=1
    import rclpy
    rclpy.init(args=[])
    return rclpy


def _wait_stdin(word: str) -> None:
    for line in sys.stdin:
        if line.strip() == word:
            return


def child_pub(a) -> int:
    from array import array

    rclpy = _init_ros()
    from rclpy.duration import Duration
    from sensor_msgs.msg import Image

    node = rclpy.create_node("bench_transport_pub")
    pub = node.create_publisher(Image, TOPIC, _qos(a.qos))
    end = time.monotonic() + MATCH_TIMEOUT
    while pub.get_subscription_count() < 1 and time.monotonic() < end:
        time.sleep(0.02)
    print("MATCHED" if pub.get_subscription_count() else "NOMATCH", flush=True)
    _wait_stdin("go")
    msg = Image(height=a.height, width=a.width, encoding="bgr8", is_bigendian=0, step=a.width * 3)
    size = a.width * a.height * 3
    msg.data = array("B", (bytes(range(256)) * (size // 256 + 1))[:size])   # the fast path: no list
    period = 1.0 / a.rate
    t0 = time.monotonic()
    pub_ms = []
    for i in range(a.frames):
        delay = t0 + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        msg.header.frame_id = str(i)
        sec, nsec = divmod(time.time_ns(), 10**9)
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
        t = time.perf_counter()
        pub.publish(msg)
        pub_ms.append((time.perf_counter() - t) * 1e3)
    acked = pub.wait_for_all_acked(Duration(seconds=3.0)) if a.qos == "reliable" else None
    pub_ms.sort()
    print(json.dumps({"sent": a.frames, "acked": acked, "seconds": round(time.monotonic() - t0, 2),
                      "publish_ms_median": round(pub_ms[len(pub_ms) // 2], 2),
                      "publish_ms_max": round(pub_ms[-1], 2)}), flush=True)
    _wait_stdin("exit")
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def child_sub(a) -> int:
    rclpy = _init_ros()
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from pose_ros.spin import BackgroundSpin

    node = rclpy.create_node("bench_transport_sub")
    lat_ms: dict[int, float] = {}
    bad = [0]
    size = a.width * a.height * 3

    def on_image(msg: Image) -> None:
        now = time.time_ns()
        if len(msg.data) != size:
            bad[0] += 1
            return
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        lat_ms.setdefault(int(msg.header.frame_id), (now - stamp) / 1e6)

    sub = node.create_subscription(Image, TOPIC, on_image, _qos(a.qos))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = BackgroundSpin(executor)
    end = time.monotonic() + MATCH_TIMEOUT
    while sub.get_publisher_count() < 1 and time.monotonic() < end:
        time.sleep(0.02)
    print("MATCHED" if sub.get_publisher_count() else "NOMATCH", flush=True)
    _wait_stdin("stop")
    lats = sorted(lat_ms.values())
    print(json.dumps({"received": len(lats), "bad": bad[0],
                      "median_ms": lats[len(lats) // 2] if lats else None,
                      "p95_ms": lats[min(len(lats) - 1, int(0.95 * len(lats)))] if lats else None}), flush=True)
    spinner.stop()   # stop spinning before the node and context go away (else rcl aborts)
    executor.shutdown(timeout_sec=1.0)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


class Child:
    """A bench child process; its stdout lines come through a queue."""

    def __init__(self, role: str, env: dict, a, width: int, height: int, qos: str) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--width", str(width),
               "--height", str(height), "--qos", qos, "--frames", str(a.frames), "--rate", str(a.rate)]
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def line(self, timeout: float) -> str | None:
        """The next stdout line that is not log output, or None (timeout or exit)."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if line in ("MATCHED", "NOMATCH") or line.startswith("{"):
                return line
        return None

    def send(self, word: str) -> None:
        try:
            self.proc.stdin.write(word + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def child_env(domain: int, profile: bool) -> dict:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               PYTHONUNBUFFERED="1")
    for k in ("ROS_LOCALHOST_ONLY", "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE",
              "POSE_ROS_NO_DDS_PROFILE"):
        env.pop(k, None)
    if not profile:
        env["POSE_ROS_NO_DDS_PROFILE"] = "1"
    return env


def run_cell(a, size: str, qos: str, mode: str, domain: int) -> dict:
    w, h = SIZES[size]
    row = {"image": size, "qos": qos, "profile": mode, "domain": domain}
    sub = Child("sub", child_env(domain, mode == "both"), a, w, h, qos)
    pub = Child("pub", child_env(domain, mode in ("pub", "both")), a, w, h, qos)
    try:
        m_pub, m_sub = pub.line(MATCH_TIMEOUT + 15), sub.line(MATCH_TIMEOUT + 15)
        if m_pub != "MATCHED" or m_sub != "MATCHED":
            row["error"] = f"not matched (pub: {m_pub}, sub: {m_sub})"
            pub.send("go")
            return row
        pub.send("go")
        done = pub.line(a.frames / a.rate + 30)
        if not done:
            row["error"] = "publisher did not finish"
            return row
        row.update(json.loads(done))
        time.sleep(1.0)   # the last frames in flight
        sub.send("stop")
        got = sub.line(15)
        if got:
            row.update(json.loads(got))
        else:
            row["error"] = "no result from the subscriber"
        return row
    finally:
        pub.send("exit")
        sub.send("stop")
        pub.close()
        sub.close()


def fmt(v, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[dict]) -> str:
    out = ["| image | QoS | profile | sent | delivered | delivered % | median ms | p95 ms |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r and "received" not in r:
            out.append(f"| {r['image']} | {r['qos']} | {r['profile']} | - | - | {r['error']} | - | - |")
            continue
        pct = 100.0 * r["received"] / r["sent"] if r["sent"] else 0.0
        out.append(f"| {r['image']} | {r['qos']} | {r['profile']} | {r['sent']} | {r['received']} | {pct:.0f} | "
                   f"{fmt(r['median_ms'])} | {fmt(r['p95_ms'])} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=None, help="frames per cell (default 300; 60 with --quick)")
    ap.add_argument("--rate", type=float, default=30.0, help="publish rate, Hz")
    ap.add_argument("--quick", action="store_true", help="60 frames per cell, profile off/pub only")
    ap.add_argument("--json", default="", help="also write the rows to this file")
    ap.add_argument("--role", choices=["pub", "sub"], help=argparse.SUPPRESS)
    ap.add_argument("--width", type=int, default=640, help=argparse.SUPPRESS)
    ap.add_argument("--height", type=int, default=480, help=argparse.SUPPRESS)
    ap.add_argument("--qos", choices=QOS, default="reliable", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.frames = a.frames or (60 if a.quick else 300)
    if a.role == "pub":
        return child_pub(a)
    if a.role == "sub":
        return child_sub(a)

    modes = MODES[:2] if a.quick else MODES
    cells = [(s, q, m) for s in SIZES for q in QOS for m in modes]
    print(f"{len(cells)} cells x {a.frames} frames at {a.rate:g} Hz, depth {DEPTH} keep last, "
          f"LOCALHOST discovery", file=sys.stderr)
    rows = []
    for i, (size, qos, mode) in enumerate(cells):
        domain = 201 + (os.getpid() + i) % 31
        row = run_cell(a, size, qos, mode, domain)
        rows.append(row)
        print(f"  {size} {qos} profile={mode}: {row.get('received', '-')}/{row.get('sent', '-')} "
              f"{row.get('error', '')}", file=sys.stderr, flush=True)
    print(table(rows))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
