"""The commentary return (hbpe-1.0.md): rows, rules, and hostile text kept exactly as sent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from perfcore.config.parameters import load_consortium, load_framework
from perfcore.exceptions import FileRejected
from perfcore.intake.commentary import HEADER, is_commentary, read_commentary

ROOT = Path(__file__).resolve().parents[1]
CONSORTIUM = load_consortium(ROOT / "parameters")
IDS = set(load_framework(ROOT / "parameters" / "framework.yaml").ids)
TODAY = date(2026, 11, 26)
HEAD = ",".join(HEADER) + "\n"


def read(tmp_path: Path, body: str):
    path = tmp_path / "commentary.csv"
    path.write_text(HEAD + body, encoding="utf-8")
    return read_commentary(path, CONSORTIUM, IDS, TODAY)


def test_the_spec_example_loads(tmp_path):
    parsed = read(
        tmp_path,
        'S12000042,2026-10,new_claims_days,"Two assessors on long-term sick leave; overtime agreed '
        'from 3 November.","Clear claims older than 30 days",Benefits Manager,2026-12-15\n'
        'S12000042,2026-10,,"Overall: recovery plan agreed with the Head of Revenues.",,,\n',
    )
    assert not parsed.errors
    first, second = parsed.rows
    assert (first.indicator, first.action, first.owner, first.due) == (
        "new_claims_days",
        "Clear claims older than 30 days",
        "Benefits Manager",
        "2026-12-15",
    )
    assert second.indicator == "" and second.action is None
    assert is_commentary(tmp_path / "commentary.csv")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("S99999999,2026-10,,text,,,", "authority"),
        ("S12000042,2027-01,,text,,,", "period"),
        ("S12000042,2026-10,not_an_indicator,text,,,", "indicator"),
        ("S12000042,2026-10,,,,,", "commentary"),
        ("S12000042,2026-10,," + "x" * 2001 + ",,,", "commentary"),
        ("S12000042,2026-10,,text,Do it,,", "action"),
        ("S12000042,2026-10,,text,Do it,Manager,15/12/2026", "due"),
        ("S12000042,2026-10,,text,Do it,Manager,2026-02-30", "due"),
        ("S12000042,2026-10,,text\x1b[2J,,,", "commentary"),
        ("S12000042,2026-10,,text,,", "row"),
    ],
)
def test_a_row_that_breaks_a_rule_is_rejected_with_its_line(tmp_path, row, field):
    parsed = read(tmp_path, "S12000042,2026-10,,fine,,,\n" + row + "\n")
    [error] = parsed.errors
    assert error.line == 3 and error.field == field
    assert len(parsed.rows) == 1


def test_markup_of_every_kind_is_kept_as_text(tmp_path):
    hostile = "<script>alert(1)</script> #set page(fill: red) $x$ *bold* [link](http://x) @ref \\ `code`"
    parsed = read(tmp_path, f'S12000042,2026-10,,"{hostile}",,,\n')
    assert parsed.rows[0].commentary == hostile


def test_done_closes_without_owner_or_due(tmp_path):
    [row] = read(tmp_path, "S12000042,2026-11,new_claims_days,Cleared the backlog,done,,\n").rows
    assert row.action == "done" and row.due is None


def test_a_broken_file_is_rejected_whole(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("authority,period,measure,value\nS12000042,2026-10,calls_offered,1\n")
    with pytest.raises(FileRejected):
        read_commentary(path, CONSORTIUM, IDS, TODAY)
    assert not is_commentary(path)


def test_ingest_tells_a_commentary_return_from_a_manual_one_and_keeps_both_rows(tmp_path):
    from builders import Harness

    harness = Harness(tmp_path)
    first = harness.ingest(
        HEAD + 'S12000042,2026-10,new_claims_days,"First words",Clear the backlog,Manager,2026-12-15\n'
        "S12000042,2026-10,,Month overall,,,\nS12000042,2026-10,bad_id,x,,,\n",
        suffix=".csv",
    )
    assert (first.kind, first.outcome, first.records_loaded, first.records_rejected) == ("commentary", "accepted", 2, 1)
    second = harness.ingest(HEAD + "S12000042,2026-10,new_claims_days,Second words,,,\n", suffix=".csv")
    assert second.kind == "commentary"
    current = harness.con.execute(
        "select indicator, commentary, action from current_commentary order by indicator"
    ).fetchall()
    assert current == [("", "Month overall", None), ("new_claims_days", "Second words", None)]
    assert harness.count("commentary_rows") == 3  # the replaced row stays in the history
    [rejection] = [r for r in harness.rejections() if r["level"] == "record"]
    assert rejection["line"] == 4 and "bad_id" in rejection["reason"]
