"""Hypothesis draws over a file's bytes that do not depend on the file's length.

A workbook or an archive written twice does not always have the same length (openpyxl
stamps the time in docProps/core.xml, and deflate turns that into a different size), so a
draw such as `st.integers(1, len(original) - 1)` changes its bounds between hypothesis's
replays and fails with FlakyStrategyDefinition. These draw a fraction of the length instead.
"""

from __future__ import annotations

from hypothesis import strategies as st

PER_MILLE = st.integers(0, 999)


def cut_short(data, blob: bytes, label: str = "length") -> bytes:
    """The blob cut after a drawn share of it: at least one byte, never all of it."""
    length = max(1, len(blob) * data.draw(PER_MILLE, label=label) // 1000)
    return blob[: min(length, len(blob) - 1)]


def positions(data, blob: bytes, *, max_size: int, label: str = "positions") -> list[int]:
    """Byte positions inside the blob, drawn as shares of its length."""
    shares = data.draw(st.lists(PER_MILLE, min_size=1, max_size=max_size), label=label)
    return [len(blob) * share // 1000 for share in shares]


def overwritten(data, blob: bytes, *, max_size: int) -> bytes:
    """The blob with a few bytes, at drawn positions, replaced by drawn values."""
    broken = bytearray(blob)
    for position in positions(data, blob, max_size=max_size):
        broken[position] = data.draw(st.integers(0, 255))
    return bytes(broken)


BYTE_FAULTS = ("empty", "random", "truncated", "overwritten")


def byte_fault(data, blob: bytes, how: str) -> bytes:
    """The blob broken one of the BYTE_FAULTS ways: emptied, replaced by random bytes, cut short,
    or a few bytes overwritten."""
    if how == "empty":
        return b""
    if how == "random":
        return data.draw(st.binary(min_size=1, max_size=300), label="bytes")
    if how == "truncated":
        return cut_short(data, blob)
    if how == "overwritten":
        return overwritten(data, blob, max_size=6)
    raise ValueError(f"not a byte fault: {how}")
