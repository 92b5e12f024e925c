"""Hand signs per frame become start/end events with hysteresis, like body gestures."""
from pose_ros.core.hands.events import HandSignEvents


def test_sign_starts_after_min_duration_and_ends_after_release():
    ev = HandSignEvents(on=0.6, off=0.4, min_duration=0.2, release_duration=0.3)
    out = []
    for k in range(10):   # 0.0 .. 0.45 s thumb up
        out += ev.update("a", k * 0.05, {"right": ("thumb_up", 0.9)})
    assert [(e.gesture, e.event) for e in out] == [("hand_thumb_up_right", "start")]
    assert abs(out[0].window_end - 0.2) < 1e-9 and out[0].window_start == 0.0
    out = []
    for k in range(10, 20):   # hand gone
        out += ev.update("a", k * 0.05, {})
    assert [(e.gesture, e.event) for e in out] == [("hand_thumb_up_right", "end")]


def test_flicker_does_not_start_and_end_track_ends_active():
    ev = HandSignEvents(min_duration=0.2)
    out = []
    for k in range(20):   # every other frame: never 0.2 s in a row
        out += ev.update("b", k * 0.05, {"left": ("fist", 0.9)} if k % 2 else {})
    assert out == []
    for k in range(20, 30):
        out += ev.update("b", k * 0.05, {"left": ("victory", 0.95), "right": ("none", 1.0)})
    assert [(e.gesture, e.event) for e in out] == [("hand_victory_left", "start")]
    ended = ev.end_track("b", 2.0)
    assert [(e.gesture, e.event) for e in ended] == [("hand_victory_left", "end")]
    assert ev.end_track("b", 2.1) == [] and ev.end_track("unknown", 2.1) == []
