"""An Excel 97-2003 (.xls) writer for text cells: the few BIFF8 records and the OLE2 container.

No .xls writer is among the dependencies. A workbook stream is BOF, one BOUNDSHEET per
sheet, EOF, then per sheet BOF, DIMENSIONS, one LABEL per non-empty text cell, EOF; it is
stored as the "Workbook" stream of an OLE2 compound file of 512-byte sectors. The header
lists up to 109 FAT sectors (a stream of about 7 MB); a larger workbook, such as a national
one, lists the others in DIFAT sectors.
"""

from __future__ import annotations

import struct
from pathlib import Path

_SECTOR = 512
_END_OF_CHAIN, _FAT_SECTOR, _DIFAT_SECTOR, _FREE = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC, 0xFFFFFFFF
_MINI_STREAM_CUTOFF = 4096  # a smaller stream would have to go in the mini stream: it is padded instead
_HEADER_FAT_SECTORS = 109  # FAT sector numbers the header holds
_NUMBERS_PER_SECTOR = _SECTOR // 4  # sector numbers a FAT or DIFAT sector holds
_DIFAT_ENTRIES = _NUMBERS_PER_SECTOR - 1  # the last one points to the next DIFAT sector

Sheet = tuple[str, list]  # (name, rows of text cells)


def workbook_bytes(sheets: list[Sheet]) -> bytes:
    """An .xls file holding the sheets [(name, rows of text cells)], in that order."""
    return b"".join(_compound_file(_workbook_stream(sheets)))


def write_workbook(path: Path, sheets: list[Sheet]) -> Path:
    """The same file, written part by part to `path`."""
    with open(path, "wb") as target:
        for part in _compound_file(_workbook_stream(sheets)):
            target.write(part)
    return path


def _workbook_stream(sheets: list[Sheet]) -> bytes:
    streams = [_sheet_stream(rows) for _, rows in sheets]
    globals_size = len(_bof(0x0005)) + sum(len(_boundsheet(0, name)) for name, _ in sheets) + len(_record(0x000A))
    offsets = [globals_size + sum(len(s) for s in streams[:i]) for i in range(len(streams))]
    workbook = _bof(0x0005) + b"".join(_boundsheet(o, name) for o, (name, _) in zip(offsets, sheets))
    return workbook + _record(0x000A) + b"".join(streams)


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(substream: int) -> bytes:
    """BIFF8 beginning of the workbook globals (0x0005) or of a worksheet (0x0010)."""
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, substream, 0x0DBB, 0x07CC, 0, 6))


def _utf16(text: str) -> tuple[int, bytes]:
    """A BIFF8 string's length, in UTF-16 code units (a character beyond U+FFFF counts two), and its bytes."""
    encoded = text.encode("utf-16-le")
    return len(encoded) // 2, encoded


def _boundsheet(offset: int, name: str) -> bytes:
    units, encoded = _utf16(name)
    return _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, units, 1) + encoded)


def _sheet_stream(rows: list) -> bytes:
    width = max((len(row) for row in rows), default=0)
    cells = b"".join(
        _record(0x0204, struct.pack("<HHHHB", r, c, 0, units, 1) + encoded)
        for r, row in enumerate(rows) for c, text in enumerate(row) if text for units, encoded in [_utf16(text)]
    )  # fmt: skip
    dimensions = _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    return _bof(0x0010) + dimensions + cells + _record(0x000A)


def _compound_file(stream: bytes) -> list[bytes]:
    """The OLE2 container's parts: header, the "Workbook" stream and its padding, one directory sector, FAT, DIFAT."""
    size = max(len(stream), _MINI_STREAM_CUTOFF)
    sectors = -(-size // _SECTOR)
    fats, difats = 1, 0
    while fats * _NUMBERS_PER_SECTOR < sectors + 1 + fats + difats:
        fats += 1
        difats = -(-max(0, fats - _HEADER_FAT_SECTORS) // _DIFAT_ENTRIES)
    fat_sectors = list(range(sectors + 1, sectors + 1 + fats))
    first_difat = sectors + 1 + fats
    fat = [*range(1, sectors), _END_OF_CHAIN, _END_OF_CHAIN] + [_FAT_SECTOR] * fats + [_DIFAT_SECTOR] * difats
    fat += [_FREE] * (fats * _NUMBERS_PER_SECTOR - len(fat))
    listed, rest = fat_sectors[:_HEADER_FAT_SECTORS], fat_sectors[_HEADER_FAT_SECTORS:]
    difat = b""
    for index in range(difats):
        chunk = rest[index * _DIFAT_ENTRIES : (index + 1) * _DIFAT_ENTRIES]
        following = first_difat + index + 1 if index + 1 < difats else _END_OF_CHAIN
        difat += struct.pack(f"<{_DIFAT_ENTRIES + 1}I", *chunk, *[_FREE] * (_DIFAT_ENTRIES - len(chunk)), following)
    directory = (
        _directory_entry("Root Entry", 5, child=1, start=_END_OF_CHAIN, size=0)
        + _directory_entry("Workbook", 2, child=_FREE, start=0, size=size)
        + _directory_entry("", 0, child=_FREE, start=0, size=0) * 2
    )
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
        + struct.pack("<9I", 0, fats, sectors, 0, _MINI_STREAM_CUTOFF, _END_OF_CHAIN, 0,
                      first_difat if difats else _END_OF_CHAIN, difats)
        + struct.pack(f"<{_HEADER_FAT_SECTORS}I", *listed, *[_FREE] * (_HEADER_FAT_SECTORS - len(listed)))
    )  # fmt: skip
    return [header, stream, bytes(sectors * _SECTOR - len(stream)), directory, struct.pack(f"<{len(fat)}I", *fat), difat]


def _directory_entry(name: str, kind: int, *, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1 if name else 0)
        + struct.pack("<III", _FREE, _FREE, child) + bytes(36) + struct.pack("<IQ", start, size)
    )  # fmt: skip
