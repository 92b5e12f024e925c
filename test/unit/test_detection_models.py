"""The converted models (NanoDet + MoveNet Thunder), their runtimes and the thunder backend.

The converted ONNX files are built by `make setup` (scripts/build_models.py) into the
model cache; the real-model tests skip with a message when they are absent. The
people tests use frame 60 of the cached demo clip: a man doing jumping jacks on a
box (left) and a woman walking (right); a third person far away is not expected.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import read_demo_rgb
from pose_ros.core import models
from pose_ros.core.detection import crops, nanodet
from pose_ros.core.detection.runtime import Model
from pose_ros.core.skeleton import COCO17_FLIP, Coco

DEMO_FRAME = 60
MAN = (480, 30, 760, 500)       # pixels of the 1768x994 frame
WOMAN = (1270, 520, 1550, 960)


def _converted_or_skip(name: str) -> Path:
    try:
        return models.resolve_converted(name)
    except models.ModelError as exc:
        pytest.skip(f"converted model not built: {exc}")


@pytest.fixture(scope="module")
def thunder_path() -> Path:
    return _converted_or_skip("movenet-thunder-v4.onnx")


@pytest.fixture(scope="module")
def nanodet_path() -> Path:
    return _converted_or_skip("nanodet-m-416.onnx")


@pytest.fixture(scope="module")
def backend(thunder_path, nanodet_path):
    from pose_ros.core.detection import create_backend
    b = create_backend("thunder")
    yield b
    b.close()


def _inside(kp: np.ndarray, region: tuple[int, int, int, int], min_score: float = 0.3) -> int:
    ok = kp[:, 2] > min_score
    x, y = kp[ok, 0], kp[ok, 1]
    return int(((x >= region[0]) & (x <= region[2]) & (y >= region[1]) & (y <= region[3])).sum())


# ---------------------------------------------------------------- the backend on a real frame

def test_thunder_backend_finds_both_people(backend):
    rgb = read_demo_rgb(DEMO_FRAME)
    people = backend.infer(rgb)
    for region in (MAN, WOMAN):
        best = max((_inside(p.keypoints, region) for p in people), default=0)
        assert best >= 14, f"no skeleton with 14+ confident joints in {region}: {[p.box for p in people]}"
    assert 2 <= len(people) <= 3
    man = max(people, key=lambda p: _inside(p.keypoints, MAN))
    kp = man.keypoints
    assert kp[Coco.NOSE, 1] < kp[Coco.LEFT_HIP, 1] < kp[Coco.LEFT_ANKLE, 1]  # upright
    assert all(p.box is not None and 0.0 < p.score <= 1.0 for p in people)


def _frames(b, first: int, n: int, budget=None, fps: float = 30.0) -> list:
    return [b.infer_frame(read_demo_rgb(DEMO_FRAME + first + i), (first + i) / fps, budget) for i in range(n)]


def test_thunder_video_mode_follows_without_detector(thunder_path, nanodet_path):
    from pose_ros.core.detection.thunder import ThunderBackend
    b = ThunderBackend(detect_period=1.0)
    b.stats.update(frames=0, detections=0)
    counts = [len(p) for p in _frames(b, 0, 4)]
    assert b.stats["detections"] == 1, b.stats          # one detection, then three frames followed
    assert all(c >= 2 for c in counts), counts
    b.reset()
    b.infer_frame(read_demo_rgb(DEMO_FRAME), 10.0)
    assert b.stats["detections"] == 2                   # reset forgets the people: detect again
    b.close()


def test_followed_people_keep_detector_like_boxes(thunder_path, nanodet_path):
    """Between detections a person's box comes from the pose; it should be the box the
    detector would have drawn (the old crop box was a third too wide: IoU 0.77-0.78)."""
    from pose_ros.core.detection.thunder import ThunderBackend
    from pose_ros.core.geometry import iou_matrix
    follow = ThunderBackend(detect_period=1.0, detect_async=False)
    follow.stats.update(frames=0, detections=0)          # not the start-up dry run
    followed = _frames(follow, 0, 4)[-1]
    follow.close()
    assert follow.stats["detections"] == 1
    detect = ThunderBackend()
    detected = detect.infer(read_demo_rgb(DEMO_FRAME + 3))
    detect.close()
    iou = iou_matrix(np.array([p.box for p in followed]), np.array([p.box for p in detected]))
    assert len(followed) >= 2 and (iou.max(axis=1) >= 0.82).all(), iou


def test_thunder_background_detector_keeps_everyone(thunder_path, nanodet_path):
    from pose_ros.core.detection.thunder import ThunderBackend
    b = ThunderBackend(detect_period=0.05, detect_latency=0.05, detect_async=True)
    b.stats.update(frames=0, detections=0)
    counts = [len(p) for p in _frames(b, 0, 8)]
    assert all(c >= 2 for c in counts), counts
    assert b.stats["detections"] >= 3, b.stats       # the first inline, later ones in the background
    b.close()


def test_budget_poses_some_and_predicts_the_rest(thunder_path, nanodet_path):
    """One crop a frame for two people: each frame one is posed and the other predicted,
    and nobody's pose gets older than max_pose_age."""
    from pose_ros.core.detection.thunder import ThunderBackend
    b = ThunderBackend(detect_period=10.0, max_pose_age=0.2, priority_people=0)
    frames = _frames(b, 0, 12, budget=1.0)
    b.close()
    for people in frames[1:]:
        assert len(people) >= 2
        assert sum(not p.predicted for p in people) <= 1
        assert all((p.pose_age > 0) == p.predicted for p in people)
        assert max(p.pose_age for p in people) <= 0.2 + 1 / 30 + 1e-6
    assert sum(p.predicted for people in frames[1:] for p in people) >= 10
    for region in (MAN, WOMAN):   # predicted poses stay on their person
        assert all(max(_inside(p.keypoints, region) for p in people) >= 12 for people in frames), region


def test_video_mode_is_a_function_of_frames_and_stamps(thunder_path, nanodet_path):
    """Background detector, budget and threads active: two runs give the same people."""
    from pose_ros.core.detection.thunder import ThunderBackend

    def run():
        b = ThunderBackend(detect_period=0.1, detect_latency=0.05, small_person_height=300)
        out = [[(p.predicted, p.box.round(3).tolist(), p.keypoints.round(3).tolist()) for p in people]
               for people in _frames(b, 0, 10, budget=1.5)]
        b.close()
        return out
    assert run() == run()


def test_a_pose_sliding_onto_another_body_makes_the_next_frame_detect(thunder_path, nanodet_path):
    """Two followed crops that land on one body are merged to one person; the other
    person is then unfollowed, so the next frame must detect rather than wait a period."""
    from pose_ros.core.detection.followed import Followed
    from pose_ros.core.detection.thunder import ThunderBackend
    b = ThunderBackend(detect_period=10.0, detect_latency=0.0, detect_async=False)
    b.stats.update(frames=0, detections=0)
    b.infer_frame(read_demo_rgb(DEMO_FRAME), 0.0)
    man = max(b.video.people, key=lambda t: _inside(t.kp, MAN))
    slid = Followed(man.kp + np.array([4.0, 2.0, 0.0], np.float32), man.box, man.box_score, man.stamp)
    b.video.people = [man, slid]                  # the woman's crop drifted onto the man
    merged = b.infer_frame(read_demo_rgb(DEMO_FRAME + 1), 1 / 30)
    assert len(merged) == 1
    assert b.stats["detections"] == 2, b.stats    # started on this frame, not a period later
    again = b.infer_frame(read_demo_rgb(DEMO_FRAME + 2), 2 / 30)
    b.close()
    assert max(_inside(p.keypoints, WOMAN) for p in again) >= 14


def test_newcomers_are_boxes_no_followed_person_holds():
    """People side by side overlap by 0.3-0.5: such a box is still someone new."""
    from pose_ros.core.detection.follow import newcomers
    held = np.array([[100, 100, 140, 200]], np.float32)
    boxes = np.array([[100, 100, 140, 200],      # the followed person again
                      [115, 100, 155, 200],      # IoU 0.45: the person beside him
                      [300, 100, 340, 200]], np.float32)
    assert newcomers(boxes, held).tolist() == [False, True, True]
    # with match_iou a followed person also explains the one box they overlap most from that
    # IoU on (a drifted report), and still not the person beside them
    drifted = np.array([[118, 100, 158, 200], [300, 100, 340, 200]], np.float32)   # IoU 0.38 with held
    assert newcomers(drifted, held).tolist() == [True, True]
    assert newcomers(drifted, held, match_iou=0.3).tolist() == [False, True]
    pair = np.array([[104, 100, 144, 200], [124, 100, 164, 200]], np.float32)      # IoU 0.82 and 0.29
    assert newcomers(pair, held, match_iou=0.25).tolist() == [False, True]
    assert newcomers(boxes, np.zeros((0, 4))).all()
    assert newcomers(np.zeros((0, 4)), held).shape == (0,)


def test_flip_and_refine_keep_the_people(thunder_path, nanodet_path):
    from pose_ros.core.detection.thunder import ThunderBackend
    b = ThunderBackend(flip=True, refine=True)
    people = b.infer(read_demo_rgb(DEMO_FRAME))
    assert max(_inside(p.keypoints, MAN) for p in people) >= 14
    b.close()


# ---------------------------------------------------------------- runtimes agree

def test_openvino_matches_onnxruntime_on_thunder(thunder_path):
    pytest.importorskip("openvino")
    crop = crops.cut(read_demo_rgb(DEMO_FRAME), crops.square_around(np.array(MAN, np.float32), 0.25), 256)
    x = crop[None].astype(np.int32)
    ov = Model(thunder_path, engine="openvino").run(x)[0]
    ort = Model(thunder_path, engine="onnxruntime").run(x)[0]
    assert ov.shape == ort.shape == (1, 1, 17, 3)
    np.testing.assert_allclose(ov, ort, atol=1e-4)
    assert (ort[0, 0, :, 2] > 0.3).sum() >= 14


def test_openvino_matches_onnxruntime_on_nanodet(nanodet_path):
    pytest.importorskip("openvino")
    x, _, _ = nanodet.preprocess(read_demo_rgb(DEMO_FRAME))
    ov = Model(nanodet_path, engine="openvino").outputs_by_name(x)
    ort = Model(nanodet_path, engine="onnxruntime").outputs_by_name(x)
    assert ov.keys() == ort.keys() and len(ov) == 6
    for k in ov:
        np.testing.assert_allclose(ov[k], ort[k], atol=1e-4)


def test_movenet_multipose_openvino_matches_litert():
    pytest.importorskip("openvino")
    pytest.importorskip("ai_edge_litert")
    from pose_ros.core.detection.movenet import MoveNetBackend
    from pose_ros.core.detection.movenet_fast import MoveNetFastBackend
    try:
        fast = MoveNetFastBackend(engine="openvino")
    except models.ModelError as exc:
        pytest.skip(str(exc))
    lite = MoveNetBackend()
    rgb = read_demo_rgb(DEMO_FRAME)
    for image in (rgb, rgb[:480, :640]):   # two input shapes: one network each
        np.testing.assert_allclose(fast.run(image), lite.run(image), atol=1e-3)
    assert len(fast.infer(rgb)) == len(lite.infer(rgb)) >= 2
    fast.close()
    lite.close()


# ---------------------------------------------------------------- decoding

def _nanodet_outputs(hot: dict[int, tuple[int, float, tuple[float, float, float, float]]]) -> list[np.ndarray]:
    """Zero-score NanoDet outputs with one person cell per stride: index, score, (l, t, r, b) in strides."""
    out_cls, out_reg = [], []
    for stride in nanodet.STRIDES:
        n = (nanodet.INPUT_SIZE // stride) ** 2
        cls = np.zeros((1, n, 80), np.float32)
        reg = np.full((1, n, 44), -50.0, np.float32)
        if stride in hot:
            idx, score, dist = hot[stride]
            cls[0, idx, nanodet.PERSON] = score
            cls[0, idx, 5] = 0.99   # a bus: another class, ignored
            for side, d in enumerate(dist):   # two neighbouring bins: expectation d
                lo = int(np.floor(d))
                frac = d - lo
                logits = np.full(11, -50.0)
                logits[lo] = np.log(max(1 - frac, 1e-9))
                if lo + 1 < 11:
                    logits[lo + 1] = np.log(max(frac, 1e-9))
                reg[0, idx, side * 11:(side + 1) * 11] = logits
        out_cls.append(cls)
        out_reg.append(reg)
    return out_cls[::-1] + out_reg   # order must not matter: levels are found by shape


def test_nanodet_decodes_a_box():
    side = nanodet.INPUT_SIZE // 16
    idx = 10 * side + 4                         # cell (x=4, y=10) of stride 16: centre (72, 168)
    outs = _nanodet_outputs({16: (idx, 0.8, (2.0, 3.5, 1.0, 4.0))})
    boxes, scores = nanodet.decode_people(outs, width=832, height=600, sx=0.5, sy=0.5, min_score=0.3)
    assert scores.tolist() == pytest.approx([0.8])
    np.testing.assert_allclose(boxes[0], np.array([72 - 32, 168 - 56, 72 + 16, 168 + 64]) * 2, atol=1e-3)
    boxes, _ = nanodet.decode_people(outs, 832, 416, 0.5, 0.5, min_score=0.9)
    assert len(boxes) == 0


def test_preprocess_letterbox_keeps_aspect():
    rgb = np.full((100, 200, 3), 255, np.uint8)
    x, sx, sy = nanodet.preprocess(rgb)
    assert x.shape == (1, 3, 416, 416) and sx == sy == pytest.approx(416 / 200)
    assert np.all(x[0, :, 208:, :] == 0)             # padding is the mean colour: zero
    assert x[0, 0, 0, 0] > 0 and x[0, :, :208].min() > 1.5   # white, BGR-normalised


def test_crop_round_trip_maps_points_back():
    rgb = np.zeros((300, 400, 3), np.uint8)
    rgb[120, 250] = 255                              # one bright pixel at x=250, y=120
    square = crops.square_around(np.array([200, 50, 300, 250], np.float32), 0.25)
    assert square.tolist() == pytest.approx([250, 150, 250])
    crop = crops.cut(rgb, square, 250)
    cy, cx = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    yxs = np.array([[(cy + 0.5) / 250, (cx + 0.5) / 250, 0.9]] * 17, np.float32)
    kp = crops.to_image(yxs, square)
    assert kp[0, :2] == pytest.approx([250.5, 120.5], abs=1.0)


def test_unflip_swaps_sides_and_mirrors():
    yxs = np.random.default_rng(0).random((17, 3)).astype(np.float32)
    back = crops.unflip(yxs)
    assert back[Coco.LEFT_WRIST, 1] == pytest.approx(1 - yxs[Coco.RIGHT_WRIST, 1])
    assert back[Coco.LEFT_WRIST, 0] == yxs[Coco.RIGHT_WRIST, 0]
    np.testing.assert_allclose(crops.unflip(back), yxs, atol=1e-6)
    assert COCO17_FLIP[COCO17_FLIP].tolist() == list(range(17))
    merged = crops.merge_flip(yxs, yxs)
    np.testing.assert_allclose(merged, yxs, atol=1e-6)


def test_merge_same_body_drops_the_weaker_copy():
    from pose_ros.core.detection.follow import Found, merge_same_body
    kp = np.column_stack([np.linspace(0, 100, 17), np.linspace(0, 200, 17), np.full(17, 0.9)]).astype(np.float32)
    box = np.array([0, 0, 100, 200], np.float32)
    other = kp.copy()
    other[:, 0] += 400
    kept = merge_same_body([Found(0.5, kp + 1, box, 0.5), Found(0.9, kp, box, 0.9),
                            Found(0.7, other, box + [400, 0, 400, 0], 0.7)])
    assert [k.score for k in kept] == [0.9, 0.7]
    # a measured pose beats a predicted copy of the same body, whatever their scores
    kept = merge_same_body([Found(0.9, kp, box, 0.9, predicted=True, age=0.1), Found(0.5, kp + 1, box, 0.5)])
    assert [k.predicted for k in kept] == [False]


# ---------------------------------------------------------------- resolver errors

def _fake_cache(tmp_path, monkeypatch, content: bytes, recorded: bytes | None = None,
                sources: dict | None = None) -> Path:
    monkeypatch.setenv("POSE_ROS_CACHE", str(tmp_path))
    folder = models.converted_dir()
    folder.mkdir(parents=True)
    name = "nanodet-m-416.onnx"
    (folder / name).write_bytes(content)
    entry = {"sha256": hashlib.sha256(content if recorded is None else recorded).hexdigest(),
             "sources": models.CONVERTED_SOURCES[name] if sources is None else sources}
    (folder / models.CONVERTED_MANIFEST).write_text(json.dumps({"models": {name: entry}}))
    return folder / name


def test_missing_converted_model_says_run_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_ROS_CACHE", str(tmp_path))
    with pytest.raises(models.ModelError, match=r"movenet-thunder-v4\.onnx is missing.*make setup") as err:
        models.resolve_converted("movenet-thunder-v4.onnx")
    assert "\n" not in str(err.value)


def test_corrupt_converted_model_is_refused(tmp_path, monkeypatch):
    path = _fake_cache(tmp_path, monkeypatch, b"not the model", recorded=b"the model")
    with pytest.raises(models.ModelError, match=rf"{path.name} has sha256 .*make setup"):
        models.resolve_converted(path.name)


def test_model_from_other_sources_is_refused(tmp_path, monkeypatch):
    path = _fake_cache(tmp_path, monkeypatch, b"x", sources={"nanodet.json": "0" * 64})
    with pytest.raises(models.ModelError, match="other sources.*make setup"):
        models.resolve_converted(path.name)


def test_unloadable_model_names_file_and_fix(tmp_path, monkeypatch):
    path = _fake_cache(tmp_path, monkeypatch, b"garbage that hashes right")
    assert models.resolve_converted(path.name) == path   # hash matches what the manifest says
    with pytest.raises(models.ModelError, match=rf"{path.name}.*make setup") as err:
        Model(path)
    assert "\n" not in str(err.value)
    from pose_ros.core.detection import BackendError, create_backend
    with pytest.raises(BackendError, match=r"\.onnx.*make setup"):
        create_backend("thunder")


def test_openvino_is_used_without_its_telemetry(tmp_path, thunder_path):
    """`import openvino` alone writes ~/intel/openvino_ga_cid and queues a Google Analytics
    event from a child process (opt-out telemetry); the package's engines load it without:
    nothing under HOME, openvino_telemetry never imported, and the model still runs."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env["HOME"] = str(tmp_path)
    prog = ("import sys, numpy as np\n"
            "from pose_ros.core.detection.runtime import Model\n"
            f"m = Model({str(thunder_path)!r}, engine='openvino')\n"
            "out = m.run(np.zeros((1, 256, 256, 3), np.int32))\n"
            "print(m.engine, sys.modules.get('openvino_telemetry'), out[0].shape)\n")
    r = subprocess.run([sys.executable, "-c", prog], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:2] == ["openvino", "None"], r.stdout
    assert not (tmp_path / "intel").exists(), sorted(p.name for p in (tmp_path / "intel").iterdir())
