"""The immutable store of raw files downloaded from data sources.

Layout under the data home::

    raw/<source>/<vintage>/<sha256>/<file_name>        the file, as received
    raw/<source>/<vintage>/<sha256>/snapshot.json      where and when it came from
    raw/<source>/<vintage>/<sha256>/validation.json    latest verdict of the checks
    raw/fetch_log.jsonl                                one line per fetch attempt

A snapshot is identified by the SHA-256 of its content. Once written, the file
and its ``snapshot.json`` are never modified or deleted by this module; only
``validation.json`` (a verdict about the data, not the data) may be rewritten.

In the rare case where two files of the same source and vintage have exactly
the same content, they share the ``<sha256>`` folder and the second one gets
its own ``snapshot.<file_name>.json`` and ``validation.<file_name>.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

CHUNK_SIZE = 1024 * 1024
ORIGINS = ("live", "mirror", "manual")
VALIDATION_STATUSES = ("valid", "invalid", "unchecked")
_RESERVED_PREFIXES = (".", "snapshot.", "validation.")


@dataclass(frozen=True)
class Snapshot:
    """One stored version of a source file."""

    source: str
    vintage: str
    file_name: str
    sha256: str
    bytes: int
    path: Path
    url: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: str  # ISO-8601, UTC
    origin: str  # 'live' | 'mirror' | 'manual'


def utc_now() -> str:
    """Return the current time as an ISO-8601 UTC string (microsecond precision)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _check_name(kind: str, value: str) -> None:
    """Refuse names that could escape their folder or clash with the store's own files."""
    if (
        not value
        or value in (".", "..")
        or "/" in value
        or "\\" in value
        or "\x00" in value
    ):
        raise ValueError(f"invalid {kind} {value!r}: it must be a plain name, without '/' or '..'")
    if kind == "file name" and value.startswith(_RESERVED_PREFIXES):
        raise ValueError(
            f"invalid file name {value!r}: names starting with "
            f"{', '.join(repr(p) for p in _RESERVED_PREFIXES)} are reserved by the raw store"
        )


def _write_json_once(path: Path, data: dict) -> bool:
    """Write ``data`` to ``path`` atomically unless the file already exists.

    Returns True when the file was written, False when it already existed.
    """
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    try:
        os.link(tmp, path)  # fails if the destination exists: never overwrites
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _write_json_replace(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically, replacing any previous version."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class RawStore:
    """Content-addressed, append-only store of raw source files under ``<home>/raw``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.root = self.home / "raw"
        self.log_path = self.root / "fetch_log.jsonl"

    # ----------------------------------------------------------------- paths

    def vintage_dir(self, source: str, vintage: str) -> Path:
        """Return (and create) the folder holding all snapshots of a source vintage."""
        _check_name("source", source)
        _check_name("vintage", vintage)
        folder = self.root / source / vintage
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def new_temp_path(self, source: str, vintage: str) -> Path:
        """Return a fresh ``.partial-<random>`` path in the vintage folder.

        Downloads are written there first, so that moving them into place is
        a rename on the same file system. The caller removes it on failure.
        """
        return self.vintage_dir(source, vintage) / f".partial-{uuid.uuid4().hex}"

    def _sidecar(self, sha_dir: Path, file_name: str, kind: str) -> Path:
        """Path of the ``snapshot``/``validation`` JSON file of ``file_name`` in ``sha_dir``."""
        main = sha_dir / "snapshot.json"
        if main.exists() and json.loads(main.read_text(encoding="utf-8"))["file_name"] != file_name:
            return sha_dir / f"{kind}.{file_name}.json"
        return sha_dir / f"{kind}.json"

    # ------------------------------------------------------------- snapshots

    def add_file(
        self,
        source: str,
        vintage: str,
        tmp_path: Path,
        file_name: str,
        *,
        url: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        origin: str,
        sha256: str | None = None,
    ) -> tuple[Snapshot, bool]:
        """Move ``tmp_path`` into the store and return ``(snapshot, created)``.

        The file is hashed (unless ``sha256`` was already computed by the
        caller while writing it) and moved into place with ``os.replace`` from
        a temporary name in the destination folder. If a snapshot with the
        same content already exists for this source, vintage and file name,
        it is kept as is, ``tmp_path`` is deleted and ``created`` is False.
        """
        _check_name("source", source)
        _check_name("vintage", vintage)
        _check_name("file name", file_name)
        if origin not in ORIGINS:
            raise ValueError(f"unknown origin {origin!r}; expected one of {ORIGINS}")
        tmp_path = Path(tmp_path)
        sha = sha256 or sha256_file(tmp_path)
        sha_dir = self.vintage_dir(source, vintage) / sha
        sha_dir.mkdir(exist_ok=True)

        sidecar = self._sidecar(sha_dir, file_name, "snapshot")
        if sidecar.exists():
            tmp_path.unlink(missing_ok=True)
            return self._load(sidecar), False

        final = sha_dir / file_name
        if final.exists():
            # Left by an interrupted earlier run: same name and same content, keep it.
            tmp_path.unlink(missing_ok=True)
        else:
            staging = sha_dir / f".incoming-{uuid.uuid4().hex}"
            try:
                try:
                    os.replace(tmp_path, staging)
                except OSError:  # tmp_path is on another file system
                    shutil.copyfile(tmp_path, staging)
                    tmp_path.unlink()
                os.replace(staging, final)
            finally:
                staging.unlink(missing_ok=True)

        record = {
            "source": source,
            "vintage": vintage,
            "file_name": file_name,
            "sha256": sha,
            "bytes": final.stat().st_size,
            "url": url,
            "etag": etag,
            "last_modified": last_modified,
            "fetched_at": utc_now(),
            "origin": origin,
        }
        created = _write_json_once(sidecar, record)
        return self._load(sidecar), created

    def _load(self, sidecar: Path) -> Snapshot:
        """Read a ``snapshot*.json`` sidecar into a Snapshot."""
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        return Snapshot(
            source=data["source"],
            vintage=data["vintage"],
            file_name=data["file_name"],
            sha256=data["sha256"],
            bytes=data["bytes"],
            path=sidecar.parent / data["file_name"],
            url=data.get("url"),
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            fetched_at=data["fetched_at"],
            origin=data["origin"],
        )

    def snapshots(self, source: str | None = None, vintage: str | None = None) -> list[Snapshot]:
        """List stored snapshots, optionally for one source and vintage, oldest first."""
        pattern = f"{source or '*'}/{vintage or '*'}/*/snapshot*.json"
        found = []
        for sidecar in self.root.glob(pattern):
            try:
                found.append(self._load(sidecar))
            except (OSError, ValueError, KeyError):
                continue  # not a sidecar of ours
        found.sort(key=lambda s: (s.fetched_at, s.source, s.vintage, s.file_name))
        return found

    def latest(self, source: str, vintage: str, file_name: str | None = None) -> Snapshot | None:
        """Return the newest snapshot not marked invalid, or None."""
        candidates = [
            snap
            for snap in self.snapshots(source, vintage)
            if (file_name is None or snap.file_name == file_name) and self.status(snap) != "invalid"
        ]
        return candidates[-1] if candidates else None

    # ------------------------------------------------------------ validation

    def mark(self, snapshot: Snapshot, status: str, detail: str = "") -> None:
        """Record the verdict of the checks on a snapshot ('valid', 'invalid', or 'unchecked' to check again)."""
        if status not in VALIDATION_STATUSES:
            raise ValueError(f"unknown validation status {status!r}; expected one of {VALIDATION_STATUSES}")
        path = self._sidecar(snapshot.path.parent, snapshot.file_name, "validation")
        _write_json_replace(path, {"status": status, "detail": detail, "checked_at": utc_now()})

    def status(self, snapshot: Snapshot) -> str:
        """Return 'valid', 'invalid' or 'unchecked' for a snapshot."""
        path = self._sidecar(snapshot.path.parent, snapshot.file_name, "validation")
        if not path.exists():
            return "unchecked"
        return json.loads(path.read_text(encoding="utf-8"))["status"]

    # ---------------------------------------------------------- attempt log

    def log_attempt(
        self,
        *,
        source: str,
        vintage: str,
        file_name: str,
        url: str | None,
        origin: str,
        status: str,
        sha256: str | None = None,
        bytes: int | None = None,
        etag: str | None = None,
        error: str | None = None,
    ) -> None:
        """Append one line describing a fetch or ingest attempt to ``raw/fetch_log.jsonl``.

        ``status`` is one of 'downloaded', 'not_modified', 'unchanged',
        'cached', 'failed', 'invalid' or 'ingested'.
        """
        entry = {
            "at": utc_now(),
            "source": source,
            "vintage": vintage,
            "file_name": file_name,
            "url": url,
            "origin": origin,
            "status": status,
            "sha256": sha256,
            "bytes": bytes,
            "etag": etag,
            "error": error,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def attempts(self, source: str | None = None) -> list[dict]:
        """Return the logged attempts, oldest first, optionally for one source."""
        if not self.log_path.exists():
            return []
        entries = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if source is None or entry.get("source") == source:
                entries.append(entry)
        return entries


def snapshot_as_dict(snapshot: Snapshot) -> dict:
    """Return a snapshot as a JSON-serialisable dict (path as a string)."""
    data = asdict(snapshot)
    data["path"] = str(snapshot.path)
    return data
