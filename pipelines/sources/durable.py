"""Writing files so that a crash leaves either the old version or the new one, never half.

Each helper writes under a temporary name in the destination folder, fsyncs the file,
renames it into place and fsyncs the folder, so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import BinaryIO


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to the disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_chunk(handle: BinaryIO, chunk: bytes, path: Path) -> None:
    """Write a chunk to an open file; an OSError (disk full…) names the file, which a bare write() error does not."""
    try:
        handle.write(chunk)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def replace_durably(source: Path, target: Path) -> None:
    """Rename `source` over `target` (same file system) once its bytes are on the disk."""
    fsync_file(source)
    os.replace(source, target)
    fsync_dir(Path(target).parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: readers see the old bytes or the new ones."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
