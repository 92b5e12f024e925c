"""Latest transforms between named frames, for PoseClient where tf2_ros is missing (the PyPI venv).

A system ROS install has tf2_ros' Buffer, which PoseClient uses there. The venv has no
tf2_ros, so :class:`TransformTree` keeps the latest transform of each child frame from
/tf and /tf_static and chains them through their common ancestor. It answers "where is
``source`` in ``target`` now" only: no interpolation in time, unlike tf2's Buffer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Transform", "TransformTree", "matrix_from_quaternion"]


def matrix_from_quaternion(q: tuple[float, float, float, float]) -> np.ndarray:
    """3x3 rotation of a unit quaternion (x, y, z, w); normalised first."""
    x, y, z, w = np.asarray(q, dtype=np.float64) / max(float(np.linalg.norm(q)), 1e-12)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


@dataclass(frozen=True)
class Transform:
    """Pose of a child frame in its parent: p_parent = rotation @ p_child + translation."""

    rotation: np.ndarray      # (3, 3)
    translation: np.ndarray   # (3,)

    @staticmethod
    def identity() -> Transform:
        return Transform(np.eye(3), np.zeros(3))

    def __matmul__(self, other: Transform) -> Transform:
        return Transform(self.rotation @ other.rotation, self.rotation @ other.translation + self.translation)

    def inverse(self) -> Transform:
        r = self.rotation.T
        return Transform(r, -r @ self.translation)


class TransformTree:
    """child frame -> (parent frame, latest Transform, stamp s); newer stamps replace older ones."""

    def __init__(self) -> None:
        self._edges: dict[str, tuple[str, Transform, float]] = {}

    def set(self, parent: str, child: str, translation, quaternion, stamp: float) -> None:
        old = self._edges.get(child)
        if old is not None and old[0] == parent and stamp < old[2]:
            return   # an older transform arriving late
        self._edges[child] = (parent, Transform(matrix_from_quaternion(quaternion),
                                                np.asarray(translation, dtype=np.float64)), float(stamp))

    def _to_root(self, frame: str) -> tuple[list[str], Transform, float]:
        """(frames from ``frame`` up to its root, pose of ``frame`` in that root, oldest stamp on the way)."""
        chain, pose, oldest = [frame], Transform.identity(), float("inf")
        while frame in self._edges and len(chain) <= len(self._edges) + 1:
            parent, t, stamp = self._edges[frame]
            pose, oldest, frame = t @ pose, min(oldest, stamp), parent
            chain.append(frame)
        return chain, pose, oldest

    def lookup(self, target: str, source: str) -> tuple[Transform, float] | None:
        """Pose of ``source`` in ``target`` (p_target = T @ p_source) and the oldest stamp used
        (inf when only the identity was needed), or None when the frames are not connected."""
        src_chain, src_pose, src_t = self._to_root(source)
        tgt_chain, tgt_pose, tgt_t = self._to_root(target)
        if src_chain[-1] != tgt_chain[-1]:
            return None
        return tgt_pose.inverse() @ src_pose, min(src_t, tgt_t)

    def forget(self, child: str) -> None:
        self._edges.pop(child, None)
