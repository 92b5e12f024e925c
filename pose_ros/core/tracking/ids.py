"""Track ids: short, never reused within a tracker's life (REP-155 asks the same of body ids)."""
from __future__ import annotations


def mint_id(n: int) -> str:
    """Counter -> short id: 3 hex chars for the first 4096, then 4, 5...

    Each width is its own block of counter values mixed by a bijection (odd
    multiply + xorshift mod 2^bits), so ids look random ("a3f", "7c1") yet
    can never repeat; different widths can never collide as strings.
    """
    width, base = 3, 0
    while n - base >= 16 ** width:
        base += 16 ** width
        width += 1
    bits = 4 * width
    mask = (1 << bits) - 1
    x = ((n - base) * 0x9E3779B1 + 0x7F4A7C15) & mask
    x ^= x >> (bits // 2)
    x = (x * 0x85EBCA6B) & mask
    return format(x, f"0{width}x")


__all__ = ["mint_id"]
