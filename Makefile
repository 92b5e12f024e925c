# Two commands (see README): `make demo` and `make test`. Both run `make setup`
# first; it is idempotent and takes seconds when nothing changed.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test bench clean colcon yolo

setup:
	@bash scripts/setup.sh

# Opt-in YOLO11n-pose backend (AGPL-3.0 weights; see README): download, check, export, verify.
yolo: setup
	@POSE_ROS_VENV=$(abspath $(VENV)) bash scripts/yolo_setup.sh

demo: setup
	@$(VENV)/bin/pose-ros demo

test: setup
	@$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	@$(PY) bench/speed.py && $(PY) bench/accuracy.py && $(PY) bench/tracking.py && $(PY) bench/node_overhead.py \
		&& $(PY) bench/actions.py && $(PY) bench/transport.py && $(PY) bench/soak.py

clean:
	rm -rf build install log demo_output

distclean: clean
	rm -rf $(VENV)
