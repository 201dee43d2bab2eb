"""Hostile extracts (issue 7, items 2 and 11): every value the XSD lets through is stored
exactly or rejected with a reason, and no DTD or non-UTF-8 document gets past the parser."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from builders import Harness, change, claim, extract_xml, item, overpayment, recovery, write_off

PERIOD = "2026-10"
FLOOR = "2016-10-01"  # the first day of the Period, 10 years back
CEILING = "2036-10-31"  # the last day of the Period, 10 years on


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.discard()


def outcome(h: Harness, text: str) -> tuple[str, str | None]:
    """('stored', None), ('record', reason) or ('file', reason): never an exception."""
    result = h.ingest(text)
    if result.outcome != "accepted":
        return "file", result.reason
    if result.records_rejected:
        [rejection] = [r for r in h.rejections() if r["level"] == "record"]
        return "record", f"{rejection['field']}: {rejection['reason']}"
    return "stored", None


# -- item 2: the bounds of every numeric and date field ------------------------------------------

HEADER_BOUNDS = [
    # (field, keyword for extract_xml, value, expected, stored as)
    ("Sequence", "sequence", "2147483647", "stored", 2147483647),
    ("Sequence", "sequence", "2147483648", "file", None),
    ("Sequence", "sequence", "99999999999999999999", "file", None),
    ("Caseload", "caseload", "10000000", "stored", 10_000_000),
    ("Caseload", "caseload", "10000001", "file", None),
    ("Caseload", "caseload", "9200000000000000000", "file", None),
    ("Caseload", "caseload", "1" + "0" * 23, "file", None),
    ("Expenditure", "expenditure", "9999999999.99", "stored", Decimal("9999999999.99")),
    ("Expenditure", "expenditure", "10000000000.00", "file", None),
    ("Expenditure", "expenditure", "1" + "0" * 23, "file", None),
    ("Period", "period", "2000-01", "stored", "2000-01"),
    ("Period", "period", "1999-12", "file", None),
    ("Period", "period", "1900-01", "file", None),
    ("Period", "period", "0000-01", "file", None),
    ("Period", "period", "2026-12", "file", None),  # in the future: today is 2026-11-26
]
HEADER_COLUMN = {"Sequence": "sequence", "Caseload": "caseload", "Expenditure": "expenditure", "Period": "period"}


@pytest.mark.parametrize(
    "field, keyword, value, expected, stored", HEADER_BOUNDS, ids=[f"{f}={v[:24]}" for f, _, v, _, _ in HEADER_BOUNDS]
)
def test_header_values_at_and_past_their_bounds(h, field, keyword, value, expected, stored):
    text = extract_xml(**{keyword: value})
    kind, reason = outcome(h, text)
    assert kind == expected, reason
    if kind == "stored":
        assert h.con.execute(f"select {HEADER_COLUMN[field]} from extract_headers").fetchone()[0] == stored
    else:
        assert field in reason


def _money_record(section: str, amount: str):
    return {
        "Overpayment": overpayment("O1", "2026-10-05", amount),
        "Recovery": recovery("O1", "2026-10-20", amount),
        "WriteOff": write_off("O1", "2026-10-21", amount),
    }[section]


MONEY_TABLE = {"Overpayment": "overpayments", "Recovery": "recoveries", "WriteOff": "write_offs"}
MONEY_BOUNDS = [
    ("9999999999.99", "stored"),
    ("0.01", "stored"),
    ("10000000000.00", "file"),
    ("100000000000000", "file"),
    ("0", "file"),
    ("0.001", "file"),
]


@pytest.mark.parametrize("section", list(MONEY_TABLE))
@pytest.mark.parametrize("amount, expected", MONEY_BOUNDS)
def test_amounts_at_and_past_their_bounds(h, section, amount, expected):
    kind, reason = outcome(h, extract_xml(period=PERIOD, records=[_money_record(section, amount)]))
    assert kind == expected, reason
    if kind == "stored":
        assert h.con.execute(f"select amount from {MONEY_TABLE[section]}").fetchone()[0] == Decimal(amount)
    else:
        assert f"{section}@amount" in reason


# Each date attribute, in a record that is otherwise good for October 2026.
DATE_FIELDS = {
    ("Claim", "received"): lambda d: claim("C1", d, "2026-10-05"),
    ("Claim", "infoComplete"): lambda d: claim("C1", "2026-10-01", "2026-10-05", info=d),
    ("Claim", "decided"): lambda d: claim("C1", "2026-10-01", d),
    ("Change", "notified"): lambda d: change("E1", d, "2026-10-06"),
    ("Change", "effective"): lambda d: change("E1", "2026-10-02", "2026-10-06", effective=d),
    ("Change", "actioned"): lambda d: change("E1", "2026-10-02", d),
    ("Item", "received"): lambda d: item("W1", d),
    ("Overpayment", "identified"): lambda d: overpayment("O1", d, "10.00"),
    ("Recovery", "date"): lambda d: recovery("O1", d, "10.00"),
    ("WriteOff", "date"): lambda d: write_off("O1", d, "10.00"),
}
DATE_COLUMN = {
    ("Claim", "received"): ("claims", "received"),
    ("Claim", "infoComplete"): ("claims", "info_complete"),
    ("Claim", "decided"): ("claims", "decided"),
    ("Change", "notified"): ("changes", "notified"),
    ("Change", "effective"): ("changes", "effective"),
    ("Change", "actioned"): ("changes", "actioned"),
    ("Item", "received"): ("work_items", "received"),
    ("Overpayment", "identified"): ("overpayments", "identified"),
    ("Recovery", "date"): ("recoveries", "date"),
    ("WriteOff", "date"): ("write_offs", "date"),
}


@pytest.mark.parametrize(
    "value", ["0001-01-01", "1900-01-01", "9999-12-31", "0000-01-01", "10000-01-01", "2026-02-29", FLOOR, CEILING]
)
@pytest.mark.parametrize("field", list(DATE_FIELDS), ids=["@".join(f) for f in DATE_FIELDS])
def test_every_date_is_stored_exactly_or_rejected_with_a_reason(h, field, value):
    kind, reason = outcome(h, extract_xml(period=PERIOD, records=[DATE_FIELDS[field](value)]))
    if kind == "stored":
        table, column = DATE_COLUMN[field]
        assert h.con.execute(f"select {column} from {table}").fetchone()[0] == date.fromisoformat(value)
    else:
        assert field[1] in reason, reason


# The XSD admits years 0001-9999; a date far from its Period is absurd, and so is a
# claim that took 739,921 days to decide: that record is rejected with the reason.
ABSURD = [
    (("Claim", "received"), "0001-01-01"),
    (("Claim", "received"), "1900-01-01"),
    (("Claim", "received"), "2016-09-30"),
    (("Change", "notified"), "0001-01-01"),
    (("Change", "effective"), "0001-01-01"),
    (("Change", "effective"), "9999-12-31"),
    (("Change", "effective"), "2036-11-01"),
    (("Item", "received"), "0001-01-01"),
    (("Item", "received"), "2016-09-30"),
]


@pytest.mark.parametrize("field, value", ABSURD, ids=[f"{'@'.join(f)}={v}" for f, v in ABSURD])
def test_a_date_more_than_ten_years_from_its_period_rejects_that_record(h, field, value):
    good = claim("GOOD", "2026-10-01", "2026-10-02")
    result = h.ingest(extract_xml(period=PERIOD, records=[good, DATE_FIELDS[field](value)]))
    assert result.outcome == "accepted" and result.records_rejected == 1
    [rejection] = [r for r in h.rejections() if r["level"] == "record"]
    assert rejection["field"] == field[1] and "10 years" in rejection["reason"]


@pytest.mark.parametrize(
    "field",
    [("Claim", "received"), ("Change", "notified"), ("Change", "effective"), ("Item", "received")],
    ids=lambda f: "@".join(f),
)
def test_a_date_exactly_ten_years_from_its_period_is_stored(h, field):
    value = CEILING if field[1] == "effective" else FLOOR
    result = h.ingest(extract_xml(period=PERIOD, records=[DATE_FIELDS[field](value)]))
    assert result.outcome == "accepted" and result.records_rejected == 0


def test_an_absurd_record_does_not_reach_the_indicators(h, tmp_path):
    good = claim("C2", "2026-10-01", "2026-10-05")
    h.ingest(extract_xml(period=PERIOD, records=[claim("C1", "0001-01-01", "2026-10-05"), good]))
    clean = Harness(tmp_path / "clean")
    clean.ingest(extract_xml(period=PERIOD, records=[good]))
    assert h.values("S12000042", PERIOD)["new_claims_days"] == clean.values("S12000042", PERIOD)["new_claims_days"]


# -- siblings: long, padded or empty text ----------------------------------------------------------


@pytest.mark.parametrize("ref", [" " * 100_000 + "A", "A" * 65, " A", "A ", "A\u00a0" * 40])
def test_a_ref_is_at_most_64_characters_as_written(h, ref):
    result = h.ingest(extract_xml(period=PERIOD, records=[claim(ref, "2026-10-01", "2026-10-05")]))
    assert result.outcome == "rejected" and "Claim@ref" in result.reason
    assert h.count("claims") == 0


def test_refs_differing_only_in_padding_cannot_dodge_the_duplicate_rule(h):
    records = [claim("A", "2026-10-01", "2026-10-05"), claim("  A  ", "2026-10-01", "2026-10-05")]
    result = h.ingest(extract_xml(period=PERIOD, records=records))
    assert result.outcome == "rejected" or result.records_rejected == 1
    assert h.con.execute("select count(distinct ref) from claims").fetchone()[0] <= 1


@pytest.mark.parametrize("where", ["name", "supplier", "system", "version"])
def test_header_text_is_bounded(h, where):
    long = "x" * 1_000_000
    text = extract_xml(period=PERIOD)
    text = {
        "name": lambda t: t.replace("Test Council", long),
        "supplier": lambda t: t.replace('supplier="Northgate"', f'supplier="{long}"'),
        "system": lambda t: t.replace('system="iWorld"', f'system="{long}"'),
        "version": lambda t: t.replace('version="6.2"', f'version="{long}"'),
    }[where](text)
    result = h.ingest(text)
    assert result.outcome == "rejected" and "not valid HBPE" in result.reason
    assert h.count("extract_headers") == 0


@pytest.mark.parametrize(
    "content", [b"", b"   \n\t ", b"\0" * 100, b"\xef\xbb\xbf"], ids=["empty", "blank", "nul", "bom-only"]
)
def test_an_empty_or_blank_file_is_rejected_with_a_reason(h, content):
    path = h.folder / "in" / "empty.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    from perfcore.intake.ingest import ingest_file

    result = ingest_file(path, h.con, h.consortium, today=h.today)
    assert result.outcome == "rejected" and result.reason


def test_nul_bytes_deep_in_the_file_reject_it(h):
    records = [claim(f"N{i:05d}", "2026-10-01", "2026-10-05") for i in range(3000)]
    data = extract_xml(period=PERIOD, records=records).encode()
    data = data[:150_000] + b"\0" + data[150_000:]
    path = h.folder / "in" / "nul.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    from perfcore.intake.ingest import ingest_file

    result = ingest_file(path, h.con, h.consortium, today=h.today)
    assert result.outcome == "rejected" and h.count("claims") == 0


# -- item 11: the DTD and encoding rules hold in the parser, not only in the prolog scan ------------

DOCTYPE = '<!DOCTYPE Extract [<!ENTITY council "Test Council">]>\n'
LAUGHS = (
    '<!DOCTYPE Extract [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10))
    + "]>\n"
)


def _ingest_bytes(h: Harness, data: bytes, name: str = "hostile.xml"):
    from perfcore.intake.ingest import ingest_file

    path = h.folder / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ingest_file(path, h.con, h.consortium, today=h.today)


@pytest.mark.parametrize(
    "padding",
    [" " * 70_000, "\n" * 70_000, "<!--" + "x" * 70_000 + "-->\n", "<?pi " + "y" * 70_000 + "?>\n"],
    ids=["spaces", "newlines", "comment", "pi"],
)
def test_a_doctype_after_a_long_prolog_is_refused(h, padding):
    text = extract_xml(period=PERIOD, prolog='<?xml version="1.0" encoding="UTF-8"?>\n' + padding + DOCTYPE)
    result = _ingest_bytes(h, text.replace("Test Council", "&council;").encode())
    assert result.outcome == "rejected" and "DTD" in result.reason
    assert h.count("extract_headers") == 0


ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_utf16_and_utf32_documents_are_refused(h, encoding, declared):
    name = encoding.split("-")[0].upper() + "-" + encoding.split("-")[1]
    prolog = f'<?xml version="1.0" encoding="{name}"?>\n' if declared else ""
    text = extract_xml(period=PERIOD, prolog=prolog)
    result = _ingest_bytes(h, text.encode(encoding))
    assert result.outcome == "rejected" and "UTF-8" in result.reason
    assert h.count("extract_headers") == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_doctype_or_billion_laughs_in_utf16_or_utf32_is_refused(h, encoding):
    for number, dtd in enumerate((DOCTYPE, LAUGHS)):
        entity = "&council;" if dtd is DOCTYPE else "&lol9;"
        text = extract_xml(period=PERIOD, prolog='<?xml version="1.0"?>\n' + dtd).replace("Test Council", entity)
        result = _ingest_bytes(h, text.encode(encoding), name=f"dtd{number}.xml")
        assert result.outcome == "rejected" and "UTF-8" in result.reason, result
        assert "lollol" not in str(h.rejections())
    assert h.count("extract_headers") == 0


def test_a_utf8_byte_order_mark_is_fine(h):
    result = _ingest_bytes(h, b"\xef\xbb\xbf" + extract_xml(period=PERIOD).encode())
    assert result.outcome == "accepted", result.reason


def test_a_doctype_behind_a_utf8_byte_order_mark_and_padding_is_refused(h):
    text = extract_xml(period=PERIOD, prolog='<?xml version="1.0"?>' + " " * 70_000 + DOCTYPE)
    result = _ingest_bytes(h, b"\xef\xbb\xbf" + text.encode())
    assert result.outcome == "rejected" and "DTD" in result.reason
