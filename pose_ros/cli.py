"""`pose-ros`: the umbrella command (run the graph, demo, bags)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_run(rest: list[str]) -> int:
    from pose_ros.runner import parse_launch_style, run
    if rest and rest[0] in ("-h", "--help"):
        from pose_ros.graph import LAUNCH_ARGUMENTS
        print("usage: pose-ros run [name:=value ...]   (the arguments of pose.launch.py)\n")
        for k, a in LAUNCH_ARGUMENTS.items():
            choices = f" (one of: {a.choices_text()})" if a.choices else ""
            print(f"  {k}:={a.default!s:<20} {a.description}{choices}")
        return 0
    try:
        args = parse_launch_style(rest)
    except ValueError as exc:
        print(f"pose-ros run: {exc}", file=sys.stderr)
        return 2
    return run(args)


def _cmd_demo(rest: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="pose-ros demo", description="Run the graph on the demo video.")
    ap.add_argument("--video", default="", help="video file (default: the Sports2D demo video)")
    ap.add_argument("--out", default="demo_output", help="output folder")
    ap.add_argument("--backend", default="thunder")
    ap.add_argument("--no-actions", action="store_true", help="do not start action_classifier")
    ap.add_argument("--max-width", type=int, default=960, help="downscale wider frames (0 = keep)")
    a = ap.parse_args(rest)
    video = a.video
    if not video:
        from pose_ros.training.demo_media import demo_video_path
        video = str(demo_video_path())
    from pose_ros.demo import run_demo
    return run_demo(video, Path(a.out), backend=a.backend, actions=not a.no_actions,
                    max_width=a.max_width)


def _cmd_bag(rest: list[str]) -> int:
    from pose_ros.bag.cli import main as bag_main
    return bag_main(rest)


def _cmd_train(rest: list[str]) -> int:
    from pose_ros.training.train import train_main
    return train_main(rest)


def _cmd_dataset(rest: list[str]) -> int:
    from pose_ros.training.dataset import dataset_main
    return dataset_main(rest)


COMMANDS = {"run": _cmd_run, "demo": _cmd_demo, "bag": _cmd_bag, "train": _cmd_train, "dataset": _cmd_dataset}


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["run"]:  # the process is `pose-ros run`: a node process
        from pose_ros import shutdown
        shutdown.install()  # before the graph's imports (see pose_ros/shutdown.py)
        shutdown.finish(_cmd_run(sys.argv[2:]))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: pose-ros {" + ",".join(COMMANDS) + "} ...", file=sys.stderr if argv else sys.stdout)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
