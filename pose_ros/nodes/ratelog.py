"""Rate-limited error logging keyed by the kind of problem.

rclpy's throttle is per call site, so one bad-input site would hide a different
problem behind the first; here each key (e.g. the encoding error text) is logged at
most once per period, with a count of what was suppressed.
"""
from __future__ import annotations

import time


class RateLimitedLog:
    def __init__(self, logger, period: float = 5.0) -> None:
        self._logger = logger
        self._period = period
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def error(self, key: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < self._period:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        n = self._suppressed.pop(key, 0)
        self._last[key] = now
        self._logger.error(text + (f" ({n} more like this suppressed)" if n else ""))
