"""`pose-ros bag ...`: make test bags from videos, inspect, play and record rosbag2 bags.

Exit codes: 0 ok, 2 bad input (missing bag, unknown topic or type; one line on stderr).
"""
from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2


def _remaps(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        src, sep, dst = item.partition(":=")
        if not sep or not src or not dst:
            raise argparse.ArgumentTypeError(f"bad remap {item!r}: expected FROM:=TO")
        out[src] = dst
    return out


def build_parser(prog: str = "pose-ros bag") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("from-video", help="write a video file or image folder as an Image bag")
    p.add_argument("video")
    p.add_argument("out", help="new bag directory")
    p.add_argument("--topic", default="/camera/image_raw", help="image topic; CameraInfo goes to <dir>/camera_info")
    p.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    p.add_argument("--fps", type=float, default=0.0, help="frame rate to assume; 0 = from the file")
    p.add_argument("--max-width", type=int, default=0, help="downscale wider frames; 0 = keep")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames; 0 = all")
    p.add_argument("--frame-id", default="camera")
    p.add_argument("--stamp-offset", type=float, default=0.0, help="seconds added to the media time")
    p.add_argument("--no-camera-info", action="store_true")

    p = sub.add_parser("play", help="publish a bag into the ROS graph")
    p.add_argument("bag")
    p.add_argument("--rate", type=float, default=1.0, help="speed factor; 0 = as fast as possible")
    p.add_argument("--clock", action="store_true", help="publish /clock from the bag time (for use_sim_time)")
    p.add_argument("--topics", nargs="+", default=None, help="only these bag topics")
    p.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO", help="publish bag topic FROM on TO")
    p.add_argument("--loop", action="store_true")
    p.add_argument("--start-delay", type=float, default=0.0, help="seconds to wait before the first message")
    p.add_argument("--wait-for-subscribers", type=float, default=5.0, metavar="S",
                   help="wait up to S seconds for subscribers before starting; 0 = don't wait")
    p.add_argument("--wait-for", default="", metavar="TOPIC",
                   help="lock-step: after each colour image (not depth: 16UC1/32FC1) wait for a message "
                        "with its stamp on TOPIC (e.g. /pose/skeletons), so every frame is processed")
    p.add_argument("--wait-timeout", type=float, default=10.0, help="seconds to wait per frame with --wait-for")

    p = sub.add_parser("record", help="record live topics to a new bag")
    p.add_argument("out", help="new bag directory")
    p.add_argument("--topics", nargs="+", required=True)
    p.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    p.add_argument("--duration", type=float, default=None, help="seconds; default until Ctrl-C")
    p.add_argument("--max-messages", type=int, default=None)
    p.add_argument("--discovery-timeout", type=float, default=5.0,
                   help="seconds to wait for the topics to appear in the graph")

    p = sub.add_parser("info", help="print a bag's metadata")
    p.add_argument("bag")
    return ap


def run(args: argparse.Namespace) -> int:
    from pose_ros import bag

    if args.cmd == "from-video":
        n = bag.from_video(args.video, args.out, topic=args.topic, storage=args.storage, fps=args.fps,
                           max_width=args.max_width, stamp_offset=args.stamp_offset, frame_id=args.frame_id,
                           camera_info=not args.no_camera_info, max_frames=args.max_frames)
        print(f"wrote {n} frames to {args.out}")
    elif args.cmd == "info":
        print(bag.format_info(bag.info(args.bag)))
    elif args.cmd == "play":
        try:
            remaps = _remaps(args.remap)
        except argparse.ArgumentTypeError as exc:
            raise bag.BagError(str(exc)) from None
        counts = bag.play(args.bag, rate=args.rate, clock=args.clock, topics=args.topics, remaps=remaps,
                          loop=args.loop, start_delay=args.start_delay,
                          wait_for_subscribers_s=args.wait_for_subscribers, wait_for=args.wait_for,
                          wait_timeout=args.wait_timeout)
        print("published " + ", ".join(f"{t}: {n}" for t, n in counts.items()))
    elif args.cmd == "record":
        counts = bag.record(args.out, args.topics, storage=args.storage, duration=args.duration,
                            max_messages=args.max_messages, discovery_timeout=args.discovery_timeout)
        print(f"recorded to {args.out}: " + ", ".join(f"{t}: {n}" for t, n in counts.items()))
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None, prog: str = "pose-ros bag") -> int:
    import signal
    import threading

    from pose_ros.bag import BagError
    from pose_ros.malloc import keep_large_buffers

    if threading.current_thread() is threading.main_thread():
        keep_large_buffers()   # a player publishes camera frames: reuse their buffers (pose_ros.malloc)
        signal.signal(signal.SIGTERM, _interrupt)   # stop like Ctrl-C: a recording still gets its metadata

    try:
        args = build_parser(prog).parse_args(argv)
    except SystemExit as exc:   # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return run(args)
    except BagError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
