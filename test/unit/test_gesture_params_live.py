"""Gesture thresholds change at run time without losing running tracks; bad values are refused."""
import numpy as np
import pytest

from pose_ros.core.gestures.detector import GestureDetector
from pose_ros.core.hands.events import HandSignEvents

STAND = np.array([[320, 100], [312, 92], [328, 92], [304, 96], [336, 96], [290, 130], [350, 130],
                  [285, 180], [355, 180], [282, 230], [358, 230], [300, 230], [340, 230],
                  [300, 310], [340, 310], [300, 390], [340, 390]], dtype=float)


def kp(arr):
    return np.column_stack([arr, np.full(len(arr), 0.9)])


def test_set_params_reaches_running_tracks():
    det = GestureDetector()
    for k in range(5):
        det.update("a", k / 15, kp(STAND))
    det.set_params(min_duration=0.5, on_threshold=0.7)
    assert det.params.min_duration == 0.5 and det.params.on_threshold == 0.7
    up = STAND.copy()
    up[[7, 8, 9, 10]] = [(285, 85), (355, 85), (288, 40), (352, 40)]
    starts = []
    for k in range(5, 30):
        starts += [(round(e.window_end - (5 / 15), 2), e.gesture) for e in det.update("a", k / 15, kp(up))
                   if e.event == "start" and e.gesture == "hands_up_both"]
    assert starts and starts[0][0] >= 0.5 - 1e-6, "the new min_duration applies to the running track"


def test_invalid_change_is_refused_and_keeps_old_params():
    det = GestureDetector()
    with pytest.raises(ValueError):
        det.set_params(off_threshold=0.9, on_threshold=0.5)
    assert det.params.on_threshold == 0.6 and det.params.off_threshold == 0.4


def test_sign_thresholds_update():
    ev = HandSignEvents()
    ev.update("a", 0.0, {"left": ("fist", 0.9)})
    ev.set_thresholds(0.95, 0.5, 0.1, 0.1)
    out = []
    for k in range(1, 10):
        out += ev.update("a", k * 0.05, {"left": ("fist", 0.9)})
    assert out == [], "0.9 is below the new on threshold"
