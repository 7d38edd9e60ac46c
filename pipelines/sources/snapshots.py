"""The immutable store of raw files downloaded from data sources.

Layout under the data home::

    raw/<source>/<vintage>/<sha256>/<file_name>        the file, as received
    raw/<source>/<vintage>/<sha256>/snapshot.json      where and when it came from
    raw/<source>/<vintage>/<sha256>/validation.json    latest verdict of the checks
    raw/<source>/<vintage>/current.json                the snapshot each file name serves now
    raw/<source>/<vintage>/files.json                  the files of a discovered vintage
    raw/fetch_log.jsonl                                one line per fetch attempt

A snapshot is identified by the SHA-256 of its content. Once written, the file
and its ``snapshot.json`` are never modified or deleted by this module; only
``validation.json`` (a verdict about the data, not the data) may be rewritten.

A vintage's current snapshots are those upstream served at its latest successful fetch
(or the files given to `territoires ingest`), recorded in ``current.json``: when a
publisher goes back from file B to file A, A is current again, and a file name the
catalogue no longer lists stops reaching the reader.

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

from pipelines.sources.durable import fsync_dir, fsync_file, write_atomically
from pipelines.sources.secrets import redact

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
        fsync_file(tmp)
        os.link(tmp, path)  # fails if the destination exists: never overwrites
        fsync_dir(path.parent)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _write_json_replace(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically, replacing any previous version."""
    write_atomically(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))


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
        if not sha_dir.is_dir():
            sha_dir.mkdir()
            fsync_dir(sha_dir.parent)

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
                fsync_file(staging)  # the bytes are on the disk before the name is
                os.replace(staging, final)
                fsync_dir(sha_dir)
            finally:
                staging.unlink(missing_ok=True)

        record = {
            "source": source,
            "vintage": vintage,
            "file_name": file_name,
            "sha256": sha,
            "bytes": final.stat().st_size,
            "url": redact(url),
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

    def mark(self, snapshot: Snapshot, status: str, detail: str = "", *, parser: str = "") -> None:
        """Record the verdict of the checks on a snapshot ('valid', 'invalid', or 'unchecked' to check again).

        `parser` is the fingerprint of the reader and checks that gave the verdict: a
        snapshot found invalid is checked again once they change.
        """
        if status not in VALIDATION_STATUSES:
            raise ValueError(f"unknown validation status {status!r}; expected one of {VALIDATION_STATUSES}")
        path = self._sidecar(snapshot.path.parent, snapshot.file_name, "validation")
        record = {"status": status, "detail": detail, "checked_at": utc_now(), "parser_fingerprint": parser}
        _write_json_replace(path, record)

    def verdict(self, snapshot: Snapshot) -> dict:
        """The latest verdict on a snapshot: status, detail, checked_at, parser_fingerprint."""
        path = self._sidecar(snapshot.path.parent, snapshot.file_name, "validation")
        if not path.exists():
            return {"status": "unchecked", "detail": "", "checked_at": None, "parser_fingerprint": ""}
        try:
            return {"parser_fingerprint": "", **json.loads(path.read_text(encoding="utf-8"))}
        except ValueError:
            return {"status": "unchecked", "detail": f"unreadable verdict {path}", "checked_at": None, "parser_fingerprint": ""}

    def status(self, snapshot: Snapshot) -> str:
        """Return 'valid', 'invalid' or 'unchecked' for a snapshot."""
        return self.verdict(snapshot)["status"]

    # --------------------------------------------------- what a vintage serves now

    def _current_path(self, source: str, vintage: str) -> Path:
        return self.vintage_dir(source, vintage) / "current.json"

    def served(self, source: str, vintage: str) -> dict[str, dict] | None:
        """File name → {sha256, served_at (last fetch), served_since, origin} of what the vintage serves now.

        None for a vintage stored before this record existed (its newest valid snapshot
        of each file name is then current).
        """
        path = self.root / source / vintage / "current.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError):
            return None

    def _write_served(self, source: str, vintage: str, files: dict[str, dict]) -> None:
        _write_json_replace(self._current_path(source, vintage), {"files": files, "updated_at": utc_now()})

    def record_served(self, snapshot: Snapshot) -> None:
        """Upstream (or the mirror) served this snapshot at a successful fetch: it is current."""
        files = dict(self.served(snapshot.source, snapshot.vintage) or {})
        now = utc_now()
        entry = {"sha256": snapshot.sha256, "served_at": now, "served_since": now, "origin": snapshot.origin}
        if files.get(snapshot.file_name, {}).get("sha256") == snapshot.sha256:  # the same version again
            entry["served_since"] = files[snapshot.file_name].get("served_since", now)
        files[snapshot.file_name] = entry
        self._write_served(snapshot.source, snapshot.vintage, files)

    def keep_only(self, source: str, vintage: str, names: list[str]) -> None:
        """The vintage's files are these names now: earlier names stop reaching the reader."""
        files = self.served(source, vintage) or {}
        kept = {name: entry for name, entry in files.items() if name in set(names)}
        if kept != files:
            self._write_served(source, vintage, kept)

    def set_files(self, snapshots: list[Snapshot], *, keep: list[str] = ()) -> None:
        """The vintage serves exactly these snapshots (plus the current entries named in `keep`)."""
        if not snapshots:
            return
        source, vintage = snapshots[0].source, snapshots[0].vintage
        files = self.served(source, vintage) or {}
        chosen = {name: entry for name, entry in files.items() if name in set(keep)}
        for snap in snapshots:
            now = utc_now()
            chosen[snap.file_name] = {"sha256": snap.sha256, "served_at": now, "served_since": now, "origin": snap.origin}
        self._write_served(source, vintage, chosen)

    def find(self, source: str, vintage: str, file_name: str, sha256: str) -> Snapshot | None:
        """The stored snapshot of that file name and content, if any."""
        sha_dir = self.root / source / vintage / sha256
        for sidecar in sha_dir.glob("snapshot*.json"):
            try:
                snap = self._load(sidecar)
            except (OSError, ValueError, KeyError):
                continue
            if snap.file_name == file_name:
                return snap
        return None

    # ----------------------------------------------------- discovered vintages

    def vintages(self, source: str) -> list[str]:
        """Every vintage of a source with something stored (snapshots or a discovered file list)."""
        folder = self.root / source
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def record_vintage_files(self, source: str, vintage: str, files: list[dict], *, found_by: str) -> None:
        """The files a discovered vintage holds ({name, format, url, entity}), and who found them."""
        _write_json_replace(
            self.vintage_dir(source, vintage) / "files.json",
            {"files": files, "found_by": found_by, "discovered_at": utc_now()},
        )

    def vintage_files(self, source: str, vintage: str) -> list[dict] | None:
        """The file list recorded when the vintage was discovered, or None."""
        path = self.root / source / vintage / "files.json"
        if not path.exists():
            return None
        try:
            return list(json.loads(path.read_text(encoding="utf-8"))["files"])
        except (ValueError, KeyError):
            return None

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
            "url": redact(url),
            "origin": origin,
            "status": status,
            "sha256": sha256,
            "bytes": bytes,
            "etag": etag,
            "error": redact(error),
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
