"""Frame sizes written ``WIDTHxHEIGHT``, as flags and variables of both halves take them."""

from __future__ import annotations

SIDE_RANGE = (16, 4096)


def parse_canvas(raw: str, name: str) -> tuple[int, int]:
    """``540x960`` -> ``(540, 960)``; ``name`` (the flag or variable read) is in the error."""
    width, sep, height = raw.strip().lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise ValueError(f"{name} must look like 1080x1920, got {raw!r}")
    size = (int(width), int(height))
    low, high = SIDE_RANGE
    if not all(low <= n <= high for n in size):
        raise ValueError(f"{name} must be between {low} and {high} pixels a side, got {raw!r}")
    return size
