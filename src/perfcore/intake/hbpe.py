"""HBPE 1.0 described once: the sections, their attributes, the record rules, and the writer.

Everything else that knows the shape of an extract derives it from here:
``extract`` reads the attributes named in ``SECTIONS``, the warehouse creates
one table per section from the columns and SQL types below
(``warehouse.schema``), ``ingest`` casts the strings it reads with those
types and applies ``Section.rules`` in SQL, and ``write_extract`` is the one
XML writer (the demo, the tests and the benchmarks all use it). The XSD
(``schema/hbpe-1.0.xsd``) stays the validating contract; ``tests/test_hbpe.py``
checks that it and this description agree attribute by attribute.

A record rule rejects one record, not the file (hbpe-1.0.md, "Record-level
rules"). Its condition is SQL over the section's warehouse columns; ``$first``
and ``$last`` are the Period's first and last days, ``$floor`` and ``$ceiling``
lie ``PLAUSIBLE_YEARS`` before and after them. The XSD admits any date of years
0001-9999, which the warehouse holds; a date further than that from its month
is absurd (a claim "received" in year 1 took 739,921 days to decide) and would
swamp every average, so that record is rejected.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from perfcore.config.parameters import GSS_CODE

NS = "urn:perfcore:hbpe:1"
VERSION = "1.0"
GSS = GSS_CODE  # the XSD's Gss type: a council's GSS code (one home in code: perfcore.config.parameters)
SEQUENCE_MAX = 2_147_483_647  # the XSD's bound, the warehouse's INTEGER
PLAUSIBLE_YEARS = 10

# What each kind of value is in the XSD and in the warehouse. Every value the
# XSD type admits fits the SQL type, so a valid file never meets a cast error.
_XSD_TYPE = {"ref": "Ref", "date": "Date", "money": "PositiveMoney", "choice": None}
_SQL_TYPE = {"ref": "varchar", "date": "date", "money": "decimal(12, 2)", "choice": "varchar"}


@dataclass(frozen=True)
class Attribute:
    """One attribute of a record element and the warehouse column holding it."""

    name: str  # as written in the file
    column: str  # the warehouse column
    kind: str  # ref | date | money | choice
    required: bool = True
    choices: tuple[str, ...] = ()  # a choice's allowed values, in the XSD's order

    @property
    def sql_type(self) -> str:
        return _SQL_TYPE[self.kind]

    @property
    def xsd_type(self) -> str | None:
        """The named XSD type; None for a choice (an inline enumeration)."""
        return _XSD_TYPE[self.kind]


@dataclass(frozen=True)
class RecordRule:
    """A record-level rule: the attribute named in the rejection, the SQL that breaks it, why."""

    field: str
    breaks: str
    reason: str


@dataclass(frozen=True)
class Section:
    """One kind of record: its element inside its parent, its table, its attributes in column order."""

    element: str
    parent: str
    table: str
    attributes: tuple[Attribute, ...]
    ref: str = "ref"  # the attribute a rejection names the record by
    unique_refs: bool = True  # a ref used twice in the section rejects the later record
    rules: tuple[RecordRule, ...] = ()
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)  # ' name="' for the writer

    def __post_init__(self) -> None:
        # Hot loops (extract's reading, the writer) use these once per record: ready tuples, not properties.
        object.__setattr__(self, "names", tuple(a.name for a in self.attributes))
        object.__setattr__(self, "prefixes", tuple(f' {a.name}="' for a in self.attributes))

    def column_of(self, name: str) -> str:
        return next(a.column for a in self.attributes if a.name == name)


def _ref(name: str = "ref", column: str | None = None) -> Attribute:
    return Attribute(name, column or name, "ref")


def _date(name: str, column: str | None = None, *, required: bool = True) -> Attribute:
    return Attribute(name, column or name, "date", required)


def _choice(name: str, choices: tuple[str, ...], *, required: bool = True) -> Attribute:
    return Attribute(name, name, "choice", required, choices)


_AMOUNT = Attribute("amount", "amount", "money")
OUTCOMES = ("awarded", "refused", "withdrawn")
TENURES = ("social", "private", "supported", "temporary")
CHANGE_TYPES = ("income", "household", "address", "rent", "capital", "other", "uprating", "revision")
WORK_KINDS = ("new-claim", "change")
CAUSES = ("la-error", "admin-delay", "claimant-error", "dwp-error", "technical", "other")


def _too_early(column: str) -> RecordRule:
    return RecordRule(column, f"{column} < $floor", f"{column} more than {PLAUSIBLE_YEARS} years before the Period")


def _in_period(name: str, column: str, reason: str) -> RecordRule:
    return RecordRule(name, f"not ({column} between $first and $last)", reason)


def _payments(element: str, parent: str, table: str) -> Section:
    return Section(
        element,
        parent,
        table,
        (_ref("overpayment"), _date("date"), _AMOUNT),
        ref="overpayment",
        unique_refs=False,
        rules=(_in_period("date", "date", "date outside the Period"),),
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "Claim",
        "NewClaims",
        "claims",
        (
            _ref(),
            _date("received"),
            _date("infoComplete", "info_complete", required=False),
            _date("decided"),
            _choice("outcome", OUTCOMES),
            _choice("tenure", TENURES, required=False),
        ),
        rules=(
            _too_early("received"),
            RecordRule("received", "received > decided", "received after decided"),
            RecordRule("infoComplete", "info_complete < received", "infoComplete before received"),
            RecordRule("infoComplete", "info_complete > decided", "infoComplete after decided"),
            _in_period("decided", "decided", "decided outside the Period"),
        ),
    ),
    Section(
        "Change",
        "ChangeEvents",
        "changes",
        (
            _ref(),
            _ref("claim"),
            _choice("type", CHANGE_TYPES),
            _date("notified"),
            _date("effective", required=False),
            _date("actioned"),
        ),
        rules=(
            _too_early("notified"),
            RecordRule("notified", "notified > actioned", "notified after actioned"),
            RecordRule(
                "effective",
                "not (effective between $floor and $ceiling)",
                f"effective more than {PLAUSIBLE_YEARS} years from the Period",
            ),
            _in_period("actioned", "actioned", "actioned outside the Period"),
        ),
    ),
    Section(
        "Item",
        "WorkOnHand",
        "work_items",
        (_ref(), _choice("kind", WORK_KINDS), _date("received")),
        rules=(
            _too_early("received"),
            RecordRule("received", "received > $last", "received after the last day of the Period"),
        ),
    ),
    Section(
        "Overpayment",
        "Overpayments",
        "overpayments",
        (_ref(), _ref("claim"), _date("identified"), _AMOUNT, _choice("cause", CAUSES)),
        rules=(_in_period("identified", "identified", "identified outside the Period"),),
    ),
    _payments("Recovery", "Recoveries", "recoveries"),
    _payments("WriteOff", "WriteOffs", "write_offs"),
)
SECTION_BY_ELEMENT = {s.element: s for s in SECTIONS}
DUPLICATE_REF_REASON = "ref already used by an earlier record in this section"

# The document's parts in the order the XSD requires; the two totals sit between the sections.
TOTALS_AFTER = "WorkOnHand"


@dataclass(frozen=True)
class Header:
    """An extract's header; ``caseload`` and ``expenditure`` are its two totals (read after the records)."""

    authority: str
    authority_name: str
    period: str
    supplier: str
    system: str
    system_version: str | None
    created: str
    sequence: int
    caseload: int | None = None
    expenditure: str | None = None
    # Where the reader found each header element (element name -> line), for errors that name a line;
    # empty for a header built to be written.
    lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def line_of(self, element: str) -> int | None:
        return dict(self.lines).get(element)


# -- writing ----------------------------------------------------------------------------------

Record = Sequence[str | None] | Mapping[str, str | None]
_NEEDS_ESCAPE = re.compile(r'[&<>"\n\r\t]')
# Formatted lines hold one <, one > and one newline each, two quotes a value: a value's own show in the counts.
_MARKUP = re.compile(r"[&\r\t]")


def write_extract(
    out: IO[str], header: Header, sections: Mapping[str, Iterable[Record]], *, prolog: bool = True
) -> None:
    """Write one extract to the text stream ``out``, streaming: records are consumed as written.

    ``sections`` maps a record element ("Claim", ...) to its records; a
    section given is written (an empty one as ``<NewClaims/>``), a section
    not given is left out. A record is a sequence of values in the section's
    attribute order, or a mapping by attribute name (names the standard does
    not know are written after the others: tests build invalid files this
    way); None leaves an attribute out. ``header.caseload`` or
    ``expenditure`` None leaves that element out. Layout: one element per
    line, two spaces per level, as the standard's example shows.
    """
    unknown = set(sections) - SECTION_BY_ELEMENT.keys()
    if unknown:
        raise ValueError(f"not HBPE 1.0 record elements: {sorted(unknown)}")
    write = out.write
    if prolog:
        write('<?xml version="1.0" encoding="UTF-8"?>\n')
    write(f'<Extract xmlns="{NS}" version="{VERSION}">\n')
    write(_header_text(header))
    for section in SECTIONS:
        if section.element in sections:
            _write_section(write, section, sections[section.element])
        if section.parent == TOTALS_AFTER:
            if header.caseload is not None:
                write(f'  <Caseload claims="{header.caseload}"/>\n')
            if header.expenditure is not None:
                write(f'  <Expenditure amount="{header.expenditure}"/>\n')
    write("</Extract>\n")


def _header_text(header: Header) -> str:
    version = "" if header.system_version is None else f" version={_quoted(header.system_version)}"
    return (
        "  <Header>\n"
        f"    <Authority code={_quoted(header.authority)}>{_escaped(header.authority_name)}</Authority>\n"
        f"    <Period>{_escaped(header.period)}</Period>\n"
        f"    <Source supplier={_quoted(header.supplier)} system={_quoted(header.system)}{version}/>\n"
        f"    <Created>{_escaped(header.created)}</Created>\n"
        f"    <Sequence>{header.sequence}</Sequence>\n"
        "  </Header>\n"
    )


_CHUNK = 2_000  # records formatted, checked and written together


def _write_section(write, section: Section, records: Iterable[Record]) -> None:
    iterator = iter(records)
    chunk = list(itertools.islice(iterator, _CHUNK))
    if not chunk:
        write(f"  <{section.parent}/>\n")
        return
    write(f"  <{section.parent}>\n")
    while chunk:
        write(_records_text(section, chunk))
        chunk = list(itertools.islice(iterator, _CHUNK))
    write(f"  </{section.parent}>\n")


def _records_text(section: Section, records: list[Record]) -> str:
    """Records as lines. The usual value needs no escaping, so the lines are built plainly
    and checked once; only a chunk holding a character to escape is built again, escaped."""
    opening, prefixes = f"    <{section.element}", section.prefixes
    if set(map(type, records)) != {tuple}:
        return _escaped_records_text(section, records)
    lines, written = [], 0
    try:
        for record in records:
            values = [p + v + '"' for p, v in zip(prefixes, record) if v is not None]
            written += len(values)
            lines.append(opening + "".join(values) + "/>\n")
    except TypeError:  # a value that is not a string
        return _escaped_records_text(section, records)
    text = "".join(lines)
    count, n = text.count, len(records)
    if _MARKUP.search(text) is None and count('"') == 2 * written and count("<") == count(">") == count("\n") == n:
        return text
    return _escaped_records_text(section, records)


def _escaped_records_text(section: Section, records: list[Record]) -> str:
    """The careful way: any value escaped, records given as mappings (unknown names after the known)."""
    names, lines = section.names, []
    for record in records:
        if isinstance(record, Mapping):
            pairs = [*((n, record.get(n)) for n in names), *((n, v) for n, v in record.items() if n not in names)]
        else:
            pairs = list(zip(names, record))
        lines.append(
            f"    <{section.element}" + "".join(f" {n}={_quoted(v)}" for n, v in pairs if v is not None) + "/>\n"
        )
    return "".join(lines)


def _quoted(value: object) -> str:
    """An attribute value in double quotes, escaped only when it needs it (the usual value does not)."""
    text = str(value)
    if _NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    from xml.sax.saxutils import quoteattr

    return quoteattr(text)


def _escaped(value: object) -> str:
    from xml.sax.saxutils import escape

    return escape(str(value))
