"""The supplier conformance kit (issue 12, item 2): `perfcore validate` and the sample files in conformance/.

Every sample passes or fails exactly as conformance/expected.json documents, `perfcore validate` and
`perfcore ingest` (into a fresh warehouse) agree on each, the committed samples are what the generator
writes, and validate never writes to the warehouse.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

from builders import claim, empty_warehouse, extract_xml, write
from perfcore.cli import main
from perfcore.intake.ingest import rejections, submissions
from perfcore.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "conformance"
EXPECTED = json.loads((KIT / "expected.json").read_text(encoding="utf-8"))
TODAY = "2026-11-26"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--today", TODAY])
    return code, out.getvalue()


def generator():
    spec = importlib.util.spec_from_file_location("conformance_generate", KIT / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_committed_samples_are_what_the_generator_writes(tmp_path):
    written = generator().write(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in written}
    committed = {
        p.relative_to(KIT).as_posix(): p.read_bytes()
        for p in [*(KIT / "samples").rglob("*"), KIT / "expected.json"]
        if p.is_file()
    }
    assert sorted(fresh) == sorted(committed), "run python conformance/generate.py and commit the result"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"regenerate the kit (python conformance/generate.py): {changed}"


def test_the_kit_has_a_good_file_of_each_kind_and_a_failing_sample_for_every_rule():
    from perfcore.intake.validate import RULES

    samples = EXPECTED["samples"]
    good = {Path(s["file"]).suffix for s in samples if s["file"].startswith("samples/good/")}
    assert good == {".xml", ".csv"}
    covered = {s["rule"] for s in samples if s["rule"]}
    extract_rules = {r.id for r in RULES["extract"] if not r.id.endswith(".other")}
    assert extract_rules <= covered, f"no sample breaks {sorted(extract_rules - covered)}"
    assert all((KIT / s["file"]).is_file() for s in samples)


@pytest.mark.parametrize(
    "sample", EXPECTED["samples"], ids=[s["file"].removeprefix("samples/") for s in EXPECTED["samples"]]
)
def test_validate_and_ingest_agree_with_the_documented_outcome(sample, tmp_path):
    files = [str(KIT / name) for name in [*sample["submit_after"], sample["file"]]]

    # perfcore validate: the documented outcome, rule and line; exit 0 exactly when conformant
    code, out = run(
        "validate",
        "--as-sequence",
        "--format",
        "json",
        *files,
        "--warehouse",
        str(tmp_path / "never" / "warehouse.duckdb"),
    )
    report = json.loads(out)["files"][-1]
    failed = [r for r in report["rules"] if r["status"] == "fail"]
    assert (report["outcome"], report["records_rejected"]) == (sample["outcome"], sample["records_rejected"])
    assert [r["rule"] for r in failed] == ([sample["rule"]] if sample["rule"] else [])
    if sample["line"] is not None:
        assert [f["line"] for r in failed for f in r["failures"]] == [sample["line"]]
    assert (code == 0) == sample["conformant"] == report["ok"]
    assert not (tmp_path / "never").exists()  # validate never made or touched a warehouse

    # perfcore ingest, the same files in the same order into a fresh warehouse: the same verdict, read back
    # with the functions `perfcore submissions` and `perfcore rejections` print (their JSON: test_cli.py)
    warehouse = empty_warehouse(tmp_path / "data" / "warehouse.duckdb")
    ingest_code, _ = run("ingest", *files, "--warehouse", str(warehouse))
    con = connect(warehouse, read_only=True)
    try:
        submitted, rejected = submissions(con)[-1], rejections(con)
    finally:
        con.close()
    assert (submitted["outcome"], submitted["records_rejected"]) == (report["outcome"], report["records_rejected"])
    assert ingest_code == (0 if report["outcome"] in ("accepted", "duplicate") else 1)
    ingest_failures = sorted((r["line"], r["reason"]) for r in rejected if r["file"] == Path(sample["file"]).name)
    validate_failures = sorted((f["line"], f["reason"]) for r in failed for f in r["failures"])
    if report["outcome"] != "duplicate":
        assert ingest_failures == validate_failures


def test_each_file_is_judged_on_its_own_unless_asked_for_a_sequence():
    first, conflict = (
        str(KIT / "samples" / "submission" / n) for n in ("resubmission-1.xml", "conflict-2-same-sequence.xml")
    )
    code, out = run("validate", "--format", "json", first, conflict)
    report = json.loads(out)
    assert code == 0 and [f["outcome"] for f in report["files"]] == ["accepted", "accepted"]
    sequence = {r["rule"]: r for r in report["files"][1]["rules"]}["submission.sequence"]
    assert sequence["status"] == "not checked" and "--history" in sequence["note"]
    assert "each file on its own" in report["submission_rules_checked_against"]


def test_history_judges_the_sequence_against_the_warehouse_read_only(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    first = KIT / "samples" / "submission" / "resubmission-1.xml"
    assert run("ingest", str(first), "--warehouse", str(warehouse))[0] == 0
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}

    code, out = run(
        "validate",
        "--history",
        "--format",
        "json",
        "--warehouse",
        str(warehouse),
        str(KIT / "samples" / "submission" / "conflict-2-same-sequence.xml"),
        str(first),
        str(KIT / "samples" / "submission" / "resubmission-2-higher-sequence.xml"),
    )
    report = json.loads(out)
    assert [f["outcome"] for f in report["files"]] == ["conflict", "duplicate", "accepted"]
    assert code == 1 and str(warehouse) in report["submission_rules_checked_against"]
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing of the warehouse (or beside it) changed


def test_the_table_report_names_each_rule_and_the_failing_lines(tmp_path):
    bad = write(
        tmp_path / "bad.xml",
        extract_xml(records=[claim("C1", "2026-10-12", "2026-10-09"), claim("C1", "2026-10-01", "2026-10-09")]),
    )
    code, out = run("validate", str(bad))
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("  FAIL  record.received-after-decided") for line in lines)
    assert any(line.startswith("  FAIL  record.duplicate-ref") for line in lines)
    assert any(line.startswith("  PASS  file.schema") for line in lines)
    assert "line 11, ref C1, field received: received after decided" in out
    assert "ACCEPTED with 2 rejected record(s)" in out
    assert "0 of 1 file(s) would be accepted with no rejected records" in out
