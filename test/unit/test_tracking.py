"""Tracker on synthetic stick figures: identities through crossings, occlusions, resets."""
from __future__ import annotations

import time

import numpy as np
import pytest

from pose_ros.core.skeleton import NUM_COCO17, Person, TrackState
from pose_ros.core.tracking.similarity import body_shape, iou_matrix, oks
from pose_ros.core.tracking.assignment import assign
from pose_ros.core.tracking.tracker import Tracker, mint_id

FPS = 30.0

# Canonical figure in body heights: (x offset, height above the feet) per COCO joint.
# Limb lengths come from the per-person proportions below.


def figure(x: float, y_feet: float, height: float, props: dict[str, float] | None = None,
           phase: float = 0.0, noise: float = 0.0, rng: np.random.Generator | None = None,
           score: float = 0.9) -> Person:
    """A 17-keypoint stick figure standing at (x, y_feet), ``height`` pixels tall.

    ``props`` are limb lengths in body heights (shoulder/hip width, upper arm, forearm,
    thigh, shin) so different people have different shapes; ``phase`` swings arms/legs.
    """
    p = {"sw": 0.25, "hw": 0.18, "ua": 0.18, "fa": 0.15, "th": 0.24, "sh": 0.23}
    p.update(props or {})
    hip_y = p["th"] + p["sh"]           # above the feet
    sh_y = hip_y + 0.30
    head_y = sh_y + 0.13
    sw, hw = p["sw"] / 2, p["hw"] / 2
    leg, arm = 0.06 * np.sin(phase), -0.05 * np.sin(phase)
    pts = np.array([
        (0.0, head_y), (-0.02, head_y + 0.02), (0.02, head_y + 0.02),
        (-0.045, head_y + 0.005), (0.045, head_y + 0.005),
        (-sw, sh_y), (sw, sh_y),
        (-sw - 0.02 + arm, sh_y - p["ua"]), (sw + 0.02 - arm, sh_y - p["ua"]),
        (-sw - 0.02 + 2 * arm, sh_y - p["ua"] - p["fa"]), (sw + 0.02 - 2 * arm, sh_y - p["ua"] - p["fa"]),
        (-hw, hip_y), (hw, hip_y),
        (-hw + leg, hip_y - p["th"]), (hw - leg, hip_y - p["th"]),
        (-hw + 2 * leg, 0.0), (hw - 2 * leg, 0.0),
    ])
    kp = np.zeros((NUM_COCO17, 3), dtype=np.float32)
    kp[:, 0] = x + pts[:, 0] * height
    kp[:, 1] = y_feet - pts[:, 1] * height
    kp[:, 2] = 0.9
    if noise and rng is not None:
        kp[:, :2] += rng.normal(0.0, noise, (NUM_COCO17, 2))
    return Person(keypoints=kp, score=score)


SLIM = {"sw": 0.21, "hw": 0.15, "ua": 0.16, "fa": 0.13, "th": 0.27, "sh": 0.26}
BROAD = {"sw": 0.30, "hw": 0.22, "ua": 0.20, "fa": 0.17, "th": 0.21, "sh": 0.20}


def run(tracker: Tracker, frames: list[list[tuple[str, Person]]], t0: float = 0.0
        ) -> dict[str, list[str]]:
    """Feed frames of (ground-truth name, person); return name -> track id per frame seen."""
    ids: dict[str, list[str]] = {}
    for k, frame in enumerate(frames):
        out = tracker.update([p for _, p in frame], t0 + k / FPS)
        for name, p in frame:
            if any(p is q for q in out):
                ids.setdefault(name, []).append(p.track_id)
    return ids


def crossing(n: int = 90, occlude: bool = False, seed: int = 0) -> list[list[tuple[str, Person]]]:
    """A walks right, B walks left, same height and depth, overlapping for many frames."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        t = k / FPS
        xa, xb = 150 + 150 * t, 600 - 150 * t
        a = figure(xa, 400, 220, SLIM, phase=8 * t, noise=1.5, rng=rng)
        b = figure(xb, 405, 220, BROAD, phase=8 * t + 1, noise=1.5, rng=rng)
        frame = [("A", a)]
        if not (occlude and abs(xa - xb) < 60):     # B is hidden behind A while they overlap
            frame.append(("B", b))
        frames.append(frame)
    return frames


def test_helpers_iou_and_oks() -> None:
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    b = np.array([[5, 0, 15, 10]], float)
    m = iou_matrix(a, b)
    assert m.shape == (2, 1)
    assert m[0, 0] == pytest.approx(50 / 150)
    assert m[1, 0] == 0.0
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 1)
    p = figure(300, 400, 200).keypoints
    assert oks(p, p, 200 * 60) == pytest.approx(1.0)
    q = p.copy()
    q[:, :2] += 15
    assert 0.0 < oks(p, q, 200 * 60) < 0.9
    q[:, 2] = 0.0
    assert np.isnan(oks(p, q, 200 * 60))                   # nothing shared -> no evidence
    assert oks(np.stack([p, p])[:, None], np.stack([p, q, p])[None], 1e4).shape == (2, 3)
    s = body_shape(np.stack([figure(0, 0, 100, SLIM).keypoints, figure(0, 0, 300, SLIM).keypoints]))
    np.testing.assert_allclose(s[0], s[1], rtol=1e-4)      # shape does not depend on distance
    # A pair below the threshold must not be forced in at the cost of a good one.
    assert assign(np.array([[0.9, 0.0], [0.0, -np.inf]]), 0.2) == [(0, 0)]
    assert assign(np.zeros((0, 3)), 0.2) == []


def test_min_hits_and_tentative_removed_on_miss() -> None:
    tr = Tracker(min_hits=3)
    states = []
    for k in range(4):
        p = figure(100 + k, 300, 200)
        (out,) = tr.update([p], k / FPS)
        states.append(out.track_state)
    assert states == [TrackState.TENTATIVE, TrackState.TENTATIVE, TrackState.TRACKED, TrackState.TRACKED]
    first = tr.update([figure(400, 300, 200)], 5 / FPS)[0]         # a new tentative person
    assert first.track_state == TrackState.TENTATIVE
    tr.update([figure(104, 300, 200)], 6 / FPS)                    # ... who misses one frame
    again = tr.update([figure(104, 300, 200), figure(400, 300, 200)], 7 / FPS)[1]
    assert again.track_id != first.track_id                        # removed at once, new id


def test_crossing_keeps_ids() -> None:
    ids = run(Tracker(), crossing())
    assert len(set(ids["A"])) == 1 and len(set(ids["B"])) == 1
    assert ids["A"][0] != ids["B"][0]


def test_crossing_with_occlusion_keeps_ids() -> None:
    frames = crossing(occlude=True)
    assert sum(len(f) == 1 for f in frames) >= 8                   # B really was hidden
    ids = run(Tracker(), frames)
    assert len(set(ids["A"])) == 1, ids["A"]
    assert len(set(ids["B"])) == 1, ids["B"]
    assert ids["A"][0] != ids["B"][0]


@pytest.mark.parametrize("speed_after", [80.0, 0.0])   # walks on behind the pillar / stops there
def test_occluded_one_second_keeps_id(speed_after: float) -> None:
    rng = np.random.default_rng(1)
    tr = Tracker()
    ids, states = [], []
    x = 100.0
    for k in range(150):
        t = k / FPS
        hidden = 2.0 <= t < 3.0
        x += (80.0 if t < 2.0 else speed_after) / FPS
        people = [] if hidden else [figure(x, 400, 200, SLIM, phase=6 * t, noise=1.0, rng=rng)]
        out = tr.update(people, t)
        if out:
            ids.append(out[0].track_id)
            states.append(out[0].track_state)
        elif hidden and k == 75:
            assert tr.num_tracks == 1 and not out   # hidden: the one track is kept, lost
    assert len(ids) == 120 and len(set(ids)) == 1
    assert states[-1] == TrackState.TRACKED


@pytest.mark.parametrize("seed", range(5))
def test_small_person_stopping_behind_an_occluder_keeps_id(seed: int) -> None:
    """An 80 px walker (PETS09-sized) stops behind a sign for 0.7 s: motion prediction
    has carried the track on, so only re-identification can bring the id back, and
    at this size the limb ratios are mostly keypoint noise and must not veto it."""
    rng = np.random.default_rng(seed)
    tr = Tracker()
    ids = []
    for k in range(90):
        t = k / FPS
        x = 100.0 + 80.0 * min(t, 1.0)
        if 1.0 <= t < 1.7:
            assert tr.update([], t) == []
            continue
        out = tr.update([figure(x, 300, 80, SLIM, phase=6 * min(t, 1.0), noise=2.5, rng=rng)], t)
        ids += [p.track_id for p in out]
    assert len(ids) == 69 and len(set(ids)) == 1, ids


def test_new_person_gets_new_id_after_occlusion() -> None:
    """Someone else showing up where a hidden person was is not given their id."""
    rng = np.random.default_rng(2)
    tr = Tracker()
    for k in range(40):
        a = tr.update([figure(200 + k, 400, 200, SLIM, noise=1.0, rng=rng)], k / FPS)
    a_id = a[0].track_id
    for k in range(40, 70):
        assert tr.update([], k / FPS) == []
    # A much smaller person with other proportions appears 150 px away.
    b = tr.update([figure(390, 300, 120, BROAD, noise=1.0, rng=rng)], 70 / FPS)[0]
    assert b.track_id and b.track_id != a_id
    c = tr.update([figure(900, 400, 200, BROAD)], 71 / FPS)         # and someone far away
    assert c[0].track_id not in (a_id, b.track_id)


def test_ids_never_reused_long_random_scene_and_reset() -> None:
    rng = np.random.default_rng(3)
    tr = Tracker(max_age=0.5, reid_window=1.0)
    keep_for = 1.0
    people: dict[int, list[float]] = {}        # gt -> [x, y, vx, height]
    seen_at: dict[str, list[float]] = {}
    next_gt = 0
    t = 0.0
    ids_before_reset: set[str] = set()
    for k in range(600):
        if k == 300:
            ids_before_reset = set(seen_at)
            tr.reset()
        t += 1 / FPS
        if rng.random() < 0.08 and len(people) < 6:
            people[next_gt] = [rng.uniform(50, 600), rng.uniform(250, 450),
                               rng.uniform(-120, 120), rng.uniform(120, 250)]
            next_gt += 1
        for g in list(people):
            if rng.random() < 0.02:
                del people[g]
        frame = []
        for g, s in people.items():
            s[0] += s[2] / FPS
            if rng.random() > 0.1:                                   # detector misses 10 %
                frame.append(figure(s[0], s[1], s[3], noise=2.0, rng=rng,
                                    score=float(rng.uniform(0.3, 1.0))))
        for p in tr.update(frame, t):
            seen_at.setdefault(p.track_id, []).append(t)
    assert len(seen_at) > 30
    for tid, ts in seen_at.items():
        gaps = np.diff(ts)
        # An id absent longer than a lost track lives must never come back.
        assert gaps.size == 0 or gaps.max() <= keep_for + 1.5 / FPS, (tid, gaps.max())
    after = set(seen_at) - ids_before_reset
    assert after and all(min(seen_at[i]) > 300 / FPS for i in after)
    assert not any(max(seen_at[i]) > 301 / FPS and min(seen_at[i]) < 300 / FPS for i in seen_at)


def test_mint_id_is_a_bijection_across_widths() -> None:
    ids = [mint_id(n) for n in range(4096 + 70000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 3 for i in ids[:4096]) and len(ids[4096]) == 4
    assert ids[:5] != sorted(ids[:5]) and "000" not in ids[:100]    # looks scrambled


def test_stamp_going_backwards_resets_cleanly() -> None:
    tr = Tracker()
    for k in range(10):
        old = tr.update([figure(200, 400, 200), figure(500, 400, 200, BROAD)], 100 + k / FPS)
    old_ids = {p.track_id for p in old}
    assert tr.num_tracks == 2
    new = tr.update([figure(200, 400, 200), figure(500, 400, 200, BROAD)], 100.0)  # bag loop
    assert tr.resets == 1
    assert {p.track_state for p in new} == {TrackState.TENTATIVE}
    assert not old_ids & {p.track_id for p in new}
    assert tr.num_tracks == 2
    tr.update([figure(200, 400, 200)], 1000.0)                      # huge jump forward
    assert tr.resets == 2 and tr.num_tracks == 1


def test_robust_to_nan_empty_and_crowds() -> None:
    tr = Tracker()
    assert tr.update([], 0.0) == []
    nan_kp = np.full((NUM_COCO17, 3), np.nan, np.float32)
    boxed = Person(keypoints=nan_kp.copy(), score=0.9, box=np.array([10, 10, 50, 120], np.float32))
    nothing = Person(keypoints=nan_kp.copy(), score=0.9)                       # no box, no joints
    weird = figure(300, 400, 200)
    weird.keypoints[3:8, :2] = np.nan                                          # NaN with score 0.9
    low = figure(500, 400, 200, score=0.05)
    bad_shape = Person(keypoints=np.zeros((5, 3), np.float32), score=0.9,
                       box=np.array([600, 10, 650, 120], np.float32))
    for k in range(5):
        out = tr.update([boxed, nothing, weird, low, bad_shape], 0.1 + k / FPS)
    assert all(any(p is q for q in out) for p in (boxed, weird, bad_shape))
    assert not any(p is q for q in out for p in (nothing, low))
    assert len({p.track_id for p in out}) == 3
    assert tr.update([], 1.0) == []

    rng = np.random.default_rng(4)
    tr = Tracker()
    base = [(rng.uniform(0, 1800), rng.uniform(150, 1000), rng.uniform(60, 200)) for _ in range(50)]
    start = time.perf_counter()
    for k in range(20):
        crowd = [figure(x + 2 * k, y, h, noise=1.0, rng=rng) for x, y, h in base]
        out = tr.update(crowd, k / FPS)
    per_frame = (time.perf_counter() - start) / 20
    assert len(out) == 50 and len({p.track_id for p in out}) == 50
    assert all(p.track_state == TrackState.TRACKED for p in out)
    assert per_frame < 0.1, f"{per_frame * 1e3:.1f} ms per frame with 50 people"


def test_set_params_is_checked_like_the_constructor() -> None:
    """A live change goes through the constructor's checks: low_score above high_score would
    silently drop every person scored between them (it used to be accepted by setattr)."""
    tr = Tracker()
    tr.update([figure(200, 400, 200)], 1.0)
    with pytest.raises(ValueError):
        tr.set_params(low_score=0.9)
    assert (tr.low_score, tr.high_score) == (0.05, 0.15) and tr.num_tracks == 1
    with pytest.raises(ValueError):
        tr.set_params(max_age=2.0, reid_window=float("nan"))      # atomic: max_age not taken
    assert tr.max_age == 1.0
    with pytest.raises(TypeError):
        tr.set_params(id_seed=3)
    tr.set_params(high_score=0.95, low_score=0.9)
    assert (tr.low_score, tr.high_score) == (0.9, 0.95) and tr.num_tracks == 1


def test_reset_gap_follows_reid_window() -> None:
    tr = Tracker(reid_window=3.0, reset_gap=5.0, min_hits=1)
    tr.set_params(reid_window=20.0)
    assert tr.reset_gap == 20.0, "a lost track kept 20 s must survive a 10 s gap"
    tr.update([figure(200, 400, 200)], 1.0)
    tr.update([], 11.0)
    assert tr.resets == 0 and tr.num_tracks == 1
    tr.set_params(reid_window=1.0)
    assert tr.reset_gap == 5.0


@pytest.mark.parametrize("handle", [True, False])
def test_the_backends_follow_handle_keeps_a_jumping_small_person(handle: bool) -> None:
    """A small person whose refreshed crop lands 45 px off the predicted box (a 60 px person's
    prediction several frames old, under a crop budget) keeps the id when the backend says it
    followed them (Person.follow); without the handle the jump starts a new track (a third of
    the height would not: re-identification takes a track that just missed, see below)."""
    tr = Tracker(min_hits=1)
    ids = []
    for i in range(8):
        x = 100.0 + (45.0 if i % 2 else 0.0)       # jumps back and forth by three quarters of a box height
        p = figure(x, 200.0, 60.0)
        p.follow = 7 if handle else -1
        ids += [q.track_id for q in tr.update([p], i / 30)]
    assert (len(set(ids)) == 1) == handle, ids


def test_a_track_that_just_missed_keeps_its_person() -> None:
    """A newcomer crop's pose of a person followed a frame ago: a bit off, smaller, limbs
    elsewhere, so the motion match (OKS + IoU) misses; re-identification takes it, and the
    id stays. A different body at a third of a height beside them does not take the id."""
    tr = Tracker(min_hits=1)
    ids = [q.track_id for i in range(3) for q in tr.update([figure(100 + 2 * i, 200, 60)], i / 30)]
    ids += [q.track_id for q in tr.update([figure(116, 200, 52, phase=1.2)], 3 / 30)]
    assert len(set(ids)) == 1, ids
    tr = Tracker(min_hits=1)
    ids = [q.track_id for i in range(3) for q in tr.update([figure(100 + 2 * i, 200, 60)], i / 30)]
    other = figure(124, 200, 60, props={"sw": 0.35, "th": 0.3}, phase=1.2)
    assert tr.update([other], 3 / 30)[0].track_id not in ids


def test_a_follow_handle_is_still_gated_by_speed() -> None:
    tr = Tracker(min_hits=1, max_speed=300.0)
    a = figure(100.0, 200.0, 60.0)
    a.follow = 3
    first = tr.update([a], 0.0)[0].track_id
    b = figure(600.0, 200.0, 60.0)        # 500 px in 33 ms: not the same person, whatever the handle says
    b.follow = 3
    assert tr.update([b], 1 / 30)[0].track_id != first


def _coloured(p: Person, hue: int) -> Person:
    """``p`` wearing one colour (torso and thighs): the descriptor the pipeline would cut."""
    from pose_ros.core.tracking import appearance as colour
    import cv2
    img = np.zeros((480, 800, 3), np.uint8)
    img[:] = cv2.cvtColor(np.array([[[hue, 200, 180]]], np.uint8), cv2.COLOR_HSV2RGB)[0, 0]
    p.appearance = colour.describe(img, p.keypoints)
    return p


@pytest.mark.parametrize("weight", [0.0, 0.6])
def test_clothing_colour_keeps_a_hidden_persons_track_off_their_neighbour(weight: float) -> None:
    """Red walks right towards blue, who stands; on the frame red is hidden, blue leans into the
    place red's track expects. By position alone red's track takes blue (an id switch); with
    colour it does not."""
    tr = Tracker(min_hits=1, appearance_weight=weight)
    ids_red, ids_blue = [], []
    for k in range(12):
        red = _coloured(figure(100 + 12 * k, 400, 200, SLIM), 0)
        blue = _coloured(figure(260 if k < 10 else 100 + 12 * k, 400, 200, BROAD), 120)
        frame = [blue] if k == 10 else [red, blue]
        tr.update(frame, k / FPS)
        if k < 10:
            ids_red.append(red.track_id)
        ids_blue.append(blue.track_id)
    switched = ids_blue[10] == ids_red[0]
    assert switched == (weight == 0.0), (ids_red, ids_blue)


def test_colour_descriptor_and_similarity() -> None:
    from pose_ros.core.tracking import appearance as colour
    a, b = _coloured(figure(200, 400, 200), 0).appearance, _coloured(figure(200, 400, 200), 120).appearance
    assert a is not None and a.shape == (2 * colour.SIZE,)
    sim = colour.similarity(np.stack([a, b]), np.stack([a, b]))
    assert sim[0, 0] > 0.99 and sim[1, 1] > 0.99 and sim[0, 1] < 0.1
    no_shoulders = figure(200, 400, 200)
    no_shoulders.keypoints[5:7, 2] = 0.0
    assert colour.describe(np.zeros((480, 800, 3), np.uint8), no_shoulders.keypoints) is None
    half = a.copy()
    half[colour.SIZE:] = np.nan                       # thighs not shown: compared on the torso
    assert colour.similarity(half[None], a[None])[0, 0] > 0.99
    assert np.isnan(colour.similarity(np.full((1, 2 * colour.SIZE), np.nan), a[None]))[0, 0]
