"""Constructors and parameter tables carry the same defaults.

ThunderBackend, YoloPoseBackend, Tracker and the smoother take keyword defaults so that
benches and tests can build them alone; the nodes declare the same values in their
tables (and config/pose.yaml). This test keeps the two in step: a default changed on one
side only fails here.
"""
from __future__ import annotations

import inspect

import pytest

from pose_ros.nodes.estimator_params import ESTIMATOR_PARAMS, backend_options


def constructor_defaults(cls) -> dict:
    return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def table_defaults(prefix: str) -> dict:
    n = len(prefix) + 1
    return {p.name[n:]: p.default for p in ESTIMATOR_PARAMS if p.name.startswith(prefix + ".")}


def classes():
    from pose_ros.core.detection.thunder import ThunderBackend
    from pose_ros.core.detection.yolo import YoloPoseBackend
    from pose_ros.core.tracking.smoothing import SkeletonSmoother
    from pose_ros.core.tracking.tracker import Tracker
    return {"thunder": ThunderBackend, "yolo": YoloPoseBackend, "tracker": Tracker, "smoother": SkeletonSmoother}


@pytest.mark.parametrize("prefix", ["thunder", "yolo", "tracker", "smoother"])
def test_constructor_defaults_equal_the_parameter_table(prefix):
    cls = classes()[prefix]
    table = backend_options(prefix, table_defaults(prefix)) if prefix in ("thunder", "yolo") else table_defaults(prefix)
    ctor = constructor_defaults(cls)
    assert table, f"no {prefix}.* parameters"
    unknown = sorted(set(table) - set(ctor))
    assert not unknown, f"{prefix}.* parameters the constructor has no default for: {unknown}"
    differ = {k: (ctor[k], v) for k, v in table.items() if ctor[k] != v}
    assert not differ, f"{cls.__name__} default != {prefix}.* parameter default (constructor, table): {differ}"
