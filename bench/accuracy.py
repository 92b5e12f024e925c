#!/usr/bin/env python3
"""Keypoint accuracy of the pose backends on the third-party photos in ../shared/eval.

COCO-style keypoint AP (pycocotools) per dataset and backend, plus the fraction of
annotated people that some detection matches with OKS >= 0.5 (a backend that
misses people is worse for a robot than one with slightly loose joints, and AP
hides that). ``coco-val-mini`` (79 ordinary COCO val2017 photos, 32 of them with
people: the set that judges keypoint accuracy; photos without people count, as
false positives there lower AP), ``coco17`` and ``ochuman`` are scored on all 17 COCO joints;
``crowdpose`` and ``posetrack18`` only on the 12 limb joints they share with
COCO-17 (shoulders, elbows, wrists, hips, knees, ankles), with the COCO sigmas of
those joints. The photos are few: quote the counts and treat small differences
as noise.

Usage: python bench/accuracy.py [BACKEND[:key=value,...] ...] [--shared PATH] [--datasets NAME,...]
e.g.   python bench/accuracy.py movenet movenet:input_size=384 topdown thunder thunder:flip=true
       python bench/accuracy.py yolo yolo:input_size=960 --datasets coco-val-mini   (after `make yolo`)
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pose_ros.core.detection import BackendError, create_backend
from pose_ros.core.skeleton import COCO17_SIGMAS, Person

LIMBS = list(range(5, 17))  # COCO-17 indices of the 12 limb joints
DEFAULT_BACKENDS = ["thunder", "thunder:min_box_score=0.1,flip=true", "thunder:pose_model=lightning", "movenet",
                    "topdown", "mediapipe"]


@dataclass
class Dataset:
    """One evaluation set: images, COCO-format ground truth and the joints scored."""

    name: str
    root: Path                 # image paths are relative to this
    gt: dict                   # COCO dict with keypoints already reduced to `joints`
    joints: list[int]          # COCO-17 indices scored, in GT keypoint order
    sigmas: np.ndarray = field(default_factory=lambda: COCO17_SIGMAS)


def default_shared() -> Path:
    return REPO.parent / "shared"


def require_eval(shared: Path, tag: str) -> bool:
    """True when ``shared/eval`` exists; otherwise say so (benchmarks need ../shared)."""
    if (shared / "eval").is_dir():
        return True
    print(f"[{tag}] evaluation data not found: {shared / 'eval'} is missing; "
          "pass --shared PATH (the folder that contains eval/)", file=sys.stderr)
    return False


def _reduce_gt(raw: dict, gt_idx: list[int], joints: list[int]) -> dict:
    """Copy of a COCO GT dict keeping only keypoints ``gt_idx`` (which mean COCO ``joints``)."""
    anns = []
    for a in raw["annotations"]:
        k = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)[gt_idx]
        x, y, w, h = a["bbox"]
        area = a.get("area") or w * h * 0.53  # COCO-like segment area when only a box is given
        anns.append({
            "id": int(a["id"]), "image_id": a["image_id"], "category_id": 1,
            "bbox": [x, y, w, h], "area": float(area), "iscrowd": int(bool(a.get("iscrowd", 0))),
            "keypoints": k.reshape(-1).tolist(), "num_keypoints": int((k[:, 2] > 0).sum()),
            "track_id": a.get("track_id"),
        })
    images = [{k: v for k, v in im.items() if k in ("id", "file_name", "width", "height")}
              for im in raw["images"]]
    names = raw["categories"][0]["keypoints"]
    return {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": [names[i] for i in gt_idx],
                            "skeleton": []}]}


def load_datasets(shared: Path, only: set[str] | None = None) -> list[Dataset]:
    """The keypoint sets in ``shared/eval`` (missing ones are skipped with a message)."""
    ev = shared / "eval"
    specs = [
        ("coco-val-mini", ev / "coco-val-mini/images", ev / "coco-val-mini/annotations.json",
         list(range(17)), list(range(17))),
        ("coco17", ev / "coco17", ev / "coco17/test_coco.json", list(range(17)), list(range(17))),
        ("ochuman", ev / "ochuman", ev / "ochuman/test_ochuman.json", list(range(17)), list(range(17))),
        ("crowdpose", ev / "crowdpose", ev / "crowdpose/test_crowdpose.json", list(range(12)), LIMBS),
        ("posetrack18", ev / "posetrack18", ev / "posetrack18/annotations/test_posetrack18_val.json",
         list(range(5, 17)), LIMBS),
    ]
    out = []
    for name, root, gt_path, gt_idx, joints in specs:
        if only and name not in only:
            continue
        if not gt_path.is_file():
            print(f"[accuracy] {name}: {gt_path} missing, skipped", file=sys.stderr)
            continue
        raw = json.loads(gt_path.read_text())
        out.append(Dataset(name, root, _reduce_gt(raw, gt_idx, joints), joints,
                           COCO17_SIGMAS[joints]))
    return out


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """'name:key=value,key=value' -> (name, options); values parsed as int/float/bool/str."""
    name, _, rest = spec.partition(":")
    opts: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, val = item.partition("=")
        low = val.lower()
        if low in ("true", "false"):
            opts[key] = low == "true"
            continue
        for conv in (int, float):
            try:
                opts[key] = conv(val)
                break
            except ValueError:
                pass
        else:
            opts[key] = val
    return name, opts


# Options applied unless the spec sets them: the eval photos are unrelated stills, so a
# backend that tracks between frames must not carry a person over from the last photo.
PHOTO_OPTIONS: dict[str, dict[str, Any]] = {"mediapipe": {"static_image_mode": True}}


def make_backend(spec: str, defaults: dict[str, dict[str, Any]] | None = None):
    """Create a backend from a spec, or print why not and return None."""
    name, opts = parse_spec(spec)
    opts = {**(defaults or {}).get(name, {}), **opts}
    try:
        return create_backend(name, **opts)
    except (BackendError, TypeError, ImportError) as exc:
        print(f"[skip] {spec}: {exc}", file=sys.stderr)
        return None


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def to_dets(people: list[Person], image_id: Any, joints: list[int]) -> list[dict]:
    """COCO result records; an undetected joint (NaN) is put at (0, 0), i.e. scored as a miss."""
    dets = []
    for p in people:
        k = np.nan_to_num(np.asarray(p.keypoints, dtype=np.float64)[joints], nan=0.0)
        k[:, 2] = 1.0
        dets.append({"image_id": image_id, "category_id": 1, "keypoints": k.reshape(-1).tolist(),
                     "score": float(p.score)})
    return dets


def evaluate(ds: Dataset, dets: list[dict]) -> dict[str, Any]:
    """AP, AP50 and OKS>=0.5 people recall; also returns the per-GT match for extra checks."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    n_gt = sum(1 for a in ds.gt["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"])
    result = {"images": len(ds.gt["images"]), "gt": n_gt, "dets": len(dets),
              "AP": 0.0, "AP50": 0.0, "recall": 0.0, "matched": {}}
    if not dets:
        return result
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = json.loads(json.dumps(ds.gt))
        coco.createIndex()
        res = coco.loadRes(dets)
        ev = COCOeval(coco, res, "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(ds.sigmas, dtype=np.float64)
        ev.params.imgIds = [im["id"] for im in ds.gt["images"]]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    result["AP"], result["AP50"] = float(ev.stats[0]), float(ev.stats[1])
    # Greedy matching by score at OKS >= 0.5, as COCOeval does, to count found people.
    for img_id in ev.params.imgIds:
        gts = [g for g in coco.imgToAnns[img_id]]
        ious = ev.ious.get((img_id, 1))
        if ious is None or len(ious) == 0 or not gts:
            continue
        ious = np.asarray(ious)  # (dets sorted by score desc) x (gts in coco order)
        used: set[int] = set()
        for d in range(ious.shape[0]):
            best, best_g = 0.5, -1
            for g in range(ious.shape[1]):
                if g in used or gts[g]["num_keypoints"] == 0:
                    continue
                if ious[d, g] >= best:
                    best, best_g = ious[d, g], g
            if best_g >= 0:
                used.add(best_g)
                result["matched"][gts[best_g]["id"]] = float(best)
    result["recall"] = len(result["matched"]) / max(1, n_gt)
    return result


# PoseTrack18 people whose whole body is in frame: the dancing couple in 009473 (tracks 0, 1)
# and the two people of 012834 with all 12 limb joints annotated (tracks 3 and 10).
VISIBLE_CHECK = {"009473_mpii_test": (0, 1), "012834_mpii_test": (3, 10)}


def visible_check(ds: Dataset, matched: dict) -> tuple[int, int]:
    """How many of the VISIBLE_CHECK people were found (OKS >= 0.5)."""
    names = {im["id"]: im["file_name"] for im in ds.gt["images"]}
    want = [a for a in ds.gt["annotations"]
            if any(seq in names[a["image_id"]] and a["track_id"] in tracks
                   for seq, tracks in VISIBLE_CHECK.items())]
    return sum(1 for a in want if a["id"] in matched), len(want)


def well_visible_check(ds: Dataset, matched: dict, min_joints: int = 10, per_frame: int = 6) -> tuple[int, int]:
    """Issue 13's PoseTrack goal: of the people with ``min_joints`` or more labelled joints (of
    the joints scored), how many were found (OKS >= 0.5), counting at most ``per_frame`` per
    photo (the old MoveNet MultiPose ceiling of 6, so that the goal compares like with like)."""
    found: dict[Any, int] = {}
    total = 0
    for a in ds.gt["annotations"]:
        if a["iscrowd"] or a["num_keypoints"] < min_joints:
            continue
        total += 1
        if a["id"] in matched:
            found[a["image_id"]] = found.get(a["image_id"], 0) + 1
    return sum(min(n, per_frame) for n in found.values()), total


def run_backend(backend, ds: Dataset) -> tuple[list[dict], float]:
    """Detections for every image of ``ds`` and the mean inference time in ms."""
    dets, times = [], []
    reset = getattr(backend, "reset", None)  # unrelated photos: no state carried between them
    for im in ds.gt["images"]:
        rgb = read_rgb(ds.root / im["file_name"])
        if reset is not None:
            reset()
        t0 = time.perf_counter()
        people = backend.infer(rgb)
        times.append(time.perf_counter() - t0)
        dets += to_dets(people, im["id"], ds.joints)
    return dets, 1e3 * float(np.mean(times)) if times else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("backends", nargs="*", default=DEFAULT_BACKENDS,
                    help="backend specs, e.g. movenet or movenet:input_size=384")
    ap.add_argument("--shared", type=Path, default=default_shared(),
                    help="folder holding eval/ (default: ../shared next to the repository)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--datasets", default="", help="comma-separated subset, e.g. coco-val-mini,coco17")
    args = ap.parse_args(argv)

    if not require_eval(args.shared, "accuracy"):
        return 2
    datasets = load_datasets(args.shared, set(filter(None, args.datasets.split(","))) or None)
    print(f"[accuracy] data: {args.shared / 'eval'}")
    rows, checks = [], []
    for spec in args.backends:
        backend = make_backend(spec, PHOTO_OPTIONS)
        if backend is None:
            continue
        for ds in datasets:
            dets, ms = run_backend(backend, ds)
            r = evaluate(ds, dets)
            rows.append({"dataset": ds.name, "backend": spec, "joints": len(ds.joints), "ms": ms,
                         **{k: v for k, v in r.items() if k != "matched"}})
            if ds.name == "posetrack18":
                found, total = visible_check(ds, r["matched"])
                found10, total10 = well_visible_check(ds, r["matched"])
                checks.append((spec, found, total, found10, total10))
        backend.close()

    bw = max([len(r["backend"]) for r in rows] + [8])
    header = (f"{'dataset':<13} {'backend':<{bw}} {'joints':>6} {'AP':>6} {'AP50':>6} {'recall':>7} "
              f"{'found/GT':>8} {'dets':>5} {'imgs':>4} {'ms/img':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        found = f"{round(r['recall'] * r['gt'])}/{r['gt']}"
        print(f"{r['dataset']:<13} {r['backend']:<{bw}} {r['joints']:>6} {r['AP']:>6.3f} {r['AP50']:>6.3f} "
              f"{r['recall']:>7.2f} {found:>8} {r['dets']:>5} {r['images']:>4} {r['ms']:>7.1f}")
    if checks:
        print("\nposetrack18 people found: fully visible (009473 tracks 0,1 + 012834 tracks 3,10) | "
              "with >= 10 labelled limb joints, at most 6 counted per frame (goal: 7 of 9)")
        for spec, found, total, found10, total10 in checks:
            print(f"  {spec:<{bw}} {found}/{total} | {found10}/{total10}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "visible_check": checks}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
