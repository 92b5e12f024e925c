#!/usr/bin/env bash
# Set up .venv with ROS 2 Jazzy from PyPI, build msg/ into it and install pose_ros.
#
# Idempotent: each step leaves a stamp holding a hash of its inputs and is skipped
# when the hash is unchanged, so a second run with nothing changed takes seconds.
# When a step fails it says which one and why, and the script exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${POSE_ROS_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
STAMPS="$VENV/.pose_ros_stamps"
BUILD="$ROOT/build/venv_msgs"
LOG_DIR="$ROOT/build/setup_logs"
PIP_QUIET=(--quiet --disable-pip-version-check --no-input)

mkdir -p "$LOG_DIR"

step_fail() {  # $1 step name, $2 log file
    echo "setup: step '$1' FAILED. Last lines of $2:" >&2
    tail -n 25 "$2" >&2 || true
    case "$1" in
        venv) echo "setup: need CPython 3.11 with venv ($PY); set PYTHON=/path/to/python3.11" >&2 ;;
        ros-wheels|python-deps) echo "setup: pip could not install a pinned package; check that PyPI is reachable" >&2 ;;
        ros-msgs) echo "setup: CMake could not build ros_msgs/ (hri_msgs, tf2_msgs); needs cmake >= 3.8, g++ and the Python 3.11 headers" >&2 ;;
        messages) echo "setup: CMake could not build msg/; needs cmake >= 3.8, g++ and the Python 3.11 headers" >&2 ;;
        models) echo "setup: converting the pose models needs npm (apt-get install npm) and PyPI for its tool venv" >&2 ;;
        actions) echo "setup: training the default action model failed (pose-ros train); see the log above" >&2 ;;
    esac
    exit 1
}

# run_step NAME HASH-INPUTS... -- COMMAND...: run COMMAND unless NAME's stamp matches.
run_step() {
    local name="$1"; shift
    local inputs=()
    while [[ "$1" != "--" ]]; do inputs+=("$1"); shift; done
    shift
    local hash
    hash="$( { printf '%s\n' "$name" "$PY"; for f in "${inputs[@]}"; do
                 if [[ -e "$f" ]]; then cat "$f"; else printf '%s\n' "$f"; fi; done; } | sha256sum | cut -c1-16)"
    if [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$hash" ]]; then
        echo "setup: $name: up to date"
        return 0
    fi
    echo "setup: $name ..."
    local log="$LOG_DIR/$name.log"
    local t0=$SECONDS
    if ! "$@" >"$log" 2>&1; then step_fail "$name" "$log"; fi
    mkdir -p "$STAMPS"
    echo "$hash" >"$STAMPS/$name"
    echo "setup: $name done ($((SECONDS - t0)) s)"
}

step_venv() {
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install "${PIP_QUIET[@]}" --upgrade "pip>=24" wheel
}

step_ros_wheels() {
    "$VENV/bin/python" -m pip install "${PIP_QUIET[@]}" -r "$ROOT/requirements/ros.txt"
}

step_python_deps() {
    local pip=("$VENV/bin/python" -m pip install "${PIP_QUIET[@]}")
    "${pip[@]}" -r "$ROOT/requirements/python.txt"
    # Shipped model only: its own dependencies would pull TensorFlow.
    "${pip[@]}" --no-deps -r "$ROOT/requirements/nodeps.txt"
    # mediapipe drags in opencv-contrib-python 5.x, which overwrites cv2/ of the
    # headless 4.x wheel: remove it and put 4.x back (pip check then reports
    # mediapipe's opencv requirement as missing, harmlessly).
    "$VENV/bin/python" -m pip uninstall -y opencv-contrib-python opencv-python || true
    "$VENV/bin/python" -m pip uninstall -y opencv-python-headless
    "${pip[@]}" --no-deps "$(grep -E '^opencv-python-headless' "$ROOT/requirements/python.txt")"
    "$VENV/bin/python" -c "import cv2, numpy; assert cv2.__version__.startswith('4.'), cv2.__version__"
}

step_messages() {
    # The wheels' CMake exports name the build machine's Python and numpy include
    # dirs; point them at this venv's own.
    local pyinc npinc
    pyinc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    npinc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
    grep -rl --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" | while read -r f; do
        sed -i -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" \
               -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g" "$f"
    done
    rm -rf "$BUILD"
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DPOSE_ROS_MSGS_ONLY=ON -DCMAKE_INSTALL_PREFIX="$VENV" \
        -DPython3_EXECUTABLE="$VENV/bin/python" -DPYTHON_EXECUTABLE="$VENV/bin/python"
    cmake --build "$BUILD" -j 2
    cmake --install "$BUILD"
    # The generated package shares the name pose_ros with our editable source
    # package: drop its empty __init__.py and egg-info so the source package owns
    # the name and pkgutil.extend_path merges the generated msg/ into it.
    local site
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    rm -f "$site/pose_ros/__init__.py"
    rm -rf "$site"/pose_ros-*.egg-info
}

step_ros_msgs() {  # hri_msgs and tf2_msgs (not on PyPI): ros_msgs/*, built as step_messages builds msg/
    local pkg
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
    for pkg in hri_msgs tf2_msgs; do
        rm -rf "$ROOT/build/venv_$pkg"
        cmake -S "$ROOT/ros_msgs/$pkg" -B "$ROOT/build/venv_$pkg" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
            -DCMAKE_INSTALL_PREFIX="$VENV" \
            -DPython3_EXECUTABLE="$VENV/bin/python" -DPYTHON_EXECUTABLE="$VENV/bin/python"
        cmake --build "$ROOT/build/venv_$pkg" -j 2
        cmake --install "$ROOT/build/venv_$pkg"
    done
}

step_package() {
    "$VENV/bin/python" -m pip install "${PIP_QUIET[@]}" --no-deps --no-build-isolation \
        -e "$ROOT" --config-settings editable_mode=compat
}

step_demo_media() {
    "$VENV/bin/python" -m pose_ros.training.demo_media
}

step_models() {  # NanoDet + MoveNet Thunder: npm package -> ONNX in the model cache, verified
    "$VENV/bin/python" "$ROOT/scripts/build_models.py"
}

step_actions() {  # the default action model: trained from seed 0 into the model cache (~1 min)
    "$VENV/bin/pose-ros" train
    "$VENV/bin/python" - <<'EOF'   # step_check then loads it, checked against the recorded sha256
import json
from pose_ros.core.actions.learned import default_sidecar
acc = json.loads(default_sidecar().read_text())["test_accuracy"]
assert acc >= 0.9, f"held-out accuracy {acc:.3f} < 0.9: the trained action model is unusable"
EOF
}

step_check() {
    "$VENV/bin/python" - <<'EOF'
import rclpy, cv2, numpy, mediapipe, ai_edge_litert, scipy, torch, rosbags  # noqa: F401
from pose_ros.msg import SkeletonArray, Skeleton, Keypoint  # noqa: F401
from hri_msgs.msg import IdsList, Skeleton2D  # noqa: F401
from tf2_msgs.msg import TFMessage  # noqa: F401
from pose_ros.core.models import resolve_movenet
resolve_movenet()
from pose_ros.core.models import CONVERTED_SOURCES, resolve_converted
for name in CONVERTED_SOURCES:
    resolve_converted(name)
from pose_ros.core.actions.learned import LearnedActionClassifier
LearnedActionClassifier()
print("imports ok")
EOF
}

cd "$ROOT"
run_step venv -- step_venv
run_step ros-wheels requirements/ros.txt -- step_ros_wheels
run_step python-deps requirements/python.txt requirements/nodeps.txt -- step_python_deps
run_step messages CMakeLists.txt package.xml msg/*.msg requirements/ros.txt -- step_messages
run_step ros-msgs ros_msgs/*/CMakeLists.txt ros_msgs/*/package.xml ros_msgs/*/msg/*.msg requirements/ros.txt \
    -- step_ros_msgs
# graph.py: the registry's executables become console scripts at install time
run_step package setup.py setup.cfg pose_ros/graph.py -- step_package
run_step demo-media pose_ros/training/demo_media.py -- step_demo_media
# The converted models live in the model cache, outside the venv: when they are gone or
# damaged the stamp alone must not skip the step.
"$VENV/bin/python" "$ROOT/scripts/build_models.py" --check >/dev/null 2>&1 || rm -f "$STAMPS/models"
run_step models scripts/build_models.py scripts/tfjs_to_onnx.py pose_ros/core/models.py -- step_models
# The default action model is trained, not shipped: same rule, rebuilt when it is gone.
"$VENV/bin/python" -c "from pose_ros.core.actions.learned import LearnedActionClassifier as C; C()" \
    >/dev/null 2>&1 || rm -f "$STAMPS/actions"
run_step actions pose_ros/training/*.py pose_ros/core/actions/*.py pose_ros/core/features/*.py -- step_actions
step_check >"$LOG_DIR/check.log" 2>&1 || step_fail check "$LOG_DIR/check.log"
echo "setup: ready ($VENV)"
