"""Validation, submission rules and atomic loading (hbpe-1.0.md)."""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest

from builders import Harness, change, claim, extract_xml, item, manual_csv, overpayment, recovery, write_off

DUNDEE = "S12000042"


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.discard()


# -- record level: that record rejected, the rest loaded ----------------------------------------

RECORD_CASES = [
    (claim("BAD", "2026-10-12", "2026-10-09"), "received after decided"),
    (claim("BAD", "2026-10-05", "2026-10-09", info="2026-10-01"), "infoComplete before received"),
    (claim("BAD", "2026-10-05", "2026-10-09", info="2026-10-10"), "infoComplete after decided"),
    (claim("BAD", "2026-09-01", "2026-09-30"), "decided outside the Period"),
    (change("BAD", "2026-10-09", "2026-10-08"), "notified after actioned"),
    (change("BAD", "2026-09-01", "2026-11-02"), "actioned outside the Period"),
    (item("BAD", "2026-11-01"), "received after the last day of the Period"),
    (overpayment("BAD", "2026-09-30", "10.00"), "identified outside the Period"),
    (recovery("BAD", "2026-11-01", "10.00"), "date outside the Period"),
    (write_off("BAD", "2026-09-01", "10.00"), "date outside the Period"),
]


@pytest.mark.parametrize("bad, reason", RECORD_CASES, ids=[r for _, r in RECORD_CASES])
def test_each_record_rule_rejects_only_that_record(h, bad, reason):
    good = [claim("OK1", "2026-10-01", "2026-10-09"), change("OK2", "2026-10-01", "2026-10-02")]
    result = h.ingest(extract_xml(DUNDEE, "2026-10", [*good, bad]))
    assert result.outcome == "accepted"
    assert (result.records_loaded, result.records_rejected) == (2, 1)
    [rejection] = h.rejections()
    assert rejection["level"] == "record" and rejection["ref"] == "BAD"
    assert reason in rejection["reason"]
    assert rejection["line"] > 8  # points into the records, not the header


def test_a_repeated_ref_rejects_the_later_record(h):
    result = h.ingest(
        extract_xml(
            DUNDEE,
            "2026-10",
            [
                claim("NC1", "2026-10-01", "2026-10-05"),
                claim("NC2", "2026-10-01", "2026-10-05"),
                claim("NC1", "2026-10-02", "2026-10-06"),
            ],
        )
    )
    assert result.records_rejected == 1
    [rejection] = h.rejections()
    assert rejection["ref"] == "NC1" and "already used" in rejection["reason"]
    lines = h.con.execute("select line from claims where ref = 'NC1'").fetchall()
    assert len(lines) == 1 and lines[0][0] < rejection["line"]


def test_records_sharing_a_line_are_judged_one_by_one(h):
    text = extract_xml(
        DUNDEE,
        "2026-10",
        [
            claim("NC1", "2026-10-01", "2026-10-05"),
            claim("BAD", "2026-09-01", "2026-09-30"),
            claim("NC1", "2026-10-02", "2026-10-06"),
            claim("NC2", "2026-10-03", "2026-10-07"),
        ],
    ).replace("\n", " ")  # the whole document on one line
    result = h.ingest(text)
    assert (result.records_loaded, result.records_rejected) == (2, 2)
    assert sorted(r["ref"] for r in h.rejections()) == ["BAD", "NC1"]
    assert h.con.execute("select ref, received from claims order by ref").fetchall() == [
        ("NC1", date(2026, 10, 1)),
        ("NC2", date(2026, 10, 3)),
    ]  # the earlier NC1 stays


def test_same_ref_in_different_sections_is_fine(h):
    result = h.ingest(
        extract_xml(
            DUNDEE,
            "2026-10",
            [
                claim("X1", "2026-10-01", "2026-10-05"),
                item("X1", "2026-10-20", kind="change"),
            ],
        )
    )
    assert result.records_rejected == 0


# -- file level: the whole file rejected, nothing loaded ----------------------------------------

FILE_CASES = {
    "not well-formed": (extract_xml().replace("</Header>", "</Headr>"), "not well-formed"),
    "wrong namespace": (extract_xml(namespace="urn:other"), "not valid HBPE"),
    "wrong version": (extract_xml(version="2.0"), "not valid HBPE"),
    "unknown element": (extract_xml(extra_header="    <Colour>red</Colour>"), "not valid HBPE"),
    "unknown attribute": (extract_xml(records=[claim("A", "2026-10-01", "2026-10-02", colour="red")]), "colour"),
    "bad enumeration": (extract_xml(records=[claim("A", "2026-10-01", "2026-10-02", outcome="maybe")]), "maybe"),
    "bad date": (extract_xml(records=[claim("A", "2026-10-01", "2026-10-32")]), "2026-10-32"),
    "date with zone": (extract_xml(records=[claim("A", "2026-10-01Z", "2026-10-02")]), "not valid HBPE"),
    "three decimals": (extract_xml(expenditure="12.345"), "12.345"),
    "negative money": (extract_xml(records=[overpayment("O", "2026-10-01", "-5.00")]), "-5.00"),
    "missing caseload": (extract_xml(caseload=None), "not valid HBPE"),
    "missing required attribute": (
        extract_xml(records=[claim("A", "2026-10-01", "2026-10-02")]).replace(' outcome="awarded"', ""),
        "outcome",
    ),
    "not a member": (extract_xml(authority="S12000049"), "not a consortium member"),
    "future period": (extract_xml(period="2026-12"), "in the future"),
    "declares a DTD": (extract_xml(prolog='<?xml version="1.0"?>\n<!DOCTYPE Extract>\n'), "DTD"),
}


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_each_file_rule_rejects_the_whole_file(h, name):
    text, expected = FILE_CASES[name]
    result = h.ingest(text, name=f"{name.replace(' ', '-')}.xml")
    assert result.outcome == "rejected"
    assert expected in result.reason
    assert h.count("claims") == h.count("overpayments") == h.count("current_extracts") == 0
    [rejection] = h.rejections()
    assert rejection["level"] == "file" and rejection["file"] == f"{name.replace(' ', '-')}.xml"
    assert rejection["line"] is not None


def test_schema_error_names_the_line_and_field(h):
    records = [claim(f"A{i}", "2026-10-01", "2026-10-02") for i in range(50)]
    records.append(claim("LAST", "2026-10-01", "2026-10-99"))
    text = extract_xml(records=records)
    result = h.ingest(text)
    expected_line = next(n for n, line in enumerate(text.splitlines(), 1) if 'ref="LAST"' in line)
    [rejection] = h.rejections()
    assert rejection["line"] == expected_line
    assert rejection["field"] == "Claim@decided"
    assert "2026-10-99" in result.reason


def test_a_file_failing_at_its_last_record_leaves_nothing_loaded(h):
    from perfcore.intake.extract import BATCH_ROWS

    # three whole batches are read (and streamed into the table) before the failing record
    records = [claim(f"A{i:06d}", "2026-10-01", "2026-10-09") for i in range(3 * BATCH_ROWS)]
    records.append(write_off("OPX", "2026-10-05", "1.999"))  # three decimals: invalid, at the very end
    result = h.ingest(extract_xml(DUNDEE, "2026-10", records))
    assert result.outcome == "rejected"
    for table in (
        "claims",
        "changes",
        "work_items",
        "overpayments",
        "write_offs",
        "extract_headers",
        "current_extracts",
    ):
        assert h.count(table) == 0, table
    assert h.con.execute("select outcome from submissions").fetchall() == [("rejected",)]


def test_a_database_error_while_loading_is_raised_and_leaves_nothing(h, monkeypatch):
    from perfcore.intake import ingest

    monkeypatch.setitem(ingest._COLUMN_SQL, "claims", "ref::integer, received, null, decided, outcome, tenure")
    with pytest.raises(duckdb.ConversionException):
        h.ingest(extract_xml(records=[claim("A", "2026-10-01", "2026-10-02"), item("W1", "2026-10-03")]))
    assert h.count("claims") == h.count("work_items") == h.count("submissions") == 0


def test_a_schema_error_beats_a_database_error_held_meanwhile(h, monkeypatch):
    from perfcore.intake import ingest

    monkeypatch.setitem(ingest._COLUMN_SQL, "claims", "ref::integer, received, null, decided, outcome, tenure")
    records = [claim(f"A{i}", "2026-10-01", "2026-10-02") for i in range(30_000)]
    result = h.ingest(extract_xml(records=[*records, item("W1", "2026-10-03", kind="maybe")]))
    assert result.outcome == "rejected" and "maybe" in result.reason
    assert h.count("claims") == h.count("work_items") == 0


def test_billion_laughs_is_rejected_before_the_parser_sees_it(h, monkeypatch):
    from lxml import etree

    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{"&lol%s;" % ("" if i == 1 else i - 1) * 10}">' for i in range(1, 10)
    )
    text = f'<?xml version="1.0"?>\n<!DOCTYPE Extract [{entities}]>\n' + extract_xml(prolog="").replace(
        "Test Council", "&lol9;"
    )

    def no_parse(*args, **kwargs):
        raise AssertionError("the DTD reached lxml: its entities could have been expanded")

    # The prolog scan refuses the DTD, so no parser ever expands an entity (fast by construction).
    monkeypatch.setattr(etree, "iterparse", no_parse)
    result = h.ingest(text)
    assert result.outcome == "rejected" and "DTD" in result.reason and "lollol" not in result.reason
    assert h.count("extract_headers") == 0


def test_xxe_is_rejected_without_reading_the_file(h, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = f'<?xml version="1.0"?>\n<!DOCTYPE Extract [<!ENTITY xxe SYSTEM "file://{secret}">]>\n' + extract_xml(
        prolog=""
    ).replace("Test Council", "&xxe;")
    result = h.ingest(text)
    assert result.outcome == "rejected"
    assert "TOP-SECRET" not in str(h.rejections()) + str(h.con.execute("select * from extract_headers").fetchall())


def test_xinclude_is_not_processed(h, tmp_path):
    text = extract_xml().replace(
        "<Header>", '<Header><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>'
    )
    result = h.ingest(text)
    assert result.outcome == "rejected" and "root:" not in result.reason


def test_non_utf8_encoding_is_rejected(h):
    text = extract_xml(prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    assert "UTF-8" in h.ingest(text).reason


# -- submission rules -------------------------------------------------------------------------------


def test_resubmission_with_higher_sequence_replaces_and_keeps_history(h):
    first = h.ingest(extract_xml(records=[claim("A", "2026-10-01", "2026-10-10")]), name="seq1.xml")
    second = h.ingest(
        extract_xml(
            records=[claim("A", "2026-10-01", "2026-10-10"), claim("B", "2026-10-01", "2026-10-20")], sequence=2
        ),
        name="seq2.xml",
    )
    assert second.outcome == "accepted" and second.replaced == first.submission_id
    assert h.values(DUNDEE, "2026-10")["new_claims_decided"] == 2
    assert h.count("claims") == 3  # both submissions' records are kept
    assert h.con.execute("select replaced_id, replaced_by_id from replacements").fetchall() == [
        (first.submission_id, second.submission_id)
    ]


def test_byte_identical_file_is_a_duplicate(h):
    text = extract_xml(records=[claim("A", "2026-10-01", "2026-10-10")])
    h.ingest(text, name="a.xml")
    again = h.ingest(text, name="a-again.xml")
    assert again.outcome == "duplicate" and again.ok
    assert h.count("claims") == 1


@pytest.mark.parametrize("sequence", [1, 2])
def test_same_or_lower_sequence_with_different_content_conflicts(h, sequence):
    h.ingest(extract_xml(records=[claim("A", "2026-10-01", "2026-10-10")], sequence=2))
    result = h.ingest(extract_xml(records=[claim("Z", "2026-10-01", "2026-10-11")], sequence=sequence))
    assert result.outcome == "conflict" and not result.ok
    assert "higher Sequence" in result.reason
    assert h.con.execute("select ref from claims").fetchall() == [("A",)]


def test_every_submitted_file_is_kept_byte_for_byte(h):
    text = extract_xml(authority="S12000049")  # rejected: not a member
    result = h.ingest(text, name="odd.xml")
    stored, sha = h.con.execute(
        "select stored_path, sha256 from submissions where id = ?", [result.submission_id]
    ).fetchone()
    kept = (h.folder / stored).read_bytes()
    assert kept == text.encode() and hashlib.sha256(kept).hexdigest() == sha


def test_unknown_kind_is_rejected_and_kept(h):
    result = h.ingest("hello", name="notes.txt")
    assert result.outcome == "rejected" and "unknown kind" in result.reason
    assert h.count("submissions") == 1


# -- manual returns -----------------------------------------------------------------------------------


def test_manual_return_rows_are_checked_one_by_one(h):
    result = h.ingest(
        manual_csv(
            [
                (DUNDEE, "2026-10", "calls_offered", 100),
                (DUNDEE, "2026-10", "calls_answered", 120),  # exceeds offered
                ("S12000049", "2026-10", "staff_fte", 3),  # not a member
                (DUNDEE, "2026-13", "staff_fte", 3),  # not a month
                (DUNDEE, "2027-01", "staff_fte", 3),  # future
                (DUNDEE, "2026-10", "biscuits", 3),  # unknown measure
                (DUNDEE, "2026-10", "staff_fte", -1),  # negative
                (DUNDEE, "2026-10", "admin_cost_gbp", "lots"),  # not a number
                (DUNDEE, "2026-10", "staff_fte", 38.5),  # fine
            ]
        ),
        suffix=".csv",
    )
    assert result.outcome == "accepted"
    assert (result.records_loaded, result.records_rejected) == (2, 7)
    lines = sorted(r["line"] for r in h.rejections())
    assert lines == [3, 4, 5, 6, 7, 8, 9]


def test_manual_part_checked_against_earlier_whole(h):
    h.ingest(manual_csv([(DUNDEE, "2026-10", "accuracy_cases_checked", 100)]), suffix=".csv")
    result = h.ingest(manual_csv([(DUNDEE, "2026-10", "accuracy_cases_correct", 101)]), suffix=".csv")
    assert result.records_rejected == 1
    assert "exceeds accuracy_cases_checked" in h.rejections()[0]["reason"]


def test_later_manual_value_replaces_earlier_and_both_are_kept(h):
    h.ingest(extract_xml(caseload="1000"))
    h.ingest(manual_csv([(DUNDEE, "2026-10", "admin_cost_gbp", 10000)]), suffix=".csv")
    h.ingest(manual_csv([(DUNDEE, "2026-10", "admin_cost_gbp", 12000)]), suffix=".csv")
    assert h.values(DUNDEE, "2026-10")["cost_per_case"] == pytest.approx(12.0)
    assert h.count("manual_values") == 2


def test_manual_return_with_wrong_header_is_rejected_whole(h):
    result = h.ingest("council,month,what,value\nS12000042,2026-10,staff_fte,3\n", suffix=".csv")
    assert result.outcome == "rejected" and "header" in result.reason
    assert h.count("manual_values") == 0


def test_manual_return_not_utf8_is_rejected(h):
    path = h.folder / "latin1.csv"
    path.write_bytes("authority,period,measure,value\nS12000042,2026-10,staff_fte,3\n\xe9\n".encode("latin-1"))
    from perfcore.intake.ingest import ingest_file

    result = ingest_file(path, h.con, h.consortium, today=h.today)
    assert result.outcome == "rejected" and "UTF-8" in result.reason


def test_adding_a_council_is_one_entry(tmp_path):
    import shutil

    import yaml

    from perfcore import warehouse
    from perfcore.config.parameters import load_consortium
    from perfcore.intake.ingest import ingest_file

    root = Harness(tmp_path / "h").root
    params = tmp_path / "parameters"
    shutil.copytree(root / "parameters", params)
    raw = yaml.safe_load((params / "consortium.yaml").read_text())
    raw["members"].append({"code": "E06000001", "name": "Hartlepool", "supplier": "Northgate", "system": "iWorld"})
    (params / "consortium.yaml").write_text(yaml.safe_dump(raw))
    consortium = load_consortium(params)
    path = tmp_path / "hartlepool.xml"
    path.write_text(extract_xml("E06000001", "2026-10", [claim("A", "2026-10-01", "2026-10-03")]))
    result = ingest_file(
        path, warehouse.connect(tmp_path / "w.duckdb"), consortium, today=Harness(tmp_path / "g").today
    )
    assert result.outcome == "accepted"
    assert consortium.council("E06000001").country == "England"


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.999])
def test_a_truncated_file_is_rejected_whole(h, keep):
    records = [claim(f"T{i:05d}", "2026-10-01", "2026-10-09") for i in range(3000)]
    text = extract_xml(records=records)
    result = h.ingest(text[: int(len(text) * keep)], name="cut.xml")
    assert result.outcome == "rejected" and "ends before </Extract>" in result.reason
    assert h.count("claims") == 0 and h.count("current_extracts") == 0
    [rejection] = h.rejections()
    assert rejection["line"] is not None


def test_a_whole_cannot_drop_below_the_part_already_held(h):
    h.ingest(
        manual_csv([(DUNDEE, "2026-10", "calls_offered", 100), (DUNDEE, "2026-10", "calls_answered", 90)]),
        suffix=".csv",
    )
    result = h.ingest(manual_csv([(DUNDEE, "2026-10", "calls_offered", 50)]), suffix=".csv")
    assert result.records_rejected == 1
    assert h.values(DUNDEE, "2026-10")["calls_answered_pct"] == pytest.approx(90.0)


def test_rejecting_a_whole_rechecks_its_part_against_the_held_whole(h):
    h.ingest(manual_csv([(DUNDEE, "2026-10", "calls_offered", 100)]), suffix=".csv")
    result = h.ingest(
        manual_csv([(DUNDEE, "2026-10", "calls_answered", 150), (DUNDEE, "2026-10", "calls_offered", 120)]),
        suffix=".csv",
    )
    assert result.records_rejected == 2  # offered 120 < answered 150, then answered 150 > held 100
    assert h.values(DUNDEE, "2026-10")["calls_answered_pct"] is None  # nothing answered is held
