"""Faults while ingesting (issue 7, items 3 and 4): a full disk, and paths that never end.

A full disk is a real tmpfs mounted by the test (we run as root); a path that
never ends is a real FIFO or /dev/zero, run through the real CLI in a
subprocess so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders import Harness, claim, extract_xml, write

ROOT = Path(__file__).resolve().parents[1]
TODAY = "2026-11-26"


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs: the warehouse folder lives on it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)


@pytest.fixture
def disk_harness(small_disk):
    harness = Harness(small_disk / "w", today=TODAY)
    yield harness
    harness.con.close()


def big_extract(path: Path, claims: int, sequence: int = 2) -> Path:
    return write(path, _big_extract_text(claims, sequence))


@functools.cache
def _big_extract_text(claims: int, sequence: int) -> str:
    """Written once per size in a test run: three tests use the same 10 MB extract."""
    records = [claim(f"B{i:07d}", "2026-10-01", "2026-10-09") for i in range(claims)]
    return extract_xml(records=records, sequence=sequence)


def leftovers(folder: Path) -> list[str]:
    """Anything half-written under submitted/: temporary or partial files, empty folders."""
    found = []
    for path in (folder / "submitted").rglob("*"):
        if path.is_dir() and not any(path.iterdir()):
            found.append(f"empty folder {path.name}")
        elif path.is_file() and (path.name.endswith(".partial") or path.name.startswith(".")):
            found.append(path.name)
    return found


def fill(folder: Path, leave: int) -> Path:
    """Fill the disk holding ``folder`` so that about ``leave`` bytes stay free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(free - leave, 0))
    return filler


def held(h: Harness) -> tuple[int, int]:
    return h.count("claims"), h.count("submissions")


def cli(*args: str, warehouse: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "perfcore.cli", "ingest", *args, "--warehouse", str(warehouse), "--today", TODAY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("perfcore: error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


# -- item 3: disk full ---------------------------------------------------------------------------------


def test_disk_full_while_keeping_the_file_is_one_clear_error_and_leaves_nothing(disk_harness, tmp_path):
    from perfcore.exceptions import StorageFull
    from perfcore.intake.ingest import ingest_file

    h = disk_harness
    assert h.ingest(extract_xml(records=[claim("A", "2026-10-01", "2026-10-05")])).outcome == "accepted"
    before = held(h)
    big = big_extract(tmp_path / "big.xml", 120_000)  # ~10 MB: more than the whole disk
    with pytest.raises(StorageFull) as raised:
        ingest_file(big, h.con, h.consortium, today=h.today)
    assert "big.xml" in str(raised.value) and "\n" not in str(raised.value)
    assert leftovers(h.folder) == []
    assert held(h) == before


def test_disk_full_via_the_cli_is_one_line_and_the_warehouse_still_opens(disk_harness, tmp_path):
    from perfcore import warehouse

    h = disk_harness
    h.ingest(extract_xml(records=[claim("A", "2026-10-01", "2026-10-05")]))
    before = held(h)
    h.con.close()
    big = big_extract(tmp_path / "big.xml", 120_000)
    assert_one_line_error(cli(str(big), warehouse=h.folder / "warehouse.duckdb"), "big.xml", "space")
    assert leftovers(h.folder) == []
    h.con = warehouse.connect(h.folder / "warehouse.duckdb")
    assert held(h) == before


def test_disk_full_at_commit_rolls_back_and_a_later_ingest_works(disk_harness, tmp_path):
    from perfcore import warehouse
    from perfcore.exceptions import StorageFull
    from perfcore.intake.ingest import ingest_file

    h = disk_harness
    h.ingest(extract_xml(records=[claim("A", "2026-10-01", "2026-10-05")]))
    before = held(h)
    big = big_extract(tmp_path / "big.xml", 30_000)  # ~2.7 MB: the copy fits, the rows do not
    filler = fill(h.folder, big.stat().st_size + 64 * 1024)
    with pytest.raises(StorageFull) as raised:
        ingest_file(big, h.con, h.consortium, today=h.today)
    assert "big.xml" in str(raised.value) and "\n" not in str(raised.value)
    assert leftovers(h.folder) == []
    assert held(h) == before

    filler.unlink()  # space is freed: the same file now loads, on this connection and after reopening
    result = ingest_file(big, h.con, h.consortium, today=h.today)
    assert result.outcome == "accepted" and result.records_loaded == 30_000
    h.con.close()
    h.con = warehouse.connect(h.folder / "warehouse.duckdb")
    assert h.count("claims") == before[0] + 30_000


def test_a_full_disk_stops_the_run_after_the_files_already_done(disk_harness, tmp_path):
    from perfcore import warehouse

    h = disk_harness
    h.con.close()
    small = write(tmp_path / "in" / "a-small.xml", extract_xml(records=[claim("A", "2026-10-01", "2026-10-05")]))
    big = big_extract(tmp_path / "in" / "b-big.xml", 120_000)
    result = cli(str(small), str(big), warehouse=h.folder / "warehouse.duckdb")
    assert result.stdout.startswith("ACCEPTED  a-small.xml")
    assert_one_line_error(result, "b-big.xml")
    h.con = warehouse.connect(h.folder / "warehouse.duckdb")
    assert h.count("claims") == 1


# -- item 4: paths that never end ---------------------------------------------------------------------


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "extract.xml"
    os.mkfifo(fifo)
    assert_one_line_error(cli(str(fifo), warehouse=tmp_path / "w.duckdb", timeout=30), str(fifo), "regular file")


def test_dev_zero_is_refused_not_read_forever(tmp_path):
    assert_one_line_error(cli("/dev/zero", warehouse=tmp_path / "w.duckdb", timeout=30), "/dev/zero", "regular file")


def test_a_folder_skips_fifos_and_follows_links_to_files(tmp_path):
    folder = tmp_path / "in"
    good = write(folder / "good.xml", extract_xml(records=[claim("A", "2026-10-01", "2026-10-05")]))
    os.mkfifo(folder / "pipe.xml")
    os.symlink(good, folder / "link.xml")
    os.symlink("/dev/zero", folder / "zero.xml")
    (folder / "folder.xml").mkdir()
    result = cli(str(folder), warehouse=tmp_path / "w.duckdb", timeout=30)
    assert result.returncode == 0, result.stderr
    assert sorted(line.split()[1] for line in result.stdout.splitlines()) == ["good.xml", "link.xml"]


def test_ingest_file_refuses_a_folder_named_like_a_file(tmp_path):
    from perfcore.exceptions import FileRejected
    from perfcore.intake.ingest import ingest_file

    h = Harness(tmp_path / "w", today=TODAY)
    folder = tmp_path / "extract.xml"
    folder.mkdir()
    with pytest.raises(FileRejected, match="regular file"):
        ingest_file(folder, h.con, h.consortium, today=h.today)
    assert h.count("submissions") == 0


@pytest.mark.parametrize(
    "name",
    ["..", ".", "", "/", "a\0b.xml", "x" * 300 + ".xml", "../../escape.xml"],
    ids=["dotdot", "dot", "empty", "slash", "nul", "long", "traversal"],
)
def test_a_hostile_submitted_name_is_kept_safely_inside_submitted(tmp_path, name):
    from perfcore.intake.ingest import ingest_file

    h = Harness(tmp_path / "w", today=TODAY)
    path = write(tmp_path / "in" / "real.xml", extract_xml(records=[claim("A", "2026-10-01", "2026-10-05")]))
    result = ingest_file(path, h.con, h.consortium, today=h.today, name=name)
    assert result.outcome == "accepted"
    [(stored,)] = h.con.execute("select stored_path from submissions").fetchall()
    kept = (h.folder / stored).resolve()
    assert kept.is_file() and kept.read_bytes() == path.read_bytes()
    assert kept.parent.parent == (h.folder / "submitted").resolve()
    assert len(kept.name.encode()) <= 255
