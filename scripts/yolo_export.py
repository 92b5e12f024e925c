"""Export YOLO11n-pose to ONNX and record PyTorch's outputs to verify the export against.

Runs only inside the export tool venv that scripts/yolo_setup.sh builds (ultralytics,
torch); never in the package's venv, never at run time. The checkpoint is a pickle:
its sha256 is checked here again before anything unpickles it.

Usage: python yolo_export.py PT SHA256 OUTDIR   (OUTDIR holds input_*.npy from yolo_verify.py prepare)
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(pt: Path, expected: str, out: Path) -> int:
    actual = sha256(pt)
    if actual != expected:
        print(f"yolo_export: {pt} has sha256 {actual}, expected {expected}; refusing to unpickle it", file=sys.stderr)
        return 1
    os.environ["YOLO_OFFLINE"] = "1"   # ultralytics must not reach the network (no hub, no auto-install)
    import numpy as np
    import torch
    import ultralytics
    from ultralytics import YOLO

    work = out / "export"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    local_pt = work / pt.name          # ultralytics writes the export beside the .pt
    shutil.copyfile(pt, local_pt)
    model = YOLO(str(local_pt))
    # dynamic height/width: one file serves every aspect ratio (the backend letterboxes to
    # multiples of 32); nms=False because Ultralytics' NMS export needs torchvision.
    onnx_file = Path(model.export(format="onnx", imgsz=640, dynamic=True, simplify=False, opset=17,
                                  nms=False, batch=1, half=False))
    shutil.move(str(onnx_file), out / "yolo11n-pose.onnx")

    net = model.model.float().eval()
    refs = {}
    with torch.inference_mode():
        for inp in sorted(out.glob("input_*.npy")):
            x = torch.from_numpy(np.load(inp))
            y = net(x)
            y = y[0] if isinstance(y, (list, tuple)) else y
            ref = y.numpy().astype(np.float32)
            np.save(out / inp.name.replace("input_", "torch_"), ref)
            refs[inp.name] = list(ref.shape)
    if not refs:
        print(f"yolo_export: no input_*.npy in {out}", file=sys.stderr)
        return 1
    (out / "export.json").write_text(json.dumps({
        "ultralytics": ultralytics.__version__, "torch": torch.__version__, "pt_sha256": actual,
        "opset": 17, "dynamic": True, "reference_outputs": refs}, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    print(f"yolo_export: exported with ultralytics {ultralytics.__version__}, references {sorted(refs)}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
