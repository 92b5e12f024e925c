"""What each node subscribes to, publishes, serves and reports, described once, without ROS imports.

scripts/gen_docs.py renders this (with the parameter tables of :data:`pose_ros.graph.EXECUTABLES`)
into docs/nodes.md. test/test_docs.py keeps it honest: the page must be up to date, every name
declared here must occur in the node's sources, every topic the node's module creates must be
declared here, ``lifecycle`` must match the node class, and the nodes that start cheaply are
started to compare their live topics, types and reliability with this description.

Topic names are as the node creates them: relative ones (``skeletons``) resolve in the node's
namespace (``/pose`` under the launch file), absolute ones (``/diagnostics``) do not. ``<id>``,
``<stage>`` and ``<reason>`` stand for a value.
"""
from __future__ import annotations

from dataclasses import dataclass

# QoS in words (the profiles are in the node modules)
OUT = "reliable, keep last 10"
IMAGE_IN = "best effort (image_reliability), keep last 1: newest frame wins"
SENSOR = "best effort, keep last 5 (sensor data)"
DIAG = "reliable, keep last 10"


@dataclass(frozen=True)
class Topic:
    """A subscription, publication, service or service client; ``when`` says when it exists."""

    name: str
    type: str
    qos: str
    what: str
    when: str = ""


@dataclass(frozen=True)
class NodeInterface:
    summary: str
    lifecycle: bool
    behaviour: str      # lifecycle or start-up behaviour, threads, live changes
    subscribes: tuple[Topic, ...] = ()
    publishes: tuple[Topic, ...] = ()
    services: tuple[Topic, ...] = ()   # besides the parameter services every node has
    clients: tuple[Topic, ...] = ()
    diagnostics: tuple[str, ...] = ()  # keys of the node's DiagnosticStatus on /diagnostics


DIAGNOSTICS = Topic("/diagnostics", "diagnostic_msgs/DiagnosticArray", DIAG, "one DiagnosticStatus at 1 Hz")
GAPS = ("input gaps", "last input gap s", "longest input gap s")
LIFECYCLE_SERVICES = ("get_state", "change_state", "get_available_states", "get_available_transitions",
                      "get_transition_graph")
_CLIENT_SUBS = (Topic("skeletons", "pose_ros/SkeletonArray", OUT, "people (PoseClient)"),
                Topic("gestures", "pose_ros/GestureArray", OUT, "gesture events (PoseClient)"),
                Topic("/tf", "tf2_msgs/TFMessage", "reliable, keep last 100", "for goal_frame / person_pose",
                      "from the first person_pose() call"),
                Topic("/tf_static", "tf2_msgs/TFMessage", "reliable, transient local, keep last 100",
                      "static transforms", "from the first person_pose() call"))
_CLIENT_STATE = (Topic("pose_estimator/get_state", "lifecycle_msgs/srv/GetState", "services default",
                       "PoseClient.wait_until_active / estimator_state"),)
_EXAMPLE = ("Plain node built on pose_ros.client.PoseClient; decisions are plain functions in "
            "pose_ros/examples/logic.py. Not started by the launch file: run it yourself in the graph's namespace "
            "(`ros2 run pose_ros {name}`, /pose by default).")

NODES: dict[str, NodeInterface] = {
    "pose_estimator": NodeInterface(
        summary="Images in; tracked skeletons, RViz markers and an annotated image out.",
        lifecycle=True,
        behaviour=(
            "Lifecycle node (autostart: true brings it to active at start). configure loads and checks the model "
            "on a test frame and creates the publishers; activate subscribes; deactivate unsubscribes (idle CPU); "
            "cleanup frees the model. Outputs are lifecycle publishers: silent unless active. The subscription "
            "callbacks only keep the newest frame (and one older while two frames' work fits in a frame interval); "
            "a worker thread runs the pipeline on them, so frames it cannot keep up with are dropped (counted), "
            "never queued. thunder in video runs its person detector on a "
            "second thread. Parameters marked reload are refused while active: deactivate, set, activate (the "
            "model is loaded again). A missing model under autostart exits with code 2."),
        subscribes=(
            Topic("image", "sensor_msgs/Image", IMAGE_IN, "camera images", "compressed: false"),
            Topic("image/compressed", "sensor_msgs/CompressedImage", IMAGE_IN, "JPEG/PNG images", "compressed: true"),
            Topic("depth", "sensor_msgs/Image", "image_reliability, keep last 16",
                  "depth registered to colour (16UC1 mm, 32FC1 m), paired by nearest stamp", "use_depth: true"),
            Topic("camera_info", "sensor_msgs/CameraInfo", SENSOR, "intrinsics for 3D and markers"),
            Topic("actions", "pose_ros/ActionArray", OUT, "action labels drawn on the annotated image",
                  "publish_annotated: true"),
            Topic("attention", "hri_msgs/IdsList", OUT, "track ids (or REP-155 body ids b<id>) the robot interacts "
                  "with: posed first, every frame; holds until the next list (empty: nobody)"),
        ),
        publishes=(
            Topic("skeletons", "pose_ros/SkeletonArray", OUT, "every processed frame, empty when nobody"),
            Topic("markers", "visualization_msgs/MarkerArray", OUT, "RViz markers (only built while subscribed)",
                  "publish_markers: true"),
            Topic("image_annotated", "sensor_msgs/Image", OUT, "bgr8 image with skeletons, ids and actions "
                  "(only drawn while subscribed)", "publish_annotated: true"),
            DIAGNOSTICS,
        ),
        diagnostics=(
            "state", "backend", "model", "input rate Hz", "processed rate Hz", "received", "processed",
            "dropped frames", "lost in transport", "bad input", "latency ms", "people tracked", "tracker resets",
            *GAPS, "<stage> ms", "diagnostics ms",
            "frames with 3D", "frames without 3D: <reason>", "depth offset s", "depth_max_offset s",
            "people posed", "people predicted", "oldest pose s", "crop units", "crop budget",
            "crop budget ceiling", "frames behind", "ms per crop unit", "people attended", "attended predicted",
        ),
    ),
    "video_source": NodeInterface(
        summary="Publishes a video file, image folder or V4L2 camera as sensor_msgs/Image with CameraInfo.",
        lifecycle=False,
        behaviour=(
            "Plain node. A thread plays the source at `rate` times its frame rate; files wait for a subscriber "
            "first (wait_subscriber). Stamps come from the node clock (like a camera driver; under use_sim_time "
            "it waits for /clock) or, with stamp_source: media, from the media time. With wait_for it publishes "
            "the next frame only after the previous one's skeletons arrived (lock-step). Exits when the source "
            "ends unless loop is set. Its image publisher loads the Fast DDS large-frame profile (docs/dds.md)."),
        subscribes=(Topic("<wait_for>", "pose_ros/SkeletonArray", "reliable, keep last 10",
                          "results that release the next frame", "wait_for set"),),
        publishes=(
            Topic("image", "sensor_msgs/Image", "reliable, keep last 5", "bgr8 frames"),
            Topic("camera_info", "sensor_msgs/CameraInfo", "reliable, keep last 5",
                  "a guessed pinhole model (no calibration)"),
            DIAGNOSTICS,
        ),
        diagnostics=("source", "frames published", "publish rate Hz", "media fps"),
    ),
    "pose_tracker": NodeInterface(
        summary="Ids, track states and smoothing for skeletons from elsewhere (another estimator, an untracked "
                "bag). pose_estimator tracks by itself; this node is not in the launch graph.",
        lifecycle=False,
        behaviour=(
            "Plain node: tracks from the first message. Headers are kept. tracker.* and smoother.* change live "
            "(checked by the tracker, all or nothing); the others need a restart."),
        subscribes=(Topic("skeletons_in", "pose_ros/SkeletonArray", OUT, "untracked skeletons"),),
        publishes=(
            Topic("skeletons", "pose_ros/SkeletonArray", OUT, "tracked and smoothed skeletons"),
            Topic("markers", "visualization_msgs/MarkerArray", OUT, "RViz markers (only built while subscribed)",
                  "publish_markers: true"),
            DIAGNOSTICS,
        ),
        diagnostics=("input rate Hz", "tracks", "stamp resets", "received", "bad input", "failed"),
    ),
    "action_classifier": NodeInterface(
        summary="Tracked skeletons in; per-person actions, gesture start/end events and joint angles out.",
        lifecycle=True,
        behaviour=(
            "Lifecycle node (autostart: true brings it to active). configure builds the action stage (learned "
            "model or rules; missing weights fail configure, exit code 2 under autostart); activate subscribes; "
            "deactivate unsubscribes; cleanup drops the stage. Each track keeps a window of skeletons by header "
            "stamp; stamps going back (a looping bag) reset every track. Runs in the executor thread."),
        subscribes=(Topic("skeletons", "pose_ros/SkeletonArray", OUT, "tracked skeletons (untracked ones are "
                          "ignored)"),),
        publishes=(
            Topic("actions", "pose_ros/ActionArray", OUT, "one action per track, at most `rate` Hz of stamp time"),
            Topic("gestures", "pose_ros/GestureArray", OUT, "gesture START/END events, when there are any"),
            Topic("joint_angles", "pose_ros/JointAnglesArray", OUT, "every skeleton frame"),
            DIAGNOSTICS,
        ),
        diagnostics=("input rate Hz", "tracks", "classifier", "stamp resets", "bad input", *GAPS, "classify ms"),
    ),
    "hri_bridge": NodeInterface(
        summary="The tracked skeletons, actions and gestures as REP-155 (ROS4HRI) bodies, and a body_<id> TF frame "
                "per person, as hri_body_detect publishes them.",
        lifecycle=False,
        behaviour=(
            "Plain node, started by the launch file unless hri:=false. Body id = 'b' + track id; only confirmed "
            "tracks. Per-body publishers appear with the body and are removed forget_after s (image time) after "
            "it was last seen. A skeleton is converted only for topics someone listens to; the image is "
            "subscribed only while someone listens to a cropped topic. body_<id> frames need 3D keypoints in the "
            "camera frame (depth); they go through tf2_ros when installed, else a plain /tf publisher."),
        subscribes=(
            Topic("skeletons", "pose_ros/SkeletonArray", OUT, "tracked skeletons"),
            Topic("actions", "pose_ros/ActionArray", OUT, "-> posture"),
            Topic("gestures", "pose_ros/GestureArray", OUT, "-> gesture"),
            Topic("image", "sensor_msgs/Image", "image_reliability, keep last 1", "for cropped",
                  "while someone listens to a cropped topic"),
            Topic("image/compressed", "sensor_msgs/CompressedImage", "image_reliability, keep last 1",
                  "for cropped, instead of image", "compressed: true, while someone listens to a cropped topic"),
        ),
        publishes=(
            Topic("/humans/bodies/tracked", "hri_msgs/IdsList", OUT, "ids of the confirmed bodies, every frame"),
            Topic("/humans/bodies/<id>/roi", "hri_msgs/NormalizedRegionOfInterest2D", OUT, "normalised box"),
            Topic("/humans/bodies/<id>/cropped", "sensor_msgs/Image", OUT, "the box cut from the image", "crop: true"),
            Topic("/humans/bodies/<id>/skeleton2d", "hri_msgs/Skeleton2D", OUT, "18 normalised points"),
            Topic("/humans/bodies/<id>/posture", "hri_msgs/BodyPosture", OUT, "from the action label"),
            Topic("/humans/bodies/<id>/gesture", "hri_msgs/Gesture", OUT, "on change, with handedness"),
            Topic("/humans/bodies/<id>/position", "geometry_msgs/PointStamped", OUT, "hip centre, image frame",
                  "3D keypoints"),
            Topic("/humans/bodies/<id>/velocity", "geometry_msgs/TwistStamped", OUT, "hip centre velocity",
                  "3D keypoints"),
            Topic("/tf", "tf2_msgs/TFMessage", "reliable, keep last 100", "body_<id> in the image frame",
                  "publish_tf: true, 3D keypoints"),
            DIAGNOSTICS,
        ),
        diagnostics=("input rate Hz", "bodies", "image subscribed", "frames", "bad_input", "failed", "tf",
                     "no_frame_id", "crops"),
    ),
    "hands_up_stop": NodeInterface(
        summary="Example: zero cmd_vel and estop: true while anyone holds both hands up.",
        lifecycle=False,
        behaviour=_EXAMPLE.format(name="hands_up_stop"),
        subscribes=_CLIENT_SUBS[:2],
        publishes=(Topic("cmd_vel", "geometry_msgs/Twist", OUT, "zero Twist at `rate` Hz while stopped"),
                   Topic("estop", "std_msgs/Bool", OUT, "stop state at `rate` Hz"), DIAGNOSTICS),
        clients=_CLIENT_STATE,
        diagnostics=("raised hands",),
    ),
    "follow_person": NodeInterface(
        summary="Example: turn toward and keep a distance from the person who waved.",
        lifecycle=False,
        behaviour=_EXAMPLE.format(name="follow_person"),
        subscribes=_CLIENT_SUBS,
        publishes=(Topic("cmd_vel", "geometry_msgs/Twist", OUT, "one Twist per skeletons frame with the target"),
                   Topic("target_pose", "geometry_msgs/PoseStamped", OUT, "the target's body_<id> pose",
                         "goal_frame set"), DIAGNOSTICS),
        clients=_CLIENT_STATE,
        diagnostics=("moving",),
    ),
    "point_target": NodeInterface(
        summary="Example: where someone points, as a PoseStamped along their 3D pointing ray.",
        lifecycle=False,
        behaviour=_EXAMPLE.format(name="point_target"),
        subscribes=_CLIENT_SUBS[:2],
        publishes=(Topic("pointing_target", "geometry_msgs/PoseStamped", OUT, "on each point_left/right START "
                         "with a 3D ray"), DIAGNOSTICS),
        clients=_CLIENT_STATE,
    ),
}
