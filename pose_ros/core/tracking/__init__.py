"""Who is who from frame to frame: tracker, Kalman box model, similarity measures, smoothing."""
from pose_ros.core.tracking.similarity import body_shape, iou_matrix, oks
from pose_ros.core.tracking.smoothing import OneEuroFilter, SkeletonSmoother
from pose_ros.core.tracking.tracker import Tracker

__all__ = ["OneEuroFilter", "SkeletonSmoother", "Tracker", "body_shape", "iou_matrix", "oks"]
