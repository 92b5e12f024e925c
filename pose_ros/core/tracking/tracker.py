"""Multi-person tracker: who is who from frame to frame, driven by header stamps.

ByteTrack-style two-stage association on a constant-velocity Kalman box model:

1. confident detections vs all live tracks (tentative, tracked, and lost for at
   most ``max_age`` s), similarity = weighted OKS (predicted keypoints vs detected
   keypoints, COCO sigmas) + box IoU, times a clothing-colour factor, time-gated by
   ``max_speed``;
2. low-score detections vs the same tracks still unmatched (a person half
   hidden keeps their track, but a weak detection never starts one);
3. confident detections still unmatched vs lost tracks up to ``reid_window`` s
   old, and vs live tracks that just missed (at ``JUST_MISSED_SIM``; they keep
   their motion model), by position, size, body shape (limb lengths / torso;
   weighed less for small people, whose limb ratios are mostly keypoint noise) and clothing colour
   (``Person.appearance``, when the pipeline gave one; ``appearance_weight``), so a
   person who walks behind a pillar for a second comes back with the same id, and
   the one who walked past them does not take it.

Life cycle: tentative -> tracked (after ``min_hits`` hits) -> lost -> removed. A
tentative track that misses one frame is removed at once. A lost track is removed
``max(max_age, reid_window)`` s after its last hit: ``max_age`` is how long its
motion prediction is trusted for ordinary matching, ``reid_window`` how long its
identity is remembered for re-identification.

Time only ever comes from ``stamp`` (image header stamps), never the wall clock or
a frame count, so a replayed bag gives the same ids. Stamps going backwards (bag
loop) or jumping by more than ``reset_gap`` drop all tracks; the id counter is
kept, so an id is never reused within one Tracker's life.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_ros.core.tracking import appearance as colour
from pose_ros.core.tracking import kalman
from pose_ros.core.tracking.assignment import assign
from pose_ros.core.tracking.detections import accept
from pose_ros.core.tracking.ids import mint_id
from pose_ros.core.tracking.similarity import body_shape, iou_matrix, oks, shape_similarity
from pose_ros.core.skeleton import NUM_COCO17, Person, TrackState

# Body shape (limb lengths / torso) only tells people apart once limbs are long next to
# keypoint noise: on a 250 px person a forearm is ~40 px and 3 px of noise is 7 %,
# inside shape_similarity's 10 % scale; on an 80 px one it is 25 %, and the same
# person's shape "differs" from frame to frame. So re-identification weighs shape
# by the smaller person's height, fully from this height up (PETS09's 80 px walkers
# kept their ids better so; docs/benchmarks.md).
SHAPE_FULL_HEIGHT = 250.0
# A live track that missed its motion match (a newcomer crop's pose unlike its last: low OKS)
# may take a person in re-identification from this similarity: a third of PETS09's new ids in
# lock-step were such people, a frame after their last hit; lower, a track took a neighbour.
JUST_MISSED_SIM = 0.5
_SHAPE_WEIGHT = 0.75         # at full height: position x size x (0.25 + 0.75 shape)


@dataclass(eq=False)
class _Track:
    id: str
    keypoints: np.ndarray   # (17, 3) last observed
    obs: np.ndarray         # (4,) last observed box, cx cy w h
    shape: np.ndarray       # (6,) running body-shape descriptor
    score: float
    last_seen: float
    hits: int = 1
    state: TrackState = TrackState.TENTATIVE
    follow: int = -1        # the backend's own handle on this person last frame (Person.follow), -1: none
    confirmed: bool = False
    appearance: np.ndarray | None = None   # running clothing-colour descriptor (tracking.appearance)


class Tracker:
    """Assigns stable short ids to people across frames. Pure Python, no ROS."""

    def __init__(self, *, min_hits: int = 3, max_age: float = 1.0, reid_window: float = 3.0,
                 high_score: float = 0.15, low_score: float = 0.05,
                 match_threshold: float = 0.2, low_match_threshold: float = 0.35,
                 reid_threshold: float = 0.3, max_speed: float = 2000.0,
                 oks_weight: float = 0.6, iou_weight: float = 0.4,
                 kp_min_score: float = 0.2, reset_gap: float = 5.0, appearance_weight: float = 0.6) -> None:
        self._params: dict[str, float] = {}
        self.set_params(min_hits=min_hits, max_age=max_age, reid_window=reid_window, high_score=high_score,
                        low_score=low_score, match_threshold=match_threshold,
                        low_match_threshold=low_match_threshold, reid_threshold=reid_threshold,
                        max_speed=max_speed, oks_weight=oks_weight, iou_weight=iou_weight,
                        kp_min_score=kp_min_score, reset_gap=reset_gap, appearance_weight=appearance_weight)
        self.resets = 0                      # stamp jumps seen, for diagnostics
        self._next = 0                       # id counter: never reset
        self._last_stamp: float | None = None
        self._tracks: list[_Track] = []
        self._x = np.zeros((0, 8))
        self._P = np.zeros((0, 8, 8))
        self._apps = np.zeros((0, 2 * colour.SIZE), np.float32)   # this frame's people's colours

    @property
    def params(self) -> dict[str, float]:
        """The parameters as given (``reset_gap`` before it is raised to cover the track lifetimes)."""
        return dict(self._params)

    def set_params(self, **changes: float) -> None:
        """Change parameters, also while tracking: checked as at construction and the derived
        values recomputed; a refused change (ValueError, TypeError for an unknown name)
        leaves the tracker untouched. Running tracks keep their ids and states."""
        bad = set(changes) - set(self._params or changes)   # construction passes them all
        if bad:
            raise TypeError(f"unknown tracker parameters: {sorted(bad)}")
        p = {**self._params, **changes}
        high_score, low_score, max_age = float(p["high_score"]), float(p["low_score"]), float(p["max_age"])
        reid_window, reset_gap, max_speed = float(p["reid_window"]), float(p["reset_gap"]), float(p["max_speed"])
        oks_weight, iou_weight = float(p["oks_weight"]), float(p["iou_weight"])
        appearance_weight = float(p["appearance_weight"])
        if not 0.0 <= appearance_weight <= 1.0:
            raise ValueError(f"appearance_weight must be in [0, 1], got {appearance_weight}")
        if not 0.0 <= low_score <= high_score:
            raise ValueError(f"need 0 <= low_score <= high_score, got low_score {low_score}, "
                             f"high_score {high_score}")
        if not (max_age >= 0 and reid_window >= 0 and max_speed > 0 and oks_weight + iou_weight > 0):
            raise ValueError("max_age, reid_window >= 0; max_speed and weights > 0")
        if not (0.0 <= max_age <= kalman.MAX_DT and 0.0 <= reid_window <= kalman.MAX_DT
                and reset_gap <= kalman.MAX_DT):   # False for NaN too
            raise ValueError(f"max_age, reid_window and reset_gap must be finite and <= "
                             f"{kalman.MAX_DT:g} s")
        self._params = p
        self.min_hits = max(1, int(p["min_hits"]))
        self.max_age, self.reid_window = max_age, reid_window
        self.high_score, self.low_score = high_score, low_score
        self.match_threshold, self.low_match_threshold = p["match_threshold"], p["low_match_threshold"]
        self.reid_threshold, self.max_speed = p["reid_threshold"], max_speed
        self.oks_weight, self.iou_weight = oks_weight, iou_weight
        self.kp_min_score = p["kp_min_score"]
        self.appearance_weight = appearance_weight
        # A gap longer than every lost track's lifetime is a reset anyway.
        self.reset_gap = max(reset_gap, self.max_age, self.reid_window)

    # ---------------------------------------------------------------- public
    def reset(self) -> None:
        """Drop every track (ids already handed out stay used)."""
        self._tracks, self._last_stamp = [], None
        self._x, self._P = np.zeros((0, 8)), np.zeros((0, 8, 8))

    @property
    def num_tracks(self) -> int:
        """Tracks alive in any state (tentative, tracked or lost)."""
        return len(self._tracks)

    def update(self, people: list[Person], stamp: float) -> list[Person]:
        """Track one frame; returns the accepted people (same objects) with ids and states set.

        Dropped: people scoring below ``low_score``, people with neither a box nor a
        valid keypoint, and low-score (< ``high_score``) people that continue no track.
        Garbage is tolerated, never an exception: keypoints that are not (17, 3) are
        ignored, non-finite or out-of-range (``skeleton.MAX_COORD``) joints count as
        unseen, and a box that is not 4 finite, ordered, in-range numbers is replaced by
        the keypoint box. Only a non-finite ``stamp`` is a ValueError.
        """
        stamp = float(stamp)
        if not np.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._last_stamp is not None and not 0.0 <= stamp - self._last_stamp <= self.reset_gap:
            self.reset()
            self.resets += 1
        dt = 0.0 if self._last_stamp is None else stamp - self._last_stamp
        self._last_stamp = stamp

        dets, boxes, kps, scores = accept(people, self.low_score)
        self._apps = np.array([p.appearance if p.appearance is not None else np.full(2 * colour.SIZE, np.nan)
                               for p in dets], np.float32).reshape(len(dets), 2 * colour.SIZE)
        self._prune(stamp, dt)
        motion, reid = self._associate(stamp, boxes, kps, scores, np.array([p.follow for p in dets], int))
        z = kalman.xyxy_to_cxcywh(boxes)
        shapes = body_shape(kps, self.kp_min_score) if len(dets) else np.zeros((0, 6))
        self._update_states(stamp, motion, reid, dets, kps, scores, z, shapes)
        matched = set(motion.values()) | set(reid.values())
        new = [j for j in np.flatnonzero(scores >= self.high_score) if j not in matched]
        self._births(stamp, new, dets, kps, scores, z, shapes)
        keep = matched | set(new)
        return [p for j, p in enumerate(dets) if j in keep]

    # --------------------------------------------------------------- the steps of update
    def _prune(self, stamp: float, dt: float) -> None:
        """Predict every track to ``stamp`` and forget lost ones past both matching windows."""
        self._x, self._P = kalman.predict(self._x, self._P, dt)
        keep_for = max(self.max_age, self.reid_window)
        self._keep([not (t.state == TrackState.LOST and stamp - t.last_seen > keep_for)
                    for t in self._tracks])

    def _associate(self, stamp: float, boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray,
                   follow: np.ndarray) -> tuple[dict[int, int], dict[int, int]]:
        """(motion, reid): track index -> detection index, in four stages: people the backend
        followed from a track's person of last frame (``Person.follow``), then high-score
        people by motion, then low-score ones by motion, then lost tracks re-identified
        among the high-score people left."""
        tracks = self._tracks
        elapsed = np.array([stamp - t.last_seen for t in tracks])
        state = np.array([int(t.state) for t in tracks], dtype=int)
        lost = state == TrackState.LOST
        motion = self._followed(follow, boxes, elapsed)
        taken = set(motion.values())
        high = np.array([j for j in np.flatnonzero(scores >= self.high_score) if j not in taken], dtype=int)
        low = np.array([j for j in np.flatnonzero(scores < self.high_score) if j not in taken], dtype=int)
        reid: dict[int, int] = {}
        t1 = np.array([i for i in np.flatnonzero(~lost | (elapsed <= self.max_age)) if i not in motion], dtype=int)
        for i, j in assign(self._motion_sim(t1, high, boxes, kps, elapsed), self.match_threshold):
            motion[int(t1[i])] = int(high[j])
        t2 = np.array([i for i in t1 if i not in motion], dtype=int)
        for i, j in assign(self._motion_sim(t2, low, boxes, kps, elapsed), self.low_match_threshold):
            motion[int(t2[i])] = int(low[j])
        used = set(motion.values())
        t3 = np.array([i for i in np.flatnonzero(~lost | (elapsed <= self.reid_window))
                       if i not in motion], dtype=int)
        d3 = np.array([j for j in high if j not in used], dtype=int)
        sim = self._reid_sim(t3, d3, boxes, kps, elapsed)
        live = ~lost[t3]
        sim[live] = np.where(sim[live] >= JUST_MISSED_SIM, sim[live], -np.inf)
        for i, j in assign(sim, self.reid_threshold):
            (reid if lost[t3[i]] else motion)[int(t3[i])] = int(d3[j])
        return motion, reid

    def _followed(self, follow: np.ndarray, boxes: np.ndarray, elapsed: np.ndarray) -> dict[int, int]:
        """Track -> detection for people a top-down backend followed crop to crop: its handle
        says "the person of last frame's detection j", which the track holding that handle
        matched. Crops of small people jump by keypoint noise between refreshes; the handle
        does not. Still gated by ``max_speed``, so a crop that slid far is matched as usual."""
        out: dict[int, int] = {}
        if not len(follow) or not (follow >= 0).any():
            return out
        by_handle = {t.follow: i for i, t in enumerate(self._tracks)
                     if t.follow >= 0 and (t.state != TrackState.LOST or elapsed[i] <= self.max_age)}
        pairs = [(by_handle[h], j) for j, h in enumerate(follow.tolist()) if h >= 0 and h in by_handle]
        if not pairs:
            return out
        ti = np.array([i for i, _ in pairs])
        centers = kalman.xyxy_to_cxcywh(boxes[[j for _, j in pairs]])[:, :2]
        far = self._gate(ti, centers, self._x[ti, :2], elapsed).diagonal()
        return {i: j for (i, j), bad in zip(pairs, far) if not bad}

    def _update_states(self, stamp: float, motion: dict[int, int], reid: dict[int, int], dets: list[Person],
                       kps: np.ndarray, scores: np.ndarray, z: np.ndarray, shapes: np.ndarray) -> None:
        """Kalman updates of the matched tracks, then the state machine: matched tracks gain a
        hit (confirmed at min_hits), unmatched tentative ones die, unmatched others are lost."""
        if motion:
            ti = np.fromiter(motion.keys(), int)
            self._x[ti], self._P[ti] = kalman.update(self._x[ti], self._P[ti], z[list(motion.values())])
        if reid:  # velocity before the occlusion means little now: restart the motion model
            ti = np.fromiter(reid.keys(), int)
            self._x[ti], self._P[ti] = kalman.init_state(z[list(reid.values())])
        alive = []
        for i, t in enumerate(self._tracks):
            j = motion.get(i, reid.get(i))
            if j is None:
                if t.state == TrackState.TENTATIVE:
                    alive.append(False)
                    continue
                if t.state == TrackState.TRACKED:
                    self._x[i, 6:] = 0.0   # a hidden person's box does not keep growing
                t.state = TrackState.LOST
            else:
                t.hits += 1
                t.confirmed = t.confirmed or t.hits >= self.min_hits
                t.state = TrackState.TRACKED if t.confirmed else TrackState.TENTATIVE
                self._observe(t, dets[j], kps[j], z[j], shapes[j], float(scores[j]), stamp)
            alive.append(True)
        self._keep(alive)

    def _births(self, stamp: float, new: list[int], dets: list[Person], kps: np.ndarray, scores: np.ndarray,
                z: np.ndarray, shapes: np.ndarray) -> None:
        """A new track for each unmatched high-score person (confirmed at once when min_hits <= 1)."""
        if not new:
            return
        x, P = kalman.init_state(z[new])
        self._x, self._P = np.concatenate([self._x, x]), np.concatenate([self._P, P])
        for j in new:
            t = _Track(id=mint_id(self._next), keypoints=kps[j], obs=z[j],
                       shape=shapes[j].copy(), score=float(scores[j]), last_seen=stamp, follow=dets[j].follow,
                       appearance=colour.blend(None, dets[j].appearance))
            self._next += 1
            t.confirmed = self.min_hits <= 1
            t.state = TrackState.TRACKED if t.confirmed else TrackState.TENTATIVE
            self._tracks.append(t)
            self._tag(dets[j], t)

    # --------------------------------------------------------------- helpers
    def _keep(self, mask: list[bool]) -> None:
        if all(mask):
            return
        m = np.array(mask, dtype=bool)
        self._tracks = [t for t, k in zip(self._tracks, mask) if k]
        self._x, self._P = self._x[m], self._P[m]

    def _predicted_keypoints(self, ti: np.ndarray) -> np.ndarray:
        """Last keypoints moved and scaled with the box from its last observation to now."""
        if len(ti) == 0:
            return np.zeros((0, NUM_COCO17, 3))
        kp = np.stack([self._tracks[i].keypoints for i in ti]).copy()
        obs = np.stack([self._tracks[i].obs for i in ti])
        pred = self._x[ti, :4]
        scale = (pred[:, 3] / np.maximum(obs[:, 3], 1.0))[:, None, None]
        kp[..., :2] = (kp[..., :2] - obs[:, None, :2]) * scale + pred[:, None, :2]
        return kp

    def _gate(self, ti: np.ndarray, centers: np.ndarray, ref: np.ndarray,
              elapsed: np.ndarray) -> np.ndarray:
        """True where a detection is too far for the time elapsed (max_speed * dt + box size)."""
        size = np.max(self._x[ti, 2:4], axis=1)
        radius = self.max_speed * elapsed[ti] + size
        return np.linalg.norm(centers[None] - ref[:, None], axis=2) > radius[:, None]

    def _motion_sim(self, ti: np.ndarray, di: np.ndarray, boxes: np.ndarray,
                    kps: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
        if len(ti) == 0 or len(di) == 0:
            return np.zeros((len(ti), len(di)))
        pred = self._x[ti, :4]
        tb, db = kalman.cxcywh_to_xyxy(pred), boxes[di]
        iou = iou_matrix(tb, db)
        dz = kalman.xyxy_to_cxcywh(db)
        gated = self._gate(ti, dz[:, :2], pred[:, :2], elapsed)
        # OKS only for the pairs the gate lets through: an (N, M, 17) product for a crowd
        # of a thousand people would take seconds and gigabytes, mostly on far pairs
        ii, jj = np.nonzero(~gated)
        area = np.sqrt((pred[ii, 2] * pred[ii, 3]) * (dz[jj, 2] * dz[jj, 3]))
        o = np.full(gated.shape, np.nan)
        o[ii, jj] = oks(self._predicted_keypoints(ti)[ii], kps[di][jj], area, self.kp_min_score)
        both = (self.oks_weight * np.nan_to_num(o) + self.iou_weight * iou) / (
            self.oks_weight + self.iou_weight)
        # clothes that differ: a track whose person was hidden for a frame does not slide onto
        # the one beside them (PETS09: 0.74 -> 0.77 mean IDF1 with single frames left out)
        sim = np.where(np.isnan(o), iou, both) * self._colour_factor(ti, di)
        sim[gated] = -np.inf
        return sim

    def _reid_sim(self, ti: np.ndarray, di: np.ndarray, boxes: np.ndarray,
                  kps: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
        """Position x size x body shape; position is the distance to the path between
        where the track was last seen and where its motion model puts it now, so both
        a person who stopped behind the pillar and one who walked on are found."""
        if len(ti) == 0 or len(di) == 0:
            return np.zeros((len(ti), len(di)))
        dz = kalman.xyxy_to_cxcywh(boxes[di])
        obs = np.stack([self._tracks[i].obs for i in ti])
        a, b, p = obs[:, None, :2], self._x[ti, None, :2], dz[None, :, :2]
        ab = b - a
        u = np.clip(np.sum((p - a) * ab, axis=2) / np.maximum(np.sum(ab * ab, axis=2), 1e-9), 0, 1)
        dist = np.linalg.norm(p - (a + u[..., None] * ab), axis=2)
        sigma = obs[:, 3:4] * (0.3 + 0.5 * elapsed[ti, None])
        pos = np.exp(-0.5 * (dist / sigma) ** 2)
        th, dh = obs[:, 3:4], dz[None, :, 3]
        smaller = np.minimum(th, dh)
        size = smaller / np.maximum(th, dh)
        shp = shape_similarity(np.stack([self._tracks[i].shape for i in ti]),
                               body_shape(kps[di], self.kp_min_score))
        w = _SHAPE_WEIGHT * np.clip(smaller / SHAPE_FULL_HEIGHT, 0.0, 1.0)
        sim = pos * size * (1.0 - w + w * np.nan_to_num(shp, nan=0.5)) * self._colour_factor(ti, di)
        far = dist > self.max_speed * elapsed[ti, None] + obs[:, 2:4].max(axis=1)[:, None]
        sim[far] = -np.inf
        return sim

    def _colour_factor(self, ti: np.ndarray, di: np.ndarray) -> np.ndarray:
        """Tracks ``ti`` vs this frame's people ``di``: :func:`appearance.factor`."""
        if self.appearance_weight <= 0 or not len(ti) or not len(di):
            return np.ones((len(ti), len(di)))
        return colour.factor([self._tracks[i].appearance for i in ti], self._apps[di], self.appearance_weight)

    def _observe(self, t: _Track, p: Person, kp: np.ndarray, z: np.ndarray,
                 shape: np.ndarray, score: float, stamp: float) -> None:
        t.keypoints, t.obs, t.last_seen, t.score, t.follow = kp, z, stamp, score, p.follow
        seen = np.isfinite(shape)
        fresh = seen & ~np.isfinite(t.shape)
        t.shape = np.where(fresh, shape, np.where(seen, 0.8 * t.shape + 0.2 * shape, t.shape))
        t.appearance = colour.blend(t.appearance, p.appearance)
        self._tag(p, t)

    @staticmethod
    def _tag(p: Person, t: _Track) -> None:
        p.track_id, p.track_state = t.id, t.state
