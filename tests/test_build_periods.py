"""``perfcore build --all-periods``: every month with data in one build, with progress a person can follow.

A tiny project (two member councils, three months, the cheap reports) in a temporary folder, built by the
real ``perfcore`` command in a subprocess: every month's page exists, and the site's month and report
indexes link each of them ("Other months of this report" works on the first run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builders import Harness, change, claim, extract_xml, item

ROOT = Path(__file__).resolve().parents[1]
TODAY = "2026-11-26"
MONTHS = ("2026-08", "2026-09", "2026-10")
COUNCILS = ("S12000042", "S12000008")  # Dundee City, East Ayrshire: the first two members


def two_council_project(folder: Path, months: tuple[str, ...] = MONTHS) -> Path:
    """notebooks/, _quarto.yml and parameters/ with the first two members, and a warehouse with ``months``."""
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    shutil.copy(ROOT / "_quarto.yml", folder / "_quarto.yml")
    shutil.copytree(ROOT / "parameters", folder / "parameters")
    consortium = folder / "parameters" / "consortium.yaml"
    head, second = consortium.read_text(encoding="utf-8").split("  - code: S12000008")[:2]
    consortium.write_text(head + "  - code: S12000008" + second.split("  - code:")[0], encoding="utf-8")
    (folder / "parameters" / "peer_groups.yaml").write_text(
        "groups:\n  consortium:\n    name: All members\n    description: Every council.\n    members: all\n",
        encoding="utf-8",
    )
    (folder / "parameters" / "initiatives.yaml").write_text("initiatives: []\n", encoding="utf-8")
    harness = Harness(folder / "data", today=TODAY)
    for council in COUNCILS:
        for period in months:
            records = [
                claim("C1", f"{period}-02", f"{period}-10"),
                change("X1", f"{period}-03", f"{period}-05"),
                item("W1", f"{period}-04"),
            ]
            result = harness.ingest(extract_xml(council, period, records))
            assert result.outcome == "accepted", result.reason
    harness.con.close()
    return folder


def perfcore(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFCORE_")}
    env |= {"PERFCORE_TODAY": TODAY, "PERFCORE_WAREHOUSE": str(project / "data" / "warehouse.duckdb")}
    return subprocess.run(
        [sys.executable, "-m", "perfcore.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = two_council_project(tmp_path_factory.mktemp("periods") / "project")
    done = perfcore(project, "build", "--all-periods", "--report", "indicators", "--workers", "2")
    return project, done


@pytest.mark.slow  # a real build in a subprocess
def test_every_month_with_data_is_built(built):
    project, done = built
    assert done.returncode == 0, done.stderr
    site = project / "reports" / "site"
    for period in MONTHS:
        assert (site / "consortium" / period / "indicators.html").exists(), period
        assert (site / "dwp" / period / f"sop-return-{period}.csv").exists(), period  # DWP's files for each month
    assert not (site / "consortium" / "2026-07").exists()  # no data, no month
    last = done.stdout.strip().splitlines()[-1]
    assert "3 pages for 3 months, 2026-08 to 2026-10" in last and "3 executed" in last


@pytest.mark.slow
def test_progress_says_pages_done_of_total_and_time_left(built):
    _, done = built
    lines = [line for line in done.stdout.splitlines() if line.startswith("EXECUTED")]
    assert len(lines) == 3
    counts = [re.search(r"\[(\d+)/(\d+)", line).groups() for line in lines]
    assert counts == [("1", "3"), ("2", "3"), ("3", "3")]
    assert "left]" in lines[0] and "left" not in lines[-1]  # an estimate while pages remain, none at the end


@pytest.mark.slow
def test_the_month_and_report_indexes_link_every_month(built):
    project, _ = built
    site = project / "reports" / "site"
    every_month = (site / "consortium" / "reports" / "indicators.html").read_text(encoding="utf-8")
    for period in MONTHS:
        assert f"../{period}/indicators.html" in every_month, period
    page = (site / "consortium" / "2026-09" / "indicators.html").read_text(encoding="utf-8")
    assert "../reports/indicators.html" in page and "Other months of this report" in page
    middle = (site / "consortium" / "2026-09" / "index.html").read_text(encoding="utf-8")
    assert "../2026-08/index.html" in middle and "../2026-10/index.html" in middle  # previous and next month
    landing = (site / "consortium" / "index.html").read_text(encoding="utf-8")
    assert all(f"{period}/index.html" in landing for period in MONTHS)


@pytest.mark.slow
def test_a_second_run_executes_nothing(built):
    project, _ = built
    again = perfcore(project, "build", "--all-periods", "--report", "indicators")
    assert again.returncode == 0, again.stderr
    assert "0 executed, 3 unchanged" in again.stdout.splitlines()[-1]


@pytest.mark.slow
def test_a_rebuild_with_nothing_changed_writes_no_file_and_a_deleted_index_page_comes_back(built):
    project, _ = built
    site = project / "reports" / "site"
    build = ("build", "--all-periods", "--report", "indicators")
    assert perfcore(project, *build).returncode == 0  # whatever ran before: this build's key is the next one's
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*") if p.is_file()}
    again = perfcore(project, *build)
    assert again.returncode == 0 and "0 executed" in again.stdout.splitlines()[-1]
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*") if p.is_file()} == before
    month = site / "consortium" / "2026-09" / "index.html"
    month.unlink()  # someone tidied the site by hand
    assert perfcore(project, *build).returncode == 0
    assert month.read_bytes() == before[month][1]


def test_every_month_is_the_loaded_data_at_each_month_with_its_own_status(tmp_path: Path):
    """One load, one indicator table: each month gets its own period and complete/provisional status."""
    from perfcore.build.runner import every_month
    from perfcore.reporting import report

    project = two_council_project(tmp_path / "project")
    parameters = project / "parameters"
    data = report.load(None, warehouse=project / "data" / "warehouse.duckdb", parameters=parameters, today=TODAY)
    months = every_month(data, TODAY)
    assert [m.period for m in months] == list(MONTHS)
    assert all(m.table is data.table and not m.provisional for m in months)
    up_to = report.load("2026-09", warehouse=project / "data" / "warehouse.duckdb", parameters=parameters, today=TODAY)
    assert [m.period for m in every_month(up_to, TODAY)] == ["2026-08", "2026-09"]
    early = every_month(data, "2026-11-02")  # before October's cut-off, with every member in: still complete
    assert early[-1].period == "2026-10" and early[-1].status.members_in == 2


def test_the_build_key_changes_with_every_input_of_a_page(tmp_path):
    """``build_key`` vouches that no page's fingerprint changed: it must change when any of their inputs does."""
    import dataclasses

    from perfcore.build.runner import REPORTS, Shard, build_key

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for report in REPORTS:
        (notebooks / report.notebook).write_text("{}", encoding="utf-8")

    @dataclasses.dataclass
    class Month:
        period: str
        provisional: bool

    months = [Month("2026-09", False), Month("2026-10", True)]
    base = dict(months=months, code="c", inputs={"consortium": "d"}, root=tmp_path, users={}, only=(), shard=None)
    key = build_key(**base)
    assert build_key(**base) == key
    changed = [
        dict(base, code="c2"),
        dict(base, inputs={"consortium": "d2"}),
        dict(base, users={"S12000042": 1}),
        dict(base, only=("report",)),
        dict(base, shard=Shard(1, 2)),
        dict(base, months=months[:1]),
        dict(base, months=[months[0], Month("2026-10", False)]),  # the month completed
    ]
    assert len({build_key(**other) for other in changed} | {key}) == len(changed) + 1
    (notebooks / REPORTS[0].notebook).write_text('{"edited": true}', encoding="utf-8")
    assert build_key(**base) != key
