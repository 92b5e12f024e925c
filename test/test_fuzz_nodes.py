"""Fuzzing through real DDS: thousands of malformed Image, CompressedImage and SkeletonArray
messages at a high rate into the node executables (issue "Reliability: fuzzing").

Two pose_estimators (raw and compressed input), pose_tracker and action_classifier run as
their own processes. After the flood (back to back at first, then paced so that it spans
more than two rate-limit periods) every node is alive, answers a valid input correctly and
promptly, has logged each kind of problem at most once per period (ratelog.RateLimitedLog)
and never a traceback or an unexpected exception, and counts the rejected input as
"bad input" on /diagnostics.

The inputs are generated from a fixed seed, so every run sends the same messages. The image
subscriptions keep only the newest frame (depth 1, by design: never stale), so the estimator
sees a subset of the flood; its diagnostics say how many it received and rejected. The
tracker and the classifier subscribe reliable with depth 10: a flood also overwrites their
queue, they count what they received and rejected on /diagnostics too.
"""
from __future__ import annotations

import math
import re
import struct
import time
import zlib
from array import array
from pathlib import Path

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Vector3
from rclpy.qos import QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from conftest import CLIP_PERSON_REGION
from pose_ros.nodes.conversions import image_problem
from pose_ros.msg import ActionArray, JointAnglesArray, Keypoint, Skeleton, SkeletonArray
from rosutil import RosSession, start, stop, wait_for

SEED = 20240611
N_IMAGES = 1200          # malformed / odd sensor_msgs/Image
N_COMPRESSED = 1200      # malformed / odd sensor_msgs/CompressedImage
N_SKELETONS = 1200       # malformed / odd SkeletonArray, each sent to the tracker and the classifier
GOOD_FRAME = 6           # a frame of person_clip where BlazePose finds the person from scratch (not 10-16)
FULL_SPEED = 500         # rounds (one message per stream) published back to back
PACED_HZ = 60            # then this many rounds a second
RATE_PERIOD = 5.0        # ratelog.RateLimitedLog default period

# Publishers keep a deep history so a fast flood is not cut short on the writer side.
FLOOD_QOS = QoSProfile(depth=500, reliability=QoSReliabilityPolicy.RELIABLE, history=QoSHistoryPolicy.KEEP_LAST)
OUT_QOS = QoSProfile(depth=100, reliability=QoSReliabilityPolicy.RELIABLE)

U32 = 2**32 - 1
I32_MIN, I32_MAX = -2**31, 2**31 - 1

# A front-facing standing person (pixels), as in test_action_classifier.
STAND = np.array([[320, 100], [312, 92], [328, 92], [304, 96], [336, 96], [290, 130], [350, 130],
                  [285, 180], [355, 180], [282, 230], [358, 230], [300, 230], [340, 230],
                  [300, 310], [340, 310], [300, 390], [340, 390]], dtype=float)


# --------------------------------------------------------------------------- images
def _image(enc: str, w: int, h: int, step: int, data: bytes, *, big: int = 0, frame_id: str = "cam",
           sec: int = 1, nanosec: int = 0) -> Image:
    msg = Image(encoding=enc, width=w, height=h, step=step, is_bigendian=big, data=array("B", data))
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    msg.header.frame_id = frame_id
    return msg


BAD_ENCODINGS = ["32FC1", "16UC1", "bayer_rggb8", "", "rgb16", "jpeg", "8UC4", "64FC1", "nv12", "RGB 8",
                 "\u00ffenc\u0000", "x" * 3000, "rgb8\n[ERROR] [0.0] [fake]: injected line", "bgr8;"]
GOOD_ENCODINGS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "mono16": 2, "yuv422": 2,
                  "yuv422_yuy2": 2, "8UC3": 3, " RGB8 ": 3}
WEIRD_FRAME_IDS = ["", "/", "x" * 5000, "cam\n[ERROR] fake", "\u00e9\u4e2d\U0001f600", "a b\tc", "../../etc"]


def image_cases(rng: np.random.Generator, n: int) -> list[tuple[str, bool, Image]]:
    """(kind, should_be_rejected, message) for n images; small payloads, fast to publish."""
    out = []
    kinds = ["encoding", "zero", "huge", "step", "truncated", "oversized", "odd", "endian", "frame_id", "stamp"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        w, h = int(rng.integers(1, 48)), int(rng.integers(1, 36))
        enc = str(rng.choice(list(GOOD_ENCODINGS)))
        bpp = GOOD_ENCODINGS[enc]
        step = w * bpp
        data = rng.integers(0, 256, step * h, dtype=np.uint8).tobytes()
        sec = 1000 + i
        if kind == "encoding":
            msg, bad = _image(str(rng.choice(BAD_ENCODINGS)), w, h, w * 3, data[: w * 3 * h], sec=sec), True
        elif kind == "zero":
            zw, zh = [(0, 0), (0, h), (w, 0)][i % 3]
            msg, bad = _image(enc, zw, zh, int(rng.integers(0, 100)), data[: int(rng.integers(0, 64))], sec=sec), True
        elif kind == "huge":
            hw = int(rng.choice([65536, 1 << 20, I32_MAX, U32]))
            hh = int(rng.choice([1, 2, 65536, I32_MAX, U32]))
            hs = int(rng.choice([min(hw * bpp, U32), U32, 0]))
            msg, bad = _image(enc, hw, hh, hs, data[: int(rng.integers(0, 64))], sec=sec), True
        elif kind == "step":
            msg, bad = _image(enc, w, h, int(rng.integers(0, step)), data, sec=sec), True
        elif kind == "truncated":
            msg, bad = _image(enc, w, h, step, data[: int(rng.integers(0, step * h))], sec=sec), True
        elif kind == "oversized":   # valid: extra bytes after the last row, padded rows
            pad = int(rng.integers(0, 8))
            body = b"".join(data[r * step:(r + 1) * step] + bytes(pad) for r in range(h))
            msg, bad = _image(enc, w, h, step + pad, body + bytes(int(rng.integers(1, 500))), sec=sec), False
        elif kind == "odd":         # valid: 1-pixel and very thin images, odd widths (yuv)
            ow, oh = [(1, 1), (1, 37), (401, 1), (3, 2), (7, 5)][i % 5]
            odata = rng.integers(0, 256, ow * oh * bpp, dtype=np.uint8).tobytes()
            msg, bad = _image(enc, ow, oh, ow * bpp, odata, sec=sec), False
        elif kind == "endian":      # valid: any is_bigendian byte
            msg, bad = _image(enc, w, h, step, data, big=int(rng.integers(0, 256)), sec=sec), False
        elif kind == "frame_id":
            msg, bad = _image(enc, w, h, step, data, frame_id=WEIRD_FRAME_IDS[i % len(WEIRD_FRAME_IDS)], sec=sec), False
        else:                       # valid image, extreme stamps (nanosec may be >= 1e9)
            msg, bad = _image(enc, w, h, step, data, sec=int(rng.choice([I32_MIN, -1, 0, I32_MAX, 7])),
                              nanosec=int(rng.choice([0, 999_999_999, 1_000_000_000, U32]))), False
        out.append((kind, bad, msg))
    return out


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(w: int, h: int) -> bytes:
    """A PNG header claiming w x h RGB pixels, with (almost) no pixel data."""
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


def jpeg_bomb(jpeg: bytes, w: int, h: int) -> bytes:
    """``jpeg`` with its frame header (SOF) claiming w x h pixels: a few hundred bytes that
    libjpeg decodes into a w x h image (a decompression bomb)."""
    b = bytearray(jpeg)
    i = 2
    while i + 9 < len(b):
        marker, length = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            b[i + 5:i + 9] = struct.pack(">HH", h, w)
            break
        i += 2 + length
    return bytes(b)


def compressed_cases(rng: np.random.Generator, n: int) -> list[tuple[str, bool, CompressedImage]]:
    small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", small)[1].tobytes()
    png = cv2.imencode(".png", small)[1].tobytes()
    tiny = cv2.imencode(".jpg", np.zeros((1, 1, 3), np.uint8))[1].tobytes()
    kinds = ["garbage", "empty", "truncated_jpeg", "truncated_png", "flipped", "bomb", "format", "magic",
             "odd", "stamp"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        fmt, sec, nanosec = "jpeg", 2000 + i, 0
        if kind == "garbage":
            data, bad = rng.integers(0, 256, int(rng.integers(1, 4000)), dtype=np.uint8).tobytes(), True
        elif kind == "empty":
            data, bad = b"", True
        elif kind == "truncated_jpeg":
            data, bad = jpeg[: int(rng.integers(1, len(jpeg) - 2))], True
        elif kind == "truncated_png":
            data, bad, fmt = png[: int(rng.integers(1, len(png) - 12))], True, "png"
        elif kind == "flipped":     # bytes flipped in the entropy-coded data: decodes to noise, or fails
            b = bytearray(jpeg)
            for j in rng.integers(len(jpeg) // 2, len(jpeg) - 2, int(rng.integers(1, 20))):
                b[j] ^= int(rng.integers(1, 256))
            data, bad = bytes(b), None
        elif kind == "bomb":        # a few hundred bytes claiming up to 65535 x 65535 pixels
            bw, bh = int(rng.integers(8000, 65536)), int(rng.integers(8000, 65536))
            data, bad = (jpeg_bomb(jpeg, bw, bh) if i % 20 < 10 else png_bomb(bw, bh)), True
        elif kind == "format":      # valid jpeg, any format string; compressedDepth is refused
            fmt = str(rng.choice(["", "png", "rgb8; jpeg compressed bgr8", "compressedDepth png", "\x00\x01",
                                  "tiff", "f" * 2000, "bgr8; compressedDepth"]))
            data, bad = jpeg, "compresseddepth" in fmt.lower()
        elif kind == "magic":       # nothing after the signature
            data, bad = [b"\xff\xd8", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xd9"][i % 4], True
        elif kind == "odd":         # valid 1x1 jpeg
            data, bad = tiny, False
        else:
            data, bad = jpeg, False
            sec, nanosec = int(rng.choice([I32_MIN, 0, I32_MAX])), int(rng.choice([0, 10**9, U32]))
        msg = CompressedImage(format=fmt, data=array("B", data))
        msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = sec, nanosec, "cam"
        out.append((kind, bad, msg))
    return out


# ------------------------------------------------------------------------ skeletons
def skeleton(tid: str, kp: np.ndarray, score: float = 0.9, kp_score: float = 0.9) -> Skeleton:
    s = Skeleton(id=tid, track_state=Skeleton.STATE_TRACKED, score=score, format=Skeleton.FORMAT_COCO_17)
    s.keypoints = [Keypoint(x=float(x), y=float(y), score=kp_score) for x, y in kp]
    with np.errstate(invalid="ignore"):
        s.x_min, s.y_min = float(np.min(kp[:, 0])), float(np.min(kp[:, 1]))
        s.x_max, s.y_max = float(np.max(kp[:, 0])), float(np.max(kp[:, 1]))
    return s


def skeleton_cases(rng: np.random.Generator, n: int) -> list[tuple[str, SkeletonArray]]:
    kinds = ["nan", "inf", "huge", "count", "empty", "many", "dup_ids", "format", "states", "optional",
             "stamps", "ids", "image_size", "scores"]
    specials = [math.nan, math.inf, -math.inf, 3.0e38, -3.0e38, 1e-45, 0.0, -1.0]
    out = []
    t = 100.0
    for i in range(n):
        kind = kinds[i % len(kinds)]
        t += float(rng.choice([1 / 15, 0.0, -5.0, 1e-9])) if kind == "stamps" else 1 / 15
        sec, nanosec = int(t // 1), int((t % 1) * 1e9)
        people = []
        k = int(rng.integers(1, 4))
        for j in range(k):
            kp = STAND + rng.normal(0, 2, STAND.shape) + [float(rng.integers(-200, 200)), 0]
            people.append(skeleton(f"t{int(rng.integers(0, 6))}", kp))
        if kind == "nan":
            for s in people:
                for kpt in s.keypoints:
                    if rng.random() < 0.5:
                        kpt.x, kpt.y = math.nan, math.nan   # with a score > 0: inconsistent
                s.x_min = math.nan
        elif kind == "inf":
            for s in people:
                for kpt in s.keypoints:
                    kpt.x, kpt.y, kpt.score = (float(rng.choice(specials)) if rng.random() < 0.3 else v
                                               for v in (kpt.x, kpt.y, kpt.score))
                s.x_max, s.y_max = math.inf, -math.inf
        elif kind == "huge":
            for s in people:
                for kpt in s.keypoints:
                    kpt.x, kpt.y = float(rng.choice([3.0e38, -3.0e38, 1e30])), float(rng.choice([3.0e38, 1e20]))
                s.x_min, s.y_min, s.x_max, s.y_max = -3.0e38, -3.0e38, 3.0e38, 3.0e38
        elif kind == "count":
            for s in people:
                m = int(rng.choice([0, 1, 16, 18, 33, 100]))
                s.keypoints = [Keypoint(x=float(rng.uniform(0, 640)), y=float(rng.uniform(0, 480)), score=0.9)
                               for _ in range(m)]
        elif kind == "empty":
            people = []
        elif kind == "many":        # up to 300 people in one frame (about 80 kB)
            people = [skeleton(f"m{j}", STAND + rng.normal(0, 3, STAND.shape) + [float(rng.uniform(-300, 300)), 0])
                      for j in range(int(rng.integers(30, 300)))]
        elif kind == "dup_ids":
            for s in people:
                s.id = "same"
            people = people * 3
        elif kind == "format":
            for s in people:
                s.format = int(rng.integers(1, 256))
        elif kind == "states":
            for s in people:
                s.track_state, s.frame_3d = int(rng.integers(0, 256)), int(rng.integers(0, 256))
        elif kind == "optional":    # optional arrays of the wrong length, NaN inside
            for s in people:
                s.frame_3d = int(rng.integers(0, 3))
                s.keypoints_3d = [Point(x=float(rng.choice(specials)), y=1.0, z=2.0)
                                  for _ in range(int(rng.choice([1, 16, 17, 40])))]
                s.landmarks = [Keypoint(x=1.0, y=2.0, score=0.5) for _ in range(int(rng.choice([1, 17, 33, 50])))]
                s.landmarks_3d = [Point() for _ in range(int(rng.choice([0, 2, 33])))]
                s.velocities = [Vector3(x=float(rng.choice(specials))) for _ in range(int(rng.choice([1, 17, 20])))]
        elif kind == "stamps":
            sec = int(rng.choice([sec, I32_MIN, I32_MAX, 0, -1]))
            nanosec = int(rng.choice([nanosec, 10**9, U32]))
        elif kind == "ids":
            for s in people:
                s.id = str(rng.choice(["", "x" * 2000, "\u4e2d\U0001f600", "id\n[ERROR] fake", " ", "\x01"]))
        elif kind == "image_size":
            pass
        else:                       # scores, hand signs
            for s in people:
                s.score = float(rng.choice(specials + [1e9]))
                s.left_hand_sign, s.left_hand_sign_score = str(rng.choice(["", "fist", "x" * 500, "?"])), \
                    float(rng.choice(specials))
                s.right_hand_sign = "open_palm"
                s.right_hand_sign_score = math.nan
                for kpt in s.keypoints:
                    kpt.score = float(rng.choice([-1.0, 0.5, 2.0, math.nan, 1e9]))
        w, h = (int(rng.choice([0, 1, U32])), int(rng.choice([0, U32]))) if kind == "image_size" else (640, 480)
        msg = SkeletonArray(image_width=w, image_height=h, skeletons=people)
        msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = sec, nanosec, "cam"
        out.append((kind, msg))
    return out


def valid_skeletons(tid: str, t: float, rng: np.random.Generator, n: int = 1) -> SkeletonArray:
    people = [skeleton(f"{tid}{j}" if n > 1 else tid,
                       STAND + rng.normal(0, 1, STAND.shape) + [250.0 * j - 125.0 * (n - 1), 0])
              for j in range(n)]
    msg = SkeletonArray(image_width=640, image_height=480, skeletons=people)
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t // 1), int(round((t % 1) * 1e9))
    msg.header.frame_id = "cam"
    return msg


# ----------------------------------------------------------------------------- logs
LOG_LINE = re.compile(r"^\[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[(\d+\.\d+)\] \[[^\]]*\]: (.*)$")
# What the image decoders (libjpeg, libpng, OpenCV) print to stderr themselves, per decoded frame.
DECODER_LINE = re.compile(r"^(Corrupt JPEG data|Premature end of JPEG|libpng |\[ WARN:\S* global grfmt_)")
SUPPRESSED = re.compile(r" \(\d+ more like this suppressed\)$")


def log_summary(path: Path) -> dict:
    """Line counts by level, and the ERROR lines grouped by kind of problem (values masked,
    as ratelog does): kind -> wall-clock times of its lines."""
    lines = path.read_text(errors="replace").splitlines()
    counts = {"lines": len(lines), "ERROR": 0, "WARN": 0, "INFO": 0, "decoder": 0, "other": 0}
    kinds: dict[str, list[float]] = {}
    for line in lines:
        m = LOG_LINE.match(line)
        if m is None:
            counts["decoder" if DECODER_LINE.match(line) else "other"] += 1
            continue
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        if m.group(1) == "ERROR":
            text = SUPPRESSED.sub("", m.group(3)).split("skipped: ", 1)[-1]
            kinds.setdefault(image_problem(Exception(text)), []).append(float(m.group(2)))
    counts["kinds"] = len(kinds)
    return {"counts": counts, "kinds": kinds}


def diag_values(diags: list, name: str) -> dict[str, str]:
    for arr in reversed(diags):
        for st in arr.status:
            if st.name == name:
                return {kv.key: kv.value for kv in st.values} | {"_message": st.message}
    return {}


# ----------------------------------------------------------------------------- test
@pytest.mark.timeout(180)
def test_nodes_survive_a_flood_of_malformed_messages(tmp_path, person_clip):
    t_start = time.monotonic()
    cap = cv2.VideoCapture(str(person_clip))
    for _ in range(GOOD_FRAME + 1):
        ok, bgr = cap.read()
    cap.release()
    assert ok
    ns = ["--ros-args", "-r", "__ns:=/pose"]
    logs = {name: tmp_path / f"{name}.log" for name in ("est_raw", "est_comp", "tracker", "classifier")}
    procs = {
        "est_raw": start(["pose_estimator", *ns, "-r", "__node:=est_raw", "-r", "image:=/fuzz/image_raw",
                          "-r", "skeletons:=est_raw/skeletons", "-r", "markers:=est_raw/markers",
                          "-p", "image_reliability:=reliable"], logs["est_raw"]),
        "est_comp": start(["pose_estimator", *ns, "-r", "__node:=est_comp",
                           "-r", "image/compressed:=/fuzz/image_raw/compressed",
                           "-r", "skeletons:=est_comp/skeletons", "-r", "markers:=est_comp/markers",
                           "-p", "compressed:=true", "-p", "image_reliability:=reliable"], logs["est_comp"]),
        "tracker": start(["pose_tracker", *ns, "-r", "skeletons:=tracked", "-r", "markers:=tracked_markers"],
                         logs["tracker"]),
        "classifier": start(["action_classifier", *ns], logs["classifier"]),
    }
    ros = RosSession("fuzz_probe")
    try:
        est_raw_out = ros.collect(SkeletonArray, "/pose/est_raw/skeletons", OUT_QOS)
        est_comp_out = ros.collect(SkeletonArray, "/pose/est_comp/skeletons", OUT_QOS)
        tracked = ros.collect(SkeletonArray, "/pose/tracked", OUT_QOS)
        angles = ros.collect(JointAnglesArray, "/pose/joint_angles", OUT_QOS)
        actions = ros.collect(ActionArray, "/pose/actions", OUT_QOS)
        diags = ros.collect(DiagnosticArray, "/diagnostics", OUT_QOS)
        pub_img = ros.node.create_publisher(Image, "/fuzz/image_raw", FLOOD_QOS)
        pub_comp = ros.node.create_publisher(CompressedImage, "/fuzz/image_raw/compressed", FLOOD_QOS)
        pub_trk = ros.node.create_publisher(SkeletonArray, "/pose/skeletons_in", FLOOD_QOS)
        pub_cls = ros.node.create_publisher(SkeletonArray, "/pose/skeletons", FLOOD_QOS)

        # generate while the nodes start
        rng = np.random.default_rng(SEED)
        images = image_cases(rng, N_IMAGES)
        compressed = compressed_cases(rng, N_COMPRESSED)
        skel = skeleton_cases(rng, N_SKELETONS)
        t_gen = time.monotonic()

        def dump() -> str:
            return "\n".join(f"--- {n} (rc={p.poll()}):\n" + logs[n].read_text(errors="replace")[-3000:]
                             for n, p in procs.items())

        assert wait_for(lambda: all(p.get_subscription_count() > 0 for p in (pub_img, pub_comp, pub_trk, pub_cls))
                        and all(ros.node.count_publishers(t) > 0 for t in
                                ("/pose/est_raw/skeletons", "/pose/est_comp/skeletons", "/pose/tracked",
                                 "/pose/joint_angles")), 90), dump()
        t_ready = time.monotonic()

        # ---- the flood: all four streams interleaved; the first FULL_SPEED rounds without any
        # pause, then PACED_HZ rounds a second, so that it spans several rate-limit periods
        t_next = time.monotonic()
        for i in range(max(N_IMAGES, N_COMPRESSED, N_SKELETONS)):
            if i >= FULL_SPEED:
                t_next += 1.0 / PACED_HZ
                time.sleep(max(0.0, t_next - time.monotonic()))
            if i < N_IMAGES:
                pub_img.publish(images[i][2])
            if i < N_COMPRESSED:
                pub_comp.publish(compressed[i][2])
            if i < N_SKELETONS:
                pub_trk.publish(skel[i][1])
                pub_cls.publish(skel[i][1])
        # last: nobody in view, stamped by a clock 68 years ahead (held back actions until that time)
        future = SkeletonArray(image_width=640, image_height=480)
        future.header.stamp.sec, future.header.frame_id = I32_MAX, "cam"
        pub_trk.publish(future)
        pub_cls.publish(future)
        t_flood = time.monotonic()

        # ---- afterwards: a valid frame is answered correctly by each node
        h, w = bgr.shape[:2]
        good_sec = 900_000
        pub_img.publish(_image("bgr8", w, h, w * 3, bgr.tobytes(), sec=good_sec, frame_id="good_cam"))
        good_jpeg = CompressedImage(format="bgr8; jpeg compressed bgr8",
                                    data=array("B", cv2.imencode(".jpg", bgr)[1].tobytes()))
        good_jpeg.header.stamp.sec, good_jpeg.header.frame_id = good_sec, "good_cam"
        pub_comp.publish(good_jpeg)

        def answered(out: list) -> list:
            return [m for m in out if m.header.stamp.sec == good_sec]

        assert wait_for(lambda: answered(est_raw_out) and answered(est_comp_out), 60), dump()
        t_answer = time.monotonic() - t_flood
        assert t_answer < 20, f"the estimators took {t_answer:.1f} s to answer after the flood"
        for out in (est_raw_out, est_comp_out):
            m = answered(out)[0]
            assert m.header.frame_id == "good_cam" and (m.image_width, m.image_height) == (w, h)
            assert len(m.skeletons) >= 1, "the person in the valid frame is found"
            s = m.skeletons[0]
            kp = np.array([(k.x, k.y, k.score) for k in s.keypoints])
            seen = kp[:, 2] > 0.3
            assert seen.sum() >= 8 and np.isfinite(kp[seen]).all()
            x0, y0, x1, y1 = CLIP_PERSON_REGION
            cx, cy = np.mean(kp[seen, 0]) / w, np.mean(kp[seen, 1]) / h
            assert x0 - 0.05 < cx < x1 + 0.05 and y0 - 0.05 < cy < y1 + 0.05, (cx, cy)

        # tracker: two people in 5 frames get two distinct ids and the right stamps
        vrng = np.random.default_rng(1)
        for j in range(5):
            t = 50_000.0 + j / 15
            pub_trk.publish(valid_skeletons("v", t, vrng, n=2))
            sec = int(t // 1)
            assert wait_for(lambda: any(m.header.stamp.sec == sec and abs(m.header.stamp.nanosec -
                                                                          round((t % 1) * 1e9)) < 10
                                        for m in tracked), 30), dump()
        last = tracked[-1]
        assert last.header.stamp.sec == 50_000 and len(last.skeletons) == 2
        ids = {s.id for s in last.skeletons}
        assert len(ids) == 2 and "" not in ids
        assert all(s.track_state == Skeleton.STATE_TRACKED for s in last.skeletons)

        # classifier: one valid track for 1 s gets joint angles for every frame, and actions
        for j in range(15):
            t = 60_000.0 + j / 15
            pub_cls.publish(valid_skeletons("ok1", t, vrng))
            stamp = (int(t // 1), int(round((t % 1) * 1e9)))
            assert wait_for(lambda: any((a.header.stamp.sec, a.header.stamp.nanosec) == stamp and
                                        [p.id for p in a.people] == ["ok1"] for a in angles), 30), dump()
        assert wait_for(lambda: any(x.id == "ok1" and 60_000 <= a.header.stamp.sec <= 60_001
                                    for a in actions for x in a.actions), 10), \
            f"no actions for the valid track after the flood\n{dump()}"
        good_actions = [x for a in actions if 60_000 <= a.header.stamp.sec <= 60_001 for x in a.actions]
        assert {x.id for x in good_actions} == {"ok1"}
        assert all(abs(sum(x.class_scores) - 1.0) < 1e-3 for x in good_actions)
        t_valid = time.monotonic()

        # /diagnostics of every node, published (1 Hz) after the valid frames
        names = ("est_raw", "est_comp", "pose_tracker", "action_classifier")
        n_diags = len(diags)
        assert wait_for(lambda: all(diag_values(diags[n_diags:], f"/pose/{n}") for n in names), 15), \
            [st.name for a in diags[-10:] for st in a.status]
        diag = {n: diag_values(diags, f"/pose/{n}") for n in names}
        for name, p in procs.items():
            assert p.poll() is None, f"{name} died\n{dump()}"
    finally:
        rcs = {n: stop(p) for n, p in procs.items()}
        ros.close()
    t_end = time.monotonic()

    summaries = {n: log_summary(p) for n, p in logs.items()}
    summary = {n: x["counts"] for n, x in summaries.items()}
    n_bad_img = sum(1 for _, bad, _ in images if bad)
    n_bad_comp = sum(1 for _, bad, _ in compressed if bad)
    n_flipped = sum(1 for kind, _, _ in compressed if kind == "flipped")
    counters = {n: {k: d[k] for k in ("received", "processed", "bad input", "failed") if k in d}
                for n, d in diag.items()}
    report = (f"sent: {N_IMAGES} Image ({n_bad_img} invalid), {N_COMPRESSED} CompressedImage "
              f"({n_bad_comp} invalid, {n_flipped} corrupted inside), {N_SKELETONS} SkeletonArray x2\n"
              f"logs: {summary}\ndiag: {counters}\nexit codes: {rcs}\n"
              f"times: start {t_ready - t_start:.1f}s (gen {t_gen - t_start:.1f}s), flood {t_flood - t_ready:.1f}s, "
              f"valid {t_valid - t_flood:.1f}s (estimators answered after {t_answer:.1f}s), "
              f"total {t_end - t_start:.1f}s")
    print(report)
    for name, path in logs.items():
        text = path.read_text(errors="replace")
        assert "Traceback" not in text, f"{name}: {text[-3000:]}"
        assert not re.search(r"^\[ERROR\] (\[0\.0\]|fake)", text, re.M), f"{name}: a message field forged a log line"
        # every rejection is a typed input error, never an unexpected exception caught as a last resort
        assert not re.search(r"skipped: [A-Z]\w*(Error|Exception)\b", text), f"{name}: {text[-3000:]}"
    assert all(rc == 0 for rc in rcs.values()), report

    # rate-limited: each kind of problem at most once per period, and few kinds (values do not make new kinds)
    for name, x in summaries.items():
        for kind, times in x["kinds"].items():
            gaps = np.diff(sorted(times))
            assert (gaps > RATE_PERIOD - 0.5).all(), f"{name}: {kind!r} logged {len(times)}x, gaps {gaps}\n{report}"
        assert x["counts"]["kinds"] <= 12, f"{name}: {sorted(x['kinds'])}"
        assert x["counts"]["ERROR"] >= 1, f"{name} logged no error for the malformed input\n{report}"
        assert x["counts"]["ERROR"] <= x["counts"]["kinds"] * (math.ceil((t_end - t_ready) / RATE_PERIOD) + 1)
        assert "more like this suppressed" in logs[name].read_text(), f"{name}: nothing suppressed?\n{report}"
    # libjpeg prints one warning per decode of a jpeg corrupted inside (not truncated: those are refused
    # before decoding); only the newest frame is decoded, so that is bounded by the frames processed
    assert summary["est_comp"]["decoder"] <= min(n_flipped, int(diag["est_comp"]["processed"])), report
    assert summary["est_raw"]["decoder"] == 0, report

    # diagnostics count what was refused
    for name in ("est_raw", "est_comp", "pose_tracker", "action_classifier"):
        assert int(diag[name]["bad input"]) >= 1, report
    for name in ("est_raw", "est_comp"):
        assert int(diag[name]["received"]) >= int(diag[name]["bad input"]) + int(diag[name]["processed"]) - 1
    assert int(diag["pose_tracker"]["failed"]) == 0, report
