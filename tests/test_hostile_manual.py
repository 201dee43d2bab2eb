"""Manual returns against hostile and broken input (issue 7 items 1, 2, 13, 15).

Every file is generated here, byte for byte; every outcome is a rejection
with a reason (file or row) or an accepted row held exactly as written.
"""

from __future__ import annotations

import hashlib

import pytest

from builders import Harness, manual_csv

DUNDEE = "S12000042"
OTHER = "S12000008"
HEADER = b"authority,period,measure,value\n"
MAX_ROWS = 50_000  # documented in README.md (manual-return rules)
MAX_BYTES = 4 * 1024 * 1024


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.discard()


def ingest_bytes(h: Harness, data: bytes, name: str = "return.csv"):
    from perfcore.intake.ingest import ingest_file

    path = h.folder / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ingest_file(path, h.con, h.consortium, today=h.today)


def ingest_rows(h: Harness, rows):
    return h.ingest(manual_csv(rows), suffix=".csv")


def held(h: Harness, authority: str, period: str, measure: str):
    rows = h.con.execute(
        "select value from current_manual where authority = ? and period = ? and measure = ?",
        [authority, period, measure],
    ).fetchall()
    return rows[0][0] if rows else None


def record_rejections(h: Harness) -> list[dict]:
    return [r for r in h.rejections() if r["level"] == "record"]


# -- item 1: correcting one half of a pair -------------------------------------------------------------

PAIRS = [("calls_answered", "calls_offered"), ("accuracy_cases_correct", "accuracy_cases_checked")]


@pytest.mark.parametrize("part, whole", PAIRS)
def test_a_whole_alone_is_checked_against_the_part_held(h, part, whole):
    ingest_rows(h, [(DUNDEE, "2026-10", part, 90)])
    result = ingest_rows(h, [(DUNDEE, "2026-10", whole, 100)])
    assert (result.outcome, result.records_loaded, result.records_rejected) == ("accepted", 1, 0)
    assert held(h, DUNDEE, "2026-10", whole) == 100


@pytest.mark.parametrize("part, whole", PAIRS)
def test_a_part_alone_is_checked_against_the_whole_held(h, part, whole):
    ingest_rows(h, [(DUNDEE, "2026-10", whole, 100)])
    result = ingest_rows(h, [(DUNDEE, "2026-10", part, 95)])
    assert (result.outcome, result.records_loaded, result.records_rejected) == ("accepted", 1, 0)
    result = ingest_rows(h, [(DUNDEE, "2026-10", part, 101)])
    assert (result.records_loaded, result.records_rejected) == (0, 1)
    assert held(h, DUNDEE, "2026-10", part) == 95


def test_correcting_both_halves_over_several_files_keeps_the_latest(h):
    ingest_rows(h, [(DUNDEE, "2026-10", "calls_offered", 100), (DUNDEE, "2026-10", "calls_answered", 90)])
    ingest_rows(h, [(DUNDEE, "2026-10", "calls_offered", 200)])
    result = ingest_rows(h, [(DUNDEE, "2026-10", "calls_answered", 150)])
    assert result.records_rejected == 0
    assert (held(h, DUNDEE, "2026-10", "calls_offered"), held(h, DUNDEE, "2026-10", "calls_answered")) == (200, 150)


# -- item 15: part <= whole, set-based, same semantics ------------------------------------------------


def test_twenty_thousand_rows_breaking_the_rule_are_all_rejected_with_their_lines(h):
    ingest_rows(h, [(DUNDEE, "2026-10", "calls_offered", 100)])
    rows = [(DUNDEE, "2026-10", "calls_answered", 150)] * 20_000
    result = ingest_rows(h, rows)
    assert (result.outcome, result.records_loaded, result.records_rejected) == ("accepted", 0, 20_000)
    lines = sorted(r["line"] for r in record_rejections(h))
    assert lines == list(range(2, 20_002))
    assert held(h, DUNDEE, "2026-10", "calls_answered") is None


def test_rule_breaking_rows_spread_over_many_months_are_rejected_each_with_its_line(h):
    months = [f"{y}-{m:02d}" for y in range(2010, 2026) for m in range(1, 13)]
    ingest_rows(h, [(code, p, "accuracy_cases_checked", 10) for code in (DUNDEE, OTHER) for p in months])
    rows = [(code, p, "accuracy_cases_correct", 11 + (i % 2)) for code in (DUNDEE, OTHER) for i, p in enumerate(months)]
    rows.insert(5, (DUNDEE, "2026-01", "accuracy_cases_correct", 3))  # a fine row among them
    result = ingest_rows(h, rows)
    assert (result.records_loaded, result.records_rejected) == (1, len(rows) - 1)
    assert sorted(r["line"] for r in record_rejections(h)) == [n for n in range(2, len(rows) + 2) if n != 7]
    assert all(
        "exceeds accuracy_cases_checked" in r["reason"] and "already held" in r["reason"] for r in record_rejections(h)
    )


def test_a_later_part_within_the_file_that_fits_saves_the_pair(h):
    result = ingest_rows(
        h,
        [
            (DUNDEE, "2026-10", "calls_offered", 100),
            (DUNDEE, "2026-10", "calls_answered", 150),
            (DUNDEE, "2026-10", "calls_answered", 90),
        ],
    )
    assert result.records_rejected == 0
    assert held(h, DUNDEE, "2026-10", "calls_answered") == 90


def test_the_later_rows_are_rejected_until_the_pair_fits(h):
    result = ingest_rows(
        h,
        [
            (DUNDEE, "2026-10", "calls_offered", 100),
            (DUNDEE, "2026-10", "calls_answered", 150),
            (DUNDEE, "2026-10", "calls_offered", 120),
        ],
    )
    assert sorted(r["line"] for r in record_rejections(h)) == [3, 4]
    reasons = {r["line"]: r["reason"] for r in record_rejections(h)}
    assert reasons[4] == f"calls_answered (150) exceeds calls_offered (120) for {DUNDEE} 2026-10"
    assert reasons[3] == f"calls_answered (150) exceeds calls_offered (100) for {DUNDEE} 2026-10"
    assert (held(h, DUNDEE, "2026-10", "calls_offered"), held(h, DUNDEE, "2026-10", "calls_answered")) == (100, None)
    assert (result.records_loaded, result.records_rejected) == (1, 2)


def test_pairs_of_other_councils_and_months_do_not_interfere(h):
    result = ingest_rows(
        h,
        [
            (DUNDEE, "2026-10", "calls_offered", 100),
            (OTHER, "2026-10", "calls_answered", 150),
            (DUNDEE, "2026-09", "calls_answered", 150),
            (DUNDEE, "2026-10", "calls_answered", 100),
        ],
    )
    assert (result.records_loaded, result.records_rejected) == (4, 0)


def test_a_later_value_in_the_same_file_replaces_the_earlier(h):
    ingest_rows(h, [(DUNDEE, "2026-10", "admin_cost_gbp", 10), (DUNDEE, "2026-10", "admin_cost_gbp", 12)])
    assert held(h, DUNDEE, "2026-10", "admin_cost_gbp") == 12


# -- item 15: size limits ------------------------------------------------------------------------------


def test_a_return_over_the_row_limit_is_rejected_whole_and_kept(h):
    data = HEADER + b"".join(f"{DUNDEE},2026-10,staff_fte,{i % 90}\n".encode() for i in range(MAX_ROWS + 1))
    result = ingest_bytes(h, data)
    assert result.outcome == "rejected" and "50,000 rows" in result.reason
    assert h.count("manual_values") == 0
    kept = h.folder / "submitted" / hashlib.sha256(data).hexdigest() / "return.csv"
    assert kept.read_bytes() == data


def test_a_return_at_the_row_limit_loads(h):
    data = HEADER + b"".join(f"{DUNDEE},2026-10,staff_fte,{i % 90}\n".encode() for i in range(MAX_ROWS))
    result = ingest_bytes(h, data)
    assert (result.outcome, result.records_loaded) == ("accepted", MAX_ROWS)


def test_a_return_over_the_byte_limit_is_rejected_whole_and_kept(h):
    data = HEADER + b"\n" * (MAX_BYTES - len(HEADER) + 1)
    result = ingest_bytes(h, data)
    assert result.outcome == "rejected" and "4 MiB" in result.reason
    kept = h.folder / "submitted" / hashlib.sha256(data).hexdigest() / "return.csv"
    assert kept.read_bytes() == data


# -- item 2: every bad CSV is a rejection with a reason -------------------------------------------------

GOOD_ROW = f"{DUNDEE},2026-10,staff_fte,38.5"

FILE_CASES = {
    "empty file": (b"", "empty"),
    "only a BOM": (b"\xef\xbb\xbf", "empty"),
    "header only": (HEADER, "no rows"),
    "header and blank lines": (HEADER + b"\n\r\n,,,\n", "no rows"),
    "wrong header": (b"council,month,what,value\n" + GOOD_ROW.encode(), "header"),
    "header with an extra column": (b"authority,period,measure,value,note\n" + GOOD_ROW.encode(), "header"),
    "header missing a column": (b"authority,period,measure\n" + GOOD_ROW.encode(), "header"),
    "invalid UTF-8": (HEADER + GOOD_ROW.encode() + b"\n" + b"S1200004\xff,2026-10,staff_fte,3\n", "UTF-8"),
    "UTF-16": ((HEADER.decode() + GOOD_ROW).encode("utf-16"), "UTF-8"),
    "quote never closed": (
        HEADER + GOOD_ROW.encode() + b'\n"S12000042,2026-10,staff_fte,3\n' + GOOD_ROW.encode(),
        "never closed",
    ),
    "huge header": (b"authority," + b"x" * 200_000 + b"\n" + GOOD_ROW.encode(), "header"),
}


@pytest.mark.parametrize("data, reason", FILE_CASES.values(), ids=FILE_CASES.keys())
def test_each_broken_file_is_rejected_whole_with_a_reason(h, data, reason):
    result = ingest_bytes(h, data)
    assert result.outcome == "rejected"
    assert reason in result.reason
    assert h.count("manual_values") == 0
    [rejection] = h.rejections()
    assert rejection["level"] == "file" and len(rejection["reason"]) < 500


ROW_CASES = {
    "huge value": (f"{DUNDEE},2026-10,staff_fte,{'9' * 200_000}", "value", "200,000 characters"),
    "huge authority": (f"{'S' * 131_073},2026-10,staff_fte,3", "authority", "131,073 characters"),
    "huge quoted field with newlines": (
        f'{DUNDEE},2026-10,staff_fte,"{"1" * 70_000}\n{"2" * 70_000}"',
        "value",
        "140,001 characters",
    ),
    "NUL in authority": (f"{DUNDEE}\x00,2026-10,staff_fte,3", "authority", "not a consortium member"),
    "NUL in value": (f"{DUNDEE},2026-10,staff_fte,3\x00", "value", "not a number"),
    "extra column": (f"{DUNDEE},2026-10,staff_fte,3,4", "row", "has 5 fields"),
    "missing column": (f"{DUNDEE},2026-10,staff_fte", "row", "has 3 fields"),
    "quoted newline in value": (f'{DUNDEE},2026-10,staff_fte,"3\n8"', "value", "not a number"),
    "quoted newline after period": (f'{DUNDEE},"2026-10\n",staff_fte,3', "period", "not a month"),
    "stray quote": (f'{DUNDEE},2026-10,staff_fte,"3"8', "row", "quote"),
    "spaces around the authority": (f" {DUNDEE} ,2026-10,staff_fte,3", "authority", "not a consortium member"),
    "spaces around the measure": (f"{DUNDEE},2026-10, staff_fte,3", "measure", "not a manual-return measure"),
    "Arabic-Indic period": (f"{DUNDEE},٢٠٢٦-10,staff_fte,3", "period", "not a month"),
    "period before 2000": (f"{DUNDEE},1999-12,staff_fte,3", "period", "before 2000-01"),
    "period year 0": (f"{DUNDEE},0000-01,staff_fte,3", "period", "before 2000-01"),
    "future period": (f"{DUNDEE},2026-12,staff_fte,3", "period", "in the future"),
    "staff_fte beyond its maximum": (f"{DUNDEE},2026-10,staff_fte,5000.01", "value", "more than 5,000"),
    "admin_cost_gbp beyond its maximum": (
        f"{DUNDEE},2026-10,admin_cost_gbp,100000000.01",
        "value",
        "more than 100,000,000",
    ),
    "calls_offered beyond its maximum": (f"{DUNDEE},2026-10,calls_offered,10000001", "value", "more than 10,000,000"),
    "cases beyond their maximum": (f"{DUNDEE},2026-10,accuracy_cases_checked,100001", "value", "more than 100,000"),
    "20 digits": (f"{DUNDEE},2026-10,calls_offered,{'9' * 20}", "value", "more than 10,000,000"),
    "a fraction of a call": (f"{DUNDEE},2026-10,calls_offered,10.5", "value", "whole number"),
    "a count with .0": (f"{DUNDEE},2026-10,accuracy_cases_checked,10.0", "value", "whole number"),
    "pence beyond two digits": (f"{DUNDEE},2026-10,admin_cost_gbp,10.005", "value", "2 digits after the point"),
    "staff_fte beyond two digits": (f"{DUNDEE},2026-10,staff_fte,1.125", "value", "2 digits after the point"),
}


@pytest.mark.parametrize("row, field, reason", ROW_CASES.values(), ids=ROW_CASES.keys())
def test_each_bad_row_is_rejected_with_a_reason_and_the_rest_loads(h, row, field, reason):
    data = (HEADER.decode() + GOOD_ROW + "\n" + row + "\n" + GOOD_ROW.replace("38.5", "39") + "\n").encode()
    result = ingest_bytes(h, data)
    assert (result.outcome, result.records_loaded, result.records_rejected) == ("accepted", 2, 1)
    [rejection] = record_rejections(h)
    assert (rejection["line"], rejection["field"]) == (3, field)
    assert reason in rejection["reason"]
    assert len(rejection["reason"]) < 1000
    lines = [r[0] for r in h.con.execute("select line from manual_values order by line").fetchall()]
    assert lines == [2, 3 + row.count("\n") + 1]


ACCEPTED_CASES = {
    "BOM": b"\xef\xbb\xbf" + HEADER + GOOD_ROW.encode() + b"\n",
    "CRLF": HEADER.replace(b"\n", b"\r\n") + GOOD_ROW.encode() + b"\r\n",
    "CR only": HEADER.replace(b"\n", b"\r") + GOOD_ROW.encode() + b"\r",
    "no final newline": HEADER + GOOD_ROW.encode(),
    "quoted fields": HEADER + b'"S12000042","2026-10","staff_fte","38.5"\n',
    "header in capitals": HEADER.upper() + GOOD_ROW.encode() + b"\n",
    "blank line before the row": HEADER + b"\n" + GOOD_ROW.encode() + b"\n",
}


@pytest.mark.parametrize("data", ACCEPTED_CASES.values(), ids=ACCEPTED_CASES.keys())
def test_well_formed_variants_are_accepted(h, data):
    result = ingest_bytes(h, data)
    assert (result.outcome, result.records_loaded, result.records_rejected) == ("accepted", 1, 0)
    assert held(h, DUNDEE, "2026-10", "staff_fte") == 38.5


def test_a_crlf_return_reports_the_right_lines(h):
    data = (HEADER.decode() + GOOD_ROW + "\n\n" + f"{DUNDEE},2026-10,staff_fte,x\n").replace("\n", "\r\n").encode()
    ingest_bytes(h, data)
    assert [r["line"] for r in record_rejections(h)] == [4]


BOUNDS = [
    ("2000-01", "staff_fte", "0"),
    ("2026-11", "staff_fte", "5000"),
    ("2026-10", "staff_fte", "5000.00"),
    ("2026-10", "admin_cost_gbp", "100000000"),
    ("2026-10", "admin_cost_gbp", "99999999.99"),
    ("2026-10", "calls_offered", "10000000"),
    ("2026-10", "accuracy_cases_checked", "100000"),
    ("2026-10", "calls_offered", "0007"),
]


@pytest.mark.parametrize("period, measure, value", BOUNDS)
def test_values_at_the_bounds_load_and_are_held_exactly(h, period, measure, value):
    result = ingest_rows(h, [(DUNDEE, period, measure, value)])
    assert (result.records_loaded, result.records_rejected) == (1, 0)
    assert held(h, DUNDEE, period, measure) == float(value)


# -- item 13: exactly the documented number syntax ------------------------------------------------------

NOT_NUMBERS = [
    "1_000",
    "١٢",
    "٤٠",
    "+40",
    "-0",
    "-1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e3",
    " 40 ",
    "40 ",
    "",
    "4 0",
    ".5",
    "5.",
    "0x10",
    "1,000",
    "４０",
    "40\u00a0",
    "3.5.1",
    "²",
]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_only_the_documented_number_syntax_is_accepted(h, value):
    result = ingest_bytes(h, (HEADER.decode() + f'{DUNDEE},2026-10,staff_fte,"{value}"\n').encode())
    assert (result.records_loaded, result.records_rejected) == (0, 1)
    [rejection] = record_rejections(h)
    assert rejection["field"] == "value" and "is not a number" in rejection["reason"]
    assert "digits" in rejection["reason"]


# -- hostile text is kept whole in the stored reason ------------------------------------------------------


def test_the_stored_reason_keeps_a_field_with_control_characters_whole(h):
    hostile = "S1200\x1b[2J\x1b]0;owned\x07\r0042\x00\x7f\u202e"
    result = ingest_bytes(h, (HEADER.decode() + f'"{hostile}",2026-10,staff_fte,3\n').encode())
    assert result.records_rejected == 1
    [rejection] = record_rejections(h)
    assert hostile in rejection["reason"]
    assert rejection["ref"].startswith(hostile)


# -- sibling: the shared period check -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["٢٠٢٦-10", "2026-١٠", "2026-10\n", "２０２６-10"])
def test_a_period_is_ascii_digits_and_nothing_after(text):
    from perfcore import periods

    assert not periods.is_period(text)
    with pytest.raises(ValueError):
        periods.parse(text)
