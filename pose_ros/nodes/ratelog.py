"""Rate-limited error logging keyed by the kind of problem.

rclpy's throttle is per call site, so one bad-input site would hide a different
problem behind the first; here each key (e.g. the encoding error text) is logged at
most once per period, with a count of what was suppressed.

Keys are normalised: numbers and quoted values are masked, so "truncated: 214 bytes"
and "truncated: 114 bytes" are one kind of problem, not one log line per value in a
flood of malformed messages. The text is put on one line (control characters escaped,
so a message field cannot forge log lines) and capped in length.
"""
from __future__ import annotations

import re
import time

_VALUES = re.compile(r"'[^']*(?:'|$)|\"[^\"]*(?:\"|$)|[-+]?\d[\d.e+-]*", re.IGNORECASE)
_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): " ", 127: "\\x7f"}
MAX_TEXT = 600   # characters per log line
MAX_KEYS = 256   # distinct problem kinds remembered


def problem_key(key: str) -> str:
    """``key`` with numbers and quoted values masked: one key per kind of problem."""
    return _VALUES.sub("#", key)


def one_line(text: str, limit: int = MAX_TEXT) -> str:
    text = text.translate(_CONTROL)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


class RateLimitedLog:
    def __init__(self, logger, period: float = 5.0) -> None:
        self._logger = logger
        self._period = period
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def error(self, key: str, text: str) -> None:
        now = time.monotonic()
        key = problem_key(key)
        if key not in self._last and len(self._last) >= MAX_KEYS:
            self._forget_old(now)
            if len(self._last) >= MAX_KEYS:
                key = "\0other"   # too many kinds at once: the rest share one limit
        if now - self._last.get(key, -1e9) < self._period:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        n = self._suppressed.pop(key, 0)
        self._last[key] = now
        self._logger.error(one_line(text) + (f" ({n} more like this suppressed)" if n else ""))

    def _forget_old(self, now: float) -> None:
        """Drop the kinds that have been quiet for a whole period (nothing left to report)."""
        for k in [k for k, t in self._last.items() if now - t >= self._period and not self._suppressed.get(k)]:
            del self._last[k]
