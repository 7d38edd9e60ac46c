"""Safe reading and extraction of ZIP and tar archives.

Archives come from outside, so every member is checked before anything is
written or returned: no absolute paths, no ``..`` components, no symbolic or
hard links, no device files, a bounded number of members, and a bounded
number of uncompressed bytes (counted while reading, since the sizes declared
in the archive headers can lie). Any violation raises ``ArchiveError``.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import ArchiveError

CHUNK_SIZE = 1024 * 1024
DEFAULT_MAX_MEMBERS = 10_000
DEFAULT_MAX_TOTAL_BYTES = 2 * 1024**3
DEFAULT_MAX_MEMBER_BYTES = 512 * 1024**2

# Errors the archive libraries raise on damaged input.
# NotImplementedError: what zipfile raises for a version or a compression method it cannot read
_CORRUPT = (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, NotImplementedError)
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class _Entry:
    name: str  # normalised: '/' separators, no leading './'
    parts: tuple[str, ...]
    is_dir: bool
    size: int  # as declared in the archive
    info: zipfile.ZipInfo | tarfile.TarInfo


def _safe_parts(raw_name: str, archive: Path) -> tuple[str, ...]:
    """Split a member name into path components, refusing anything that could escape."""
    name = raw_name.replace("\\", "/")
    if "\x00" in name:
        raise ArchiveError(f"archive {archive} has a member name containing a NUL byte: {raw_name!r}",
                           archive=archive, member=raw_name)
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveError(
            f"archive {archive} contains the absolute path {raw_name!r}; refusing to use it",
            archive=archive, member=raw_name,
        )
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ArchiveError(
            f"archive {archive} contains the member {raw_name!r}, which points outside the "
            f"extraction folder ('..'); refusing to use it",
            archive=archive, member=raw_name,
        )
    return parts


def _zip_entry(info: zipfile.ZipInfo, archive: Path, archive_bytes: int) -> _Entry:
    parts = _safe_parts(info.filename, archive)
    if not 0 <= info.header_offset < archive_bytes:  # a damaged directory: zipfile would fail on seek
        raise ArchiveError(f"archive {archive} is damaged: member {info.filename!r} starts at byte {info.header_offset},"
                           f" outside the file ({archive_bytes} bytes)", archive=archive, member=info.filename)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise ArchiveError(f"archive {archive} contains the symbolic link {info.filename!r}; refusing it",
                           archive=archive, member=info.filename)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveError(f"archive {archive} contains the special file {info.filename!r}; refusing it",
                           archive=archive, member=info.filename)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"archive {archive} member {info.filename!r} is encrypted and cannot be read",
                           archive=archive, member=info.filename)
    return _Entry("/".join(parts), parts, info.is_dir(), info.file_size, info)


def _tar_entry(info: tarfile.TarInfo, archive: Path) -> _Entry:
    parts = _safe_parts(info.name, archive)
    if info.issym() or info.islnk():
        raise ArchiveError(
            f"archive {archive} contains the link {info.name!r} -> {info.linkname!r}; refusing it",
            archive=archive, member=info.name,
        )
    if not (info.isfile() or info.isdir()):
        raise ArchiveError(f"archive {archive} contains the special file {info.name!r}; refusing it",
                           archive=archive, member=info.name)
    return _Entry("/".join(parts), parts, info.isdir(), info.size, info)


class _Reader:
    """An open ZIP or tar archive whose members have all been checked."""

    def __init__(self, archive: Path, max_members: int) -> None:
        self.archive = Path(archive)
        if not self.archive.is_file():
            raise ArchiveError(f"archive {self.archive} does not exist", archive=self.archive)
        try:
            if zipfile.is_zipfile(self.archive):
                self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self.archive)
                self._tar: tarfile.TarFile | None = None
                infos = self._zip.infolist()
                self._check_count(len(infos), max_members)
                size = self.archive.stat().st_size
                entries = [_zip_entry(info, self.archive, size) for info in infos]
            elif tarfile.is_tarfile(self.archive):
                self._zip = None
                self._tar = tarfile.open(self.archive, "r:*")
                entries = []
                for info in self._tar:  # iterate so that a huge member count stops early
                    self._check_count(len(entries) + 1, max_members)
                    entries.append(_tar_entry(info, self.archive))
            else:
                raise ArchiveError(f"{self.archive} is neither a ZIP nor a tar archive", archive=self.archive)
        except _CORRUPT as exc:
            self.close()
            raise ArchiveError(f"archive {self.archive} is damaged: {exc}", archive=self.archive) from exc
        except ArchiveError:
            self.close()
            raise
        # Skip entries that name the archive root itself (e.g. './').
        self.entries = [entry for entry in entries if entry.parts]

    def _check_count(self, count: int, max_members: int) -> None:
        if count > max_members:
            raise ArchiveError(
                f"archive {self.archive} has more than {max_members} members; refusing it "
                f"(raise max_members if this archive is legitimate)",
                archive=self.archive,
            )

    def find(self, member_name: str) -> _Entry:
        """Return the file entry called ``member_name`` (last one if repeated)."""
        wanted = "/".join(_safe_parts(member_name, self.archive))
        matches = [entry for entry in self.entries if entry.name == wanted and not entry.is_dir]
        if not matches:
            names = [entry.name for entry in self.entries if not entry.is_dir]
            shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
            raise ArchiveError(
                f"archive {self.archive} has no file {member_name!r}; it contains: {shown or 'nothing'}",
                archive=self.archive, member=member_name,
            )
        return matches[-1]

    def open(self, entry: _Entry) -> BinaryIO:
        """Open one member for reading (decompressed bytes)."""
        try:
            if self._zip is not None:
                return self._zip.open(entry.info)
            handle = self._tar.extractfile(entry.info)
        except _CORRUPT as exc:
            raise ArchiveError(f"archive {self.archive} member {entry.name!r} is damaged: {exc}",
                               archive=self.archive, member=entry.name) from exc
        if handle is None:
            raise ArchiveError(f"archive {self.archive} member {entry.name!r} cannot be read",
                               archive=self.archive, member=entry.name)
        return handle

    def close(self) -> None:
        for handle in (getattr(self, "_zip", None), getattr(self, "_tar", None)):
            if handle is not None:
                handle.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _MemberStream(io.RawIOBase):
    """Reads one archive member, counting bytes; optionally closes the archive when done."""

    def __init__(self, reader: _Reader, entry: _Entry, max_bytes: int | None, *, close_reader: bool) -> None:
        super().__init__()
        self._reader = reader
        self._close_reader = close_reader
        self._entry = entry
        self._inner = reader.open(entry)
        self._max_bytes = max_bytes
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._inner.read(len(buffer))
        except _CORRUPT as exc:
            raise ArchiveError(
                f"archive {self._reader.archive} member {self._entry.name!r} is damaged: {exc}",
                archive=self._reader.archive, member=self._entry.name,
            ) from exc
        self._count += len(data)
        if self._max_bytes is not None and self._count > self._max_bytes:
            raise ArchiveError(
                f"archive {self._reader.archive} member {self._entry.name!r} is larger than the "
                f"limit of {self._max_bytes} bytes once uncompressed",
                archive=self._reader.archive, member=self._entry.name,
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            if self._close_reader:
                self._reader.close()
        super().close()


def list_members(archive: Path, *, max_members: int = DEFAULT_MAX_MEMBERS) -> list[str]:
    """Return the names of the files (not folders) in a ZIP or tar archive.

    Names use '/' separators without a leading './'. Raises ``ArchiveError``
    if any member is unsafe or the archive is damaged.
    """
    with _Reader(archive, max_members) as reader:
        return [entry.name for entry in reader.entries if not entry.is_dir]


def open_member(
    archive: Path,
    member_name: str,
    *,
    max_bytes: int | None = DEFAULT_MAX_MEMBER_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> BinaryIO:
    """Open one file of a ZIP or tar archive as a binary file object, without extracting.

    Reading more than ``max_bytes`` uncompressed bytes raises ``ArchiveError``.
    Close the returned object (or use it in a ``with`` block) to release the archive.
    """
    reader = _Reader(archive, max_members)
    try:
        entry = reader.find(member_name)
        stream = _MemberStream(reader, entry, max_bytes, close_reader=True)
        return io.BufferedReader(stream, buffer_size=CHUNK_SIZE)
    except BaseException:
        reader.close()
        raise


def read_member(
    archive: Path,
    member_name: str,
    *,
    max_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> bytes:
    """Return the uncompressed content of one file of a ZIP or tar archive.

    For example ``read_member(tgz, "package/data/communes.json")`` or
    ``read_member(gtfs_zip, "stops.txt")``. Raises ``ArchiveError`` if the
    member is missing, unsafe, or larger than ``max_bytes``.
    """
    with open_member(archive, member_name, max_bytes=max_bytes, max_members=max_members) as handle:
        return handle.read()


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> list[Path]:
    """Extract a ZIP or tar (.tar, .tar.gz, .tgz) archive into ``dest`` and list the files written.

    Everything is first extracted into a temporary folder beside ``dest``,
    which is renamed to ``dest`` only once every member has been written, so
    a failure leaves nothing behind. ``dest`` must not exist yet (an empty
    folder is accepted). Raises ``ArchiveError`` for unsafe members, damaged
    archives, or more than ``max_total_bytes`` of uncompressed content.
    """
    archive = Path(archive)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"cannot extract {archive} into {dest}: it already exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)

    with _Reader(archive, max_members) as reader:
        files = [entry for entry in reader.entries if not entry.is_dir]
        declared = sum(entry.size for entry in files)
        if declared > max_total_bytes:
            biggest = max(files, key=lambda entry: entry.size)
            raise ArchiveError(
                f"archive {archive} declares {declared} bytes of content, more than the limit of "
                f"{max_total_bytes} bytes (largest member: {biggest.name!r})",
                archive=archive, member=biggest.name,
            )
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
        try:
            written = _extract_entries(reader, staging, max_total_bytes)
            if dest.exists():
                dest.rmdir()
            os.rename(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return [dest.joinpath(*parts) for parts in written]


def _extract_entries(reader: _Reader, staging: Path, max_total_bytes: int) -> list[tuple[str, ...]]:
    """Write every member under ``staging``, counting the bytes actually produced."""
    total = 0
    written: dict[tuple[str, ...], None] = {}  # ordered set
    for entry in reader.entries:
        target = staging.joinpath(*entry.parts)
        if entry.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with _MemberStream(reader, entry, None, close_reader=False) as source, open(target, "wb") as out:
            while chunk := source.read(CHUNK_SIZE):
                total += len(chunk)
                if total > max_total_bytes:
                    raise ArchiveError(
                        f"archive {reader.archive} holds more than {max_total_bytes} bytes once "
                        f"uncompressed (limit reached in member {entry.name!r}); refusing it",
                        archive=reader.archive, member=entry.name,
                    )
                out.write(chunk)
        written[entry.parts] = None
    return list(written)
