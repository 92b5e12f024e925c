"""StageTimes is written by a worker thread and read by the executor (diagnostics)."""
from __future__ import annotations

import threading

from pose_ros.nodes.diagnostics import StageTimes


def test_values_while_new_stages_appear_on_another_thread():
    """Iterating the averages while the worker adds new stage names used to be able to raise
    'dictionary changed size during iteration'."""
    times = StageTimes()
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        for i in range(20000):
            if stop.is_set():
                return
            times.add({f"stage{i}": 0.001, "total": 0.002})

    def reader() -> None:
        try:
            for _ in range(200):
                if not th.is_alive():
                    return
                times.values()
        except RuntimeError as exc:
            errors.append(exc)

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    try:
        reader()
    finally:
        stop.set()
        th.join(5.0)
    assert not errors, errors[0]
    assert ("total ms", "2.00") in times.values()
