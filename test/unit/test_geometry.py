"""core/geometry.py: the one IoU, greedy NMS and keypoint box every stage uses."""
from __future__ import annotations

import numpy as np
import pytest

from pose_ros.core.detection.movenet import merge_duplicates
from pose_ros.core.geometry import iou_matrix, keypoint_box, nms
from pose_ros.core.skeleton import NUM_COCO17, Person


def test_iou_matrix():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], np.float32)
    iou = iou_matrix(boxes, boxes)
    assert iou[0, 0] == pytest.approx(1.0) and iou[0, 1] == pytest.approx(50 / 150)
    assert iou[0, 2] == 0 and iou[3, 3] == 0        # empty box: 0, not NaN
    assert iou_matrix(boxes[:2], boxes[2:]).shape == (2, 2)


def test_nms_keeps_best_of_overlapping_and_respects_max_keep():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 1, 10, 11]], np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5, 10).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5, 1).tolist() == [1]
    assert nms(boxes, scores, 0.95, 10).tolist() == [1, 3, 0, 2]   # nothing overlaps that much
    assert nms(boxes, scores, 0.95, max_candidates=2).tolist() == [1, 3]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5, 5).size == 0


def test_movenet_duplicates_use_the_same_nms():
    def person(box: list[float], score: float) -> Person:
        return Person(keypoints=np.zeros((NUM_COCO17, 3), np.float32), score=score, box=np.array(box, np.float32))
    people = [person([0, 0, 10, 10], 0.6), person([1, 0, 11, 10], 0.9), person([50, 50, 60, 60], 0.5)]
    assert [p.score for p in merge_duplicates(people)] == [0.9, 0.5]
    assert merge_duplicates(people[:1]) == people[:1]


def test_keypoint_box_min_joints():
    kp = np.full((NUM_COCO17, 3), np.nan, np.float32)
    kp[:, 2] = 0.0
    kp[:3] = [[10, 20, 0.9], [30, 5, 0.8], [1e7, 0, 0.9]]     # the third is beyond MAX_COORD: missing
    assert keypoint_box(kp).tolist() == [10, 5, 30, 20]
    assert keypoint_box(kp, 0.05, min_joints=3) is None
    assert keypoint_box(kp, 0.85).tolist() == [10, 20, 10, 20]
    assert keypoint_box(kp[:, :2]) is None
