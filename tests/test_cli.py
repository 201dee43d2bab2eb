"""The CLI contract other tools and users rely on.

Two tests run ``python -m perfcore.cli`` as a real subprocess (exit status, stdout, a stderr without a
traceback); the rest call ``perfcore.cli.main`` in this process, the same code without a Python start-up
each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from builders import claim, extract_xml, manual_csv, write

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_process(tmp_path, *args) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PERFCORE_WAREHOUSE": str(tmp_path / "wh" / "warehouse.duckdb"),
        "PERFCORE_TODAY": "2026-11-26",
    }
    return subprocess.run(
        [sys.executable, "-m", "perfcore.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def run(capsys, monkeypatch):
    """``run(tmp_path, *args)``: the CLI's main in this process, with the settings the subprocess gets."""
    from perfcore.cli import main

    monkeypatch.chdir(ROOT)

    def call(tmp_path, *args) -> Ran:
        monkeypatch.setenv("PERFCORE_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
        monkeypatch.setenv("PERFCORE_TODAY", "2026-11-26")
        capsys.readouterr()
        status = main(list(args))
        out, err = capsys.readouterr()
        return Ran(status, out, err)

    return call


@pytest.fixture
def files(tmp_path):
    good = write(tmp_path / "in" / "good.xml", extract_xml(records=[claim("A", "2026-10-01", "2026-10-10")]))
    bad = write(tmp_path / "in" / "bad.xml", extract_xml(authority="S12000049"))
    csv = write(
        tmp_path / "in" / "return.csv",
        manual_csv([("S12000042", "2026-10", "calls_offered", 10), ("S12000042", "2026-10", "calls_answered", 9)]),
    )
    return good, bad, csv


def test_ingest_prints_a_line_per_file_and_exits_1_when_any_file_is_rejected(tmp_path, files):
    good, bad, csv = files
    result = run_process(tmp_path, "ingest", str(good), str(bad), str(csv))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ACCEPTED") and "good.xml" in lines[0] and "1 records loaded" in lines[0]
    assert lines[1].startswith("REJECTED") and "not a consortium member" in lines[1]
    assert lines[2].startswith("ACCEPTED") and "return.csv" in lines[2]


def test_ingest_exits_0_for_accepted_and_duplicates(run, tmp_path, files):
    good, _, csv = files
    assert run(tmp_path, "ingest", str(good), str(csv)).returncode == 0
    again = run(tmp_path, "ingest", str(good.parent / "good.xml"))
    assert again.returncode == 0 and again.stdout.startswith("DUPLICATE")


def test_ingest_takes_folders(run, tmp_path, files):
    result = run(tmp_path, "ingest", str(files[0].parent))
    assert len(result.stdout.strip().splitlines()) == 3


def test_indicators_json_has_every_framework_id(run, tmp_path, files):
    from perfcore.config.parameters import load_framework

    run(tmp_path, "ingest", str(files[0]), str(files[2]))
    result = run(tmp_path, "indicators", "--council", "S12000042", "--period", "2026-10", "--format", "json")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert set(values) == set(load_framework(ROOT / "parameters" / "framework.yaml").ids)
    assert values["new_claims_days"] == 10 and values["calls_answered_pct"] == 90
    assert values["accuracy_pct"] is None
    pooled = json.loads(
        run(tmp_path, "indicators", "--council", "consortium", "--period", "2026-10", "--format", "json").stdout
    )
    assert pooled["new_claims_decided"] == 1


def test_indicators_table_shows_status_words_and_version(run, tmp_path, files):
    run(tmp_path, "ingest", str(files[0]))
    result = run(tmp_path, "indicators", "--council", "S12000042", "--period", "2026-10")
    assert "framework 1.0" in result.stdout and "GREEN" in result.stdout


def test_rejections_json_contract(run, tmp_path, files):
    run(tmp_path, "ingest", *map(str, files))
    rows = json.loads(run(tmp_path, "rejections", "--format", "json").stdout)
    assert rows == [{"file": "bad.xml", "level": "file", "line": 4, "ref": None, "reason": rows[0]["reason"]}]
    assert "not a consortium member" in rows[0]["reason"]


def test_submissions_json_contract(run, tmp_path, files):
    good, bad, _ = files
    run(tmp_path, "ingest", str(good), str(bad))
    rows = json.loads(run(tmp_path, "submissions", "--format", "json").stdout)
    assert [(r["id"], r["file_name"], r["outcome"], r["records_loaded"]) for r in rows] == [
        (1, "good.xml", "accepted", 1),
        (2, "bad.xml", "rejected", 0),
    ]
    assert rows[0]["authority"] == "S12000042" and rows[0]["period"] == "2026-10" and rows[0]["sequence"] == 1
    assert rows[0]["records_rejected"] == 0 and len(rows[0]["sha256"]) == 64


@pytest.mark.parametrize(
    "args, expected",
    [
        (("indicators", "--council", "S99999999", "--period", "2026-10"), "not a member"),
        (("indicators", "--council", "consortium", "--period", "October"), "not a month"),
        (("ingest", "/no/such/file.xml"), "no such file"),
    ],
)
def test_errors_are_one_line_without_traceback(run, tmp_path, files, args, expected):
    run(tmp_path, "ingest", str(files[0]))
    result = run(tmp_path, *args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_error_from_the_real_command_is_one_line_on_stderr(tmp_path, files):
    run_process(tmp_path, "ingest", str(files[0]))
    result = run_process(tmp_path, "indicators", "--council", "S99999999", "--period", "2026-10")
    assert result.returncode == 2 and "not a member" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_reading_an_empty_warehouse_says_what_to_do(run, tmp_path):
    result = run(tmp_path, "rejections")
    assert result.returncode == 2 and "perfcore ingest" in result.stderr
