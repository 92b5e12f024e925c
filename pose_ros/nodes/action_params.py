"""Parameters of action_classifier (documented, with defaults, in config/pose.yaml)."""
from pose_ros.nodes.params import Param

ACTION_PARAMS = [
    Param("autostart", True, "Configure and activate at start (a managed lifecycle node otherwise waits for "
          "lifecycle transitions).", reload=True),
    Param("diag.no_input_timeout", 5.0, "Diagnostics WARN when no skeletons arrived for this many seconds.",
          0.1, 3600.0),
    Param("window", 2.0, "Seconds of skeleton history per track (by header stamps); the learned model "
          "looks at the last 2 s.", 0.2, 30.0, reload=True),
    Param("actions.model", "learned", "Action classifier: the small temporal CNN trained on synthetic motion "
          "(`pose-ros train`), or the interpretable rules.", choices=("learned", "rules"), reload=True),
    Param("actions.weights", "", "Weights from `pose-ros train`; empty = the ones shipped in the package.",
          reload=True),
    Param("actions.min_confidence", 0.4, "Below this the action is reported as 'unknown'.", 0.0, 1.0,
          reload=True),
    Param("rate", 5.0, "Actions are published at most this often (Hz of stamp time).", 0.1, 100.0),
    Param("min_keypoint_score", 0.2, "Keypoints below this score count as missing.", 0.0, 1.0),
    Param("track_timeout", 1.0, "Seconds without a skeleton after which a track's gestures end.", 0.05, 60.0),
    Param("gestures.on_threshold", 0.6, "Gesture score that starts a gesture (after min_duration).", 0.0, 1.0),
    Param("gestures.off_threshold", 0.4, "Gesture score below which it ends (after release_duration).", 0.0, 1.0),
    Param("gestures.min_duration", 0.2, "Seconds above on_threshold before a gesture starts.", 0.0, 10.0),
    Param("gestures.release_duration", 0.3, "Seconds below off_threshold before a gesture ends.", 0.0, 10.0),
    Param("gestures.fall_max_duration", 1.0, "A fall is upright -> lying within this many seconds.", 0.1, 10.0),
]
