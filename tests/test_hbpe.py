"""The HBPE description (``intake.hbpe``) agrees with the XSD, the warehouse and the reader.

The XSD validates files; the description drives the warehouse tables, the
ingest mapping and the writer. These tests keep the two from drifting: every
attribute the XSD declares, with its type, whether it is required and its
allowed values, is described, and nothing else is.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from perfcore import warehouse
from perfcore.intake import extract, hbpe

XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.fixture(scope="module")
def xsd() -> etree._Element:
    with resources.files("perfcore.intake").joinpath("schema/hbpe-1.0.xsd").open("rb") as handle:
        return etree.parse(handle).getroot()


def _record_type(xsd: etree._Element, section: hbpe.Section) -> etree._Element:
    """The complex type of a section's record element: inline, or named by its type attribute."""
    parent = xsd.find(f"{XS}complexType[@name='{section.parent}']")
    element = parent.find(f".//{XS}element[@name='{section.element}']")
    if element.get("type"):
        return xsd.find(f"{XS}complexType[@name='{element.get('type')}']")
    return element.find(f"{XS}complexType")


def _declared(attribute: etree._Element) -> tuple[str, str | None, bool, tuple[str, ...]]:
    choices = tuple(e.get("value") for e in attribute.iter(f"{XS}enumeration"))
    return attribute.get("name"), attribute.get("type"), attribute.get("use") == "required", choices


@pytest.mark.parametrize("section", hbpe.SECTIONS, ids=lambda s: s.element)
def test_every_attribute_agrees_with_the_xsd(xsd, section):
    declared = [_declared(a) for a in _record_type(xsd, section).iter(f"{XS}attribute")]
    described = [(a.name, a.xsd_type, a.required, a.choices) for a in section.attributes]
    assert described == declared


def test_sections_come_in_the_order_the_xsd_requires(xsd):
    extract_element = xsd.find(f"{XS}element[@name='Extract']")
    parts = [e.get("name") for e in extract_element.iter(f"{XS}element")]
    parents = [s.parent for s in hbpe.SECTIONS]
    assert [p for p in parts if p in parents] == parents
    assert parts.index("Caseload") == parts.index(hbpe.TOTALS_AFTER) + 1


def test_the_gss_pattern_is_the_xsds(xsd):
    pattern = xsd.find(f"{XS}simpleType[@name='Gss']//{XS}pattern").get("value")
    assert hbpe.GSS.pattern == pattern + r"\Z"


def test_warehouse_tables_have_a_column_per_attribute(tmp_path):
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    for section in hbpe.SECTIONS:
        columns = con.execute(
            "select column_name, data_type, is_nullable from information_schema.columns "
            "where table_name = ? order by ordinal_position",
            [section.table],
        ).fetchall()
        expected = [
            (a.column, a.sql_type.upper().replace(" ", ""), "NO" if a.required else "YES") for a in section.attributes
        ]
        assert [(c, t.replace(" ", ""), n) for c, t, n in columns[2:]] == expected
        assert [c for c, *_ in columns[:2]] == ["submission_id", "line"]


def test_every_record_rule_names_a_described_attribute():
    for section in hbpe.SECTIONS:
        for rule in section.rules:
            assert rule.field in section.names, (section.element, rule.field)


# -- the writer -------------------------------------------------------------------------------

HEADER = hbpe.Header(
    "S12000042",
    "Dundee City Council",
    "2026-10",
    "Northgate",
    "iWorld",
    "6.2",
    "2026-11-01T02:00:00Z",
    3,
    caseload=12345,
    expenditure="4567890.12",
)
RECORDS = {
    "Claim": [
        ("NC1", "2026-09-20", None, "2026-10-02", "awarded", "social"),
        ("NC2", "2026-09-21", "2026-09-25", "2026-10-03", "refused", None),
    ],
    "Change": [("CE1", "HB1", "income", "2026-10-01", None, "2026-10-04")],
    "Item": [],
    "Overpayment": [("OP1", "HB1", "2026-10-05", "250.00", "la-error")],
    "Recovery": [("OP1", "2026-10-20", "10.00")],
}


def _read(path: Path) -> tuple[hbpe.Header, dict[str, list[tuple]]]:
    seen: dict[str, list[tuple]] = {}

    def sink(batch: extract.Batch) -> None:
        width = len(batch.section.names)
        rows = [tuple(batch.values[i : i + width]) for i in range(0, len(batch.values), width)]
        seen.setdefault(batch.section.element, []).extend(rows)

    return extract.read_extract(path, sink, lambda header: None), seen


def test_what_the_writer_writes_reads_back_valid_and_the_same(tmp_path):
    path = tmp_path / "extract.xml"
    with path.open("w", encoding="utf-8") as out:
        hbpe.write_extract(out, HEADER, RECORDS)
    header, seen = _read(path)
    assert header == hbpe.Header(**{**HEADER.__dict__, "expenditure": "4567890.12"})
    assert seen == {element: records for element, records in RECORDS.items() if records}
    text = path.read_text(encoding="utf-8")
    assert "  <WorkOnHand/>\n" in text and "WriteOffs" not in text  # given empty: written empty; not given: left out


def test_values_that_need_escaping_are_escaped(tmp_path):
    path = tmp_path / "extract.xml"
    header = hbpe.Header(**{**HEADER.__dict__, "authority_name": 'Argyll & Bute <"Council">', "supplier": "A'B\"C"})
    claims = [(f"NC{i}", "2026-09-20", None, "2026-10-02", "awarded", None) for i in range(3)]
    claims[1] = ('N&"<C>', "2026-09-20", None, "2026-10-02", "awarded", None)
    with path.open("w", encoding="utf-8") as out:
        hbpe.write_extract(out, header, {"Claim": claims})
    header_read, seen = _read(path)
    assert header_read.authority_name == 'Argyll & Bute <"Council">' and header_read.supplier == "A'B\"C"
    assert seen["Claim"] == claims


def test_records_as_mappings_keep_unknown_attributes_last():
    out = io.StringIO()
    hbpe.write_extract(
        out, HEADER, {"Item": [{"received": "2026-10-01", "colour": "red", "ref": "W1", "kind": "change"}]}
    )
    assert '    <Item ref="W1" kind="change" received="2026-10-01" colour="red"/>\n' in out.getvalue()


def test_an_unknown_section_is_refused():
    with pytest.raises(ValueError, match="Claims"):
        hbpe.write_extract(io.StringIO(), HEADER, {"Claims": []})
