"""The annotated image labels each tracked person with id and current action."""
from __future__ import annotations

import cv2
import numpy as np

from pose_ros.core.draw import draw_people, id_color
from pose_ros.core.skeleton import Person


def _person(track_id: str) -> Person:
    kp = np.full((17, 3), np.nan, np.float32)
    kp[:, 2] = 0.0
    return Person(keypoints=kp, score=0.87, box=np.array([40, 60, 140, 200], np.float32), track_id=track_id)


def _expected(text: str, track_id: str) -> np.ndarray:
    img = np.zeros((240, 320, 3), np.uint8)
    r, g, b = id_color(track_id)
    cv2.rectangle(img, (40, 60), (140, 200), (b, g, r), 1)
    cv2.putText(img, text, (40, 56), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (b, g, r), 1, cv2.LINE_AA)
    return img


def test_label_is_id_and_action() -> None:
    img = draw_people(np.zeros((240, 320, 3), np.uint8), [_person("a3f")], actions={"a3f": "waving", "b": "x"})
    assert np.array_equal(img, _expected("a3f waving", "a3f"))


def test_label_without_action_is_the_id_and_untracked_people_show_their_score() -> None:
    img = draw_people(np.zeros((240, 320, 3), np.uint8), [_person("a3f")], actions={})
    assert np.array_equal(img, _expected("a3f", "a3f"))
    img = draw_people(np.zeros((240, 320, 3), np.uint8), [_person("")])
    assert np.array_equal(img, _expected("person 0.87", ""))
