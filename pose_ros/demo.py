"""`pose-ros demo`: the full graph on the demo video, every frame, with a summary.

video_source -> pose_estimator (-> action_classifier) runs exactly as `pose-ros run`
would start it; a recorder node subscribes like any user node would and writes
``demo_output/annotated.mp4`` and ``demo_output/skeletons.jsonl``.
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from pose_ros.runner import run


def _clean(v: float) -> float | None:
    return None if not math.isfinite(v) else round(v, 2)


def skeleton_record(msg, frame: int) -> dict:
    """One JSON line: stamp, image size and every person with keypoints [x, y, score] (null = missing)."""
    return {
        "frame": frame,
        "stamp": msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9,
        "width": msg.image_width, "height": msg.image_height,
        "people": [{
            "id": s.id, "state": s.track_state, "score": round(s.score, 3),
            "box": [_clean(v) for v in (s.x_min, s.y_min, s.x_max, s.y_max)],
            "keypoints": [[_clean(k.x), _clean(k.y), round(k.score, 3)] for k in s.keypoints],
        } for s in msg.skeletons],
    }


def make_recorder(out_dir: Path, fps: float):
    """A node that writes what /pose publishes: JSON lines of skeletons and an mp4 of annotated images."""
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    from pose_ros.msg import ActionArray, SkeletonArray
    from pose_ros.nodes.conversions import image_msg_to_rgb
    from pose_ros.nodes.qos import OUT_QOS

    class DemoRecorder(Node):
        def __init__(self) -> None:
            super().__init__("demo_recorder")
            out_dir.mkdir(parents=True, exist_ok=True)
            self.log = open(out_dir / "skeletons.jsonl", "w")
            self.video_path = out_dir / "annotated.mp4"
            self.writer = None
            self.frames = 0
            self.annotated = 0
            self.people = Counter()
            self.actions: Counter = Counter()
            self.create_subscription(SkeletonArray, "/pose/skeletons", self.on_skeletons, OUT_QOS)
            self.create_subscription(Image, "/pose/image_annotated", self.on_image, OUT_QOS)
            self.create_subscription(ActionArray, "/pose/actions", self.on_actions, OUT_QOS)

        def on_skeletons(self, msg) -> None:
            self.log.write(json.dumps(skeleton_record(msg, self.frames)) + "\n")
            self.people[len(msg.skeletons)] += 1
            self.frames += 1

        def on_actions(self, msg) -> None:
            for a in msg.actions:
                self.actions[a.label] += 1

        def on_image(self, msg) -> None:
            bgr = image_msg_to_rgb(msg)[:, :, ::-1]
            if self.writer is None:
                self.writer = cv2.VideoWriter(str(self.video_path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                              (msg.width, msg.height))
            self.writer.write(np.ascontiguousarray(bgr))
            self.annotated += 1

        def destroy_node(self) -> None:
            self.log.close()
            if self.writer is not None:
                self.writer.release()
            super().destroy_node()

    return DemoRecorder()


def run_demo(video: str, out_dir: Path, backend: str = "thunder", actions: bool = True, max_width: int = 960) -> int:
    """Process every frame of ``video`` through the graph; print a summary; 0 on success."""
    from pose_ros.core.imaging.video import FrameSource, SourceError

    try:
        src = FrameSource(video)
        fps, total = src.fps, src.frame_count
        src.close()
    except SourceError as exc:
        print(f"pose-ros demo: {exc}")
        return 2
    holder: dict = {}
    t0 = time.monotonic()

    def extra_nodes() -> list:
        holder["rec"] = make_recorder(out_dir, fps)
        return [holder["rec"]]

    def done(nodes: list) -> bool:
        vs = next(n for n in nodes if n.get_name() == "video_source")
        rec = holder["rec"]
        if not vs.finished.is_set():
            holder["t_end"] = None
            return False
        holder.setdefault("t_end", None)
        if holder["t_end"] is None:
            holder["t_end"] = time.monotonic()
        # The last result arrived (lock-step); give the annotated image a moment.
        return rec.frames >= vs.published or time.monotonic() - holder["t_end"] > 3.0

    # 960 wide: what a typical robot camera gives (the file is 1768x994).
    # Media-time stamps: the output (skeletons.jsonl) is the same on every run.
    extra = {"video_source": {"stamp_source": "media", "rate": 0.0, "wait_for": "/pose/skeletons",
                              "wait_timeout": 10.0, "max_width": max_width},
             "pose_estimator": {"image_reliability": "reliable"}}
    nodes_ref: dict = {}

    def until(nodes: list) -> bool:
        if not nodes_ref:
            nodes_ref.update({n.get_name(): n for n in nodes})
        return done(nodes)

    code = run({"video": video, "backend": backend, "actions": str(actions).lower()}, extra=extra, until=until,
               extra_nodes=extra_nodes)
    wall = time.monotonic() - t0
    rec = holder.get("rec")
    if code != 0 or rec is None:
        return code or 1
    est = nodes_ref.get("pose_estimator")
    n = max(rec.frames, 1)
    with_people = sum(c for k, c in rec.people.items() if k > 0)
    print(f"pose-ros demo: {video}")
    print(f"  frames: {rec.frames} processed of {total} in the video, {rec.annotated} annotated")
    print("  people per frame: " + ", ".join(f"{k}: {v} frames" for k, v in sorted(rec.people.items()))
          + f"  (someone found in {100.0 * with_people / n:.0f}% of frames)")
    print(f"  fps: {rec.frames / wall:.1f} end to end (wall {wall:.1f} s, includes start-up)")
    if est is not None and est.stats["processed"]:
        tot = est.stage_totals
        k = est.stats["processed"]
        print("  per frame: " + ", ".join(f"{s} {1000 * v / k:.1f} ms" for s, v in tot.items()))
    vs = nodes_ref.get("video_source")
    if vs is not None and vs.published:
        print(f"  video_source waited {1000 * vs.wait_total / vs.published:.1f} ms per frame for the result")
    if rec.actions:
        print("  actions: " + ", ".join(f"{k} {v}" for k, v in rec.actions.most_common()))
    print(f"  wrote {out_dir / 'annotated.mp4'} and {out_dir / 'skeletons.jsonl'}")
    return 0 if rec.frames > 0 else 1
