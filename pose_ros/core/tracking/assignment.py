"""Matching tracks to people: the optimal assignment (scipy) with a similarity threshold."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def assign(sim: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs maximising the summed margin ``sim - threshold`` over pairs above it.

    Pairs below the threshold cost 0, the same as staying unmatched: with a big
    "forbidden" cost instead, a rectangular problem forces some assignment onto
    them and the solver breaks a good pair elsewhere to make that one cheaper.
    """
    if sim.size == 0:
        return []
    sim = np.nan_to_num(sim, nan=-np.inf)
    rows, cols = linear_sum_assignment(np.where(sim >= threshold, threshold - sim, 0.0))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if sim[r, c] >= threshold]


__all__ = ["assign"]
