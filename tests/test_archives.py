"""Tests of safe archive reading and extraction."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.sources import archives
from pipelines.sources.archives import extract_archive, list_members, open_member, read_member
from pipelines.sources.errors import ArchiveError


def make_zip(path: Path, members: dict[str, bytes], *, compress: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


def make_tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_extract_zip(tmp_path):
    archive = make_zip(tmp_path / "gtfs.zip", {"stops.txt": b"stop_id\n1\n", "sub/routes.txt": b"route_id\n"})
    dest = tmp_path / "out" / "gtfs"
    written = extract_archive(archive, dest)
    assert written == [dest / "stops.txt", dest / "sub" / "routes.txt"]
    assert (dest / "sub" / "routes.txt").read_bytes() == b"route_id\n"
    assert files_under(tmp_path / "out") == ["gtfs", "gtfs/stops.txt", "gtfs/sub", "gtfs/sub/routes.txt"]


def test_extract_tgz_and_existing_dest(tmp_path):
    archive = make_tgz(tmp_path / "pkg.tgz", {"./package/data/communes.json": b"[]"})
    dest = tmp_path / "pkg"
    dest.mkdir()  # an empty folder is accepted
    assert extract_archive(archive, dest) == [dest / "package" / "data" / "communes.json"]
    with pytest.raises(FileExistsError):
        extract_archive(archive, dest)


@pytest.mark.parametrize("bad_name", ["../evil.txt", "data/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt"])
def test_zip_escaping_paths_refused(tmp_path, bad_name):
    archive = make_zip(tmp_path / "bad.zip", {"ok.txt": b"fine", bad_name: b"pwned"})
    work = tmp_path / "work"
    work.mkdir()
    before = files_under(tmp_path)
    with pytest.raises(ArchiveError) as info:
        extract_archive(archive, work / "dest")
    assert repr(bad_name) in str(info.value) and str(archive) in str(info.value)
    assert info.value.member == bad_name
    assert files_under(tmp_path) == before  # nothing written anywhere, not even dest
    with pytest.raises(ArchiveError):
        list_members(archive)
    with pytest.raises(ArchiveError):
        read_member(archive, "ok.txt")


def test_tar_links_and_traversal_refused(tmp_path):
    link = tmp_path / "link.tar"
    with tarfile.open(link, "w") as archive:
        info = tarfile.TarInfo("shortcut")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)
    with pytest.raises(ArchiveError, match="link"):
        extract_archive(link, tmp_path / "dest")

    hard = tmp_path / "hard.tar"
    with tarfile.open(hard, "w") as archive:
        info = tarfile.TarInfo("hard")
        info.type = tarfile.LNKTYPE
        info.linkname = "elsewhere"
        archive.addfile(info)
    with pytest.raises(ArchiveError, match="link"):
        list_members(hard)

    device = tmp_path / "device.tar"
    with tarfile.open(device, "w") as archive:
        info = tarfile.TarInfo("null")
        info.type = tarfile.CHRTYPE
        archive.addfile(info)
    with pytest.raises(ArchiveError, match="special file"):
        extract_archive(device, tmp_path / "dest")

    traversal = make_tgz(tmp_path / "evil.tgz", {"../../evil": b"x"})
    with pytest.raises(ArchiveError, match=r"\.\./\.\./evil"):
        extract_archive(traversal, tmp_path / "dest")
    assert not (tmp_path / "dest").exists() and not (tmp_path.parent / "evil").exists()


def test_zip_symlink_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("shortcut")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_archive(archive, tmp_path / "dest")


def test_zip_bomb_stops_at_cap(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"small.txt": b"ok", "zeros.bin": b"\0" * 3_000_000}, compress=True)
    assert archive.stat().st_size < 50_000
    with pytest.raises(ArchiveError, match="zeros.bin"):
        extract_archive(archive, tmp_path / "dest", max_total_bytes=1_000_000)
    assert files_under(tmp_path) == ["bomb.zip"]
    with pytest.raises(ArchiveError, match="larger than the limit"):
        read_member(archive, "zeros.bin", max_bytes=1_000_000)


def test_lying_declared_size_is_caught(tmp_path):
    archive = make_zip(tmp_path / "liar.zip", {"zeros.bin": b"\0" * 2_000_000}, compress=True)
    data = bytearray(archive.read_bytes())
    # Patch the uncompressed size in both headers to claim 10 bytes.
    real = (2_000_000).to_bytes(4, "little")
    data = data.replace(real, (10).to_bytes(4, "little"))
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError):
        extract_archive(archive, tmp_path / "dest", max_total_bytes=1_000)
    assert files_under(tmp_path) == ["liar.zip"]


def test_bytes_counted_while_extracting(tmp_path, monkeypatch):
    # Pretend every header declares 0 bytes: the cap must still hold, counted on the bytes read.
    real_entry = archives._tar_entry
    monkeypatch.setattr(archives, "_tar_entry", lambda info, path: replace(real_entry(info, path), size=0))
    archive = make_tgz(tmp_path / "many.tgz", {f"f{i}.txt": b"x" * 400 for i in range(5)})
    with pytest.raises(ArchiveError, match="limit reached in member 'f2.txt'"):
        extract_archive(archive, tmp_path / "dest", max_total_bytes=1_000)
    assert files_under(tmp_path) == ["many.tgz"]


def test_declared_size_and_member_count_caps(tmp_path):
    archive = make_tgz(tmp_path / "many.tgz", {f"f{i}.txt": b"x" * 400 for i in range(5)})
    with pytest.raises(ArchiveError, match="declares 2000 bytes"):
        extract_archive(archive, tmp_path / "dest", max_total_bytes=1_000)
    with pytest.raises(ArchiveError, match="more than 3 members"):
        list_members(archive, max_members=3)


def test_tgz_read_member(tmp_path):
    archive = make_tgz(tmp_path / "pkg.tgz", {
        "package/package.json": b'{"name": "communes"}',
        "package/data/communes.json": b'[{"code": "01001"}]',
    })
    assert list_members(archive) == ["package/package.json", "package/data/communes.json"]
    assert read_member(archive, "package/data/communes.json") == b'[{"code": "01001"}]'
    assert read_member(archive, "./package/data/communes.json") == b'[{"code": "01001"}]'
    with pytest.raises(ArchiveError, match="has no file 'package/missing.json'.*package/package.json"):
        read_member(archive, "package/missing.json")


def test_zip_open_member_streams(tmp_path):
    archive = make_zip(tmp_path / "gtfs.zip", {"stops.txt": b"stop_id,stop_name\n1,Gare\n2,Mairie\n"}, compress=True)
    with open_member(archive, "stops.txt") as handle:
        lines = [line for line in io.TextIOWrapper(handle, encoding="utf-8")]
    assert lines == ["stop_id,stop_name\n", "1,Gare\n", "2,Mairie\n"]


def test_not_an_archive(tmp_path):
    path = tmp_path / "data.zip"
    path.write_bytes(b"<!DOCTYPE html><html></html>")
    with pytest.raises(ArchiveError, match="neither a ZIP nor a tar archive"):
        list_members(path)
    with pytest.raises(ArchiveError, match="does not exist"):
        list_members(tmp_path / "missing.zip")


def test_a_zip_of_a_version_python_cannot_read_is_refused_as_damaged(tmp_path):
    # The central directory says 6.4 is needed to extract (the byte after "PK\1\2" and the
    # writer's version); zipfile raises NotImplementedError for it, not BadZipFile.
    path = make_zip(tmp_path / "data.zip", {"data.csv": b"code;value\n01001;1\n"})
    data = bytearray(path.read_bytes())
    directory = data.index(b"PK\x01\x02")
    data[directory + 6] = 64
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"data\.zip is damaged: zip file version 6\.4"):
        list_members(path)


def test_a_zip_whose_directory_points_outside_the_file_is_refused_as_damaged(tmp_path):
    # The member's local header offset (bytes 42-45 of its central directory entry) set
    # beyond the end: zipfile lists the member, then fails on seek with a bare OSError.
    path = make_zip(tmp_path / "data.zip", {"data.csv": b"code;value\n01001;1\n"})
    data = bytearray(path.read_bytes())
    directory = data.index(b"PK\x01\x02")
    data[directory + 42 : directory + 46] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"data\.zip is damaged: member 'data\.csv' starts at byte \d+, outside the file"):
        list_members(path)
