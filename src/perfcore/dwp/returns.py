"""DWP's monthly electronic return for one council: XML (valid against our XSD), the council's PDF, a manifest.

``build_return`` reads the warehouse and makes the return in memory:

- every figure is an indicator of the framework for that council and month,
  taken from ``warehouse.indicators.compute``, the table ``perfcore
  indicators`` prints from, written unrounded (``repr`` of the float, which
  reads back as the same number) with its numerator and denominator;
- overpayments by cause, recoveries and write-offs are sums over the month's
  current extract;
- ``Sources`` names the files the figures came from: the current extract of
  each month of the financial year to date (the FYTD indicators add them up)
  and the manual returns holding the month's measures, each with its SHA-256.

A month with data missing (no current extract, a manual measure not held, or
a file rejected or in conflict for that council and month with no later
accepted file of its kind) is refused with the list (``ReturnRefused``) unless
``allow_incomplete``, which writes it with ``complete="false"`` and the list in
the XML and the manifest. The XML is validated against
``schema/dwp-return-1.0.xsd`` before anything is written; ``write_return`` then
writes the PDF copy, the XML and last the manifest, each atomically.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import files, periods
from perfcore.config.parameters import Consortium, Council, Framework
from perfcore.exceptions import IndicatorError, PerfcoreError
from perfcore.intake.hbpe import CAUSES

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    from lxml import etree

NS = "urn:perfcore:dwp-return:1"
VERSION = "1.0"
SCHEMA = "schema/dwp-return-1.0.xsd"
GENERATOR = "perfcore"
MANIFEST_FORMAT = "perfcore DWP return manifest 1.0"

# The figures the return carries, by the XSD's groups (the XSD enumerates the same ids).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "SpeedOfProcessing",
        (
            "new_claims_decided",
            "new_claims_days",
            "new_claims_within_14_days_pct",
            "changes_actioned",
            "changes_days",
            "rti_days",
        ),
    ),
    ("WorkOnHand", ("work_on_hand", "work_on_hand_over_30_days")),
    ("Overpayments", ("la_error_overpayment_pct", "overpayment_recovery_pct")),
    ("Accuracy", ("accuracy_pct",)),
)
CARRIED = tuple(i for _, ids in GROUPS for i in ids)


class ReturnRefused(PerfcoreError):
    """The month's data is not all in (or the council's PDF is not built): ``missing`` says what."""

    def __init__(self, council: Council, period: str, missing: list[str], *, overridable: bool = True) -> None:
        self.council, self.period, self.missing, self.overridable = council, period, list(missing), overridable
        advice = "; --allow-incomplete writes it anyway, marked incomplete" if overridable else ""
        super().__init__(f"{council.name} ({council.code}) {period}: no DWP return: " + "; ".join(missing) + advice)


@dataclass(frozen=True)
class Source:
    kind: str  # extract | manual
    period: str
    name: str
    sha256: str
    submission: int
    sequence: int | None
    received: datetime


@dataclass(frozen=True)
class DwpReturn:
    council: Council
    period: str
    complete: bool
    missing: tuple[str, ...]
    framework_version: str
    created: datetime
    xml: bytes  # valid against the XSD
    pdf: Path  # the council's report PDF for the month, from the built site
    sources: tuple[Source, ...]

    @property
    def stem(self) -> str:
        return f"dwp-return-{self.council.slug}-{self.period}"

    @property
    def xml_name(self) -> str:
        return f"{self.stem}.xml"

    @property
    def manifest_name(self) -> str:
        return f"{self.stem}.manifest.json"


# -- what is missing ---------------------------------------------------------------------------------------


def missing(con: duckdb.DuckDBPyConnection, council: Council, period: str) -> list[str]:
    """What keeps the month from being complete for the council, in words (empty: complete)."""
    from perfcore.mail import status

    owed = status.missing(con, council.code, period)  # what the reminders say a council still owes
    out = []
    if owed.extract:
        out.append(f"no accepted HBPE extract for {period}")
    if owed.measures:
        out.append("manual measures not held: " + ", ".join(owed.measures))
    for sid, name, kind, outcome in unresolved_rejections(con, council.code, period):
        out.append(f"{kind} file {name!r} (submission {sid}) was {outcome} and no later {kind} was accepted")
    return out


def unresolved_rejections(con, authority: str, period: str) -> list[tuple[int, str, str, str]]:
    """Files for the council and month rejected as a whole or in conflict, with no later accepted file of
    their kind: (submission id, file name, kind, outcome)."""
    return con.execute(
        """
        select s.id, s.file_name, s.kind, s.outcome from submissions s
        where s.authority = ? and s.period = ? and s.outcome in ('rejected', 'conflict')
          and not exists (select 1 from submissions t where t.authority = s.authority and t.period = s.period
                          and t.kind = s.kind and t.outcome = 'accepted' and t.id > s.id)
        order by s.id
        """,
        [authority, period],
    ).fetchall()


# -- the site's PDF ------------------------------------------------------------------------------------------


def site_pdf(site: Path, council: Council, period: str) -> Path:
    """Where ``perfcore build`` publishes the council's report PDF for the month."""
    return site / "councils" / council.slug / period / f"{council.slug}-{period}-report.pdf"


# -- building --------------------------------------------------------------------------------------------------


def build_return(
    con: duckdb.DuckDBPyConnection,
    consortium: Consortium,
    framework: Framework,
    council: Council,
    period: str,
    *,
    site: Path,
    table: pd.DataFrame | None = None,
    allow_incomplete: bool = False,
    created: datetime | None = None,
) -> DwpReturn:
    """The council's return for the month, validated; nothing written. ``table``: the indicator table
    (``indicators.compute``), when the caller has it already."""
    from perfcore.warehouse import indicators

    periods.parse(indicators.check_period(period))
    pdf = site_pdf(site, council, period)
    if not pdf.is_file():
        raise ReturnRefused(
            council,
            period,
            [f"the site holds no report PDF for the month ({pdf}); run `perfcore build --period {period}` first"],
            overridable=False,
        )
    gaps = missing(con, council, period)
    if gaps and not allow_incomplete:
        raise ReturnRefused(council, period, gaps)
    absent = [i for i in CARRIED if i not in framework.ids]
    if absent:
        raise IndicatorError(
            f"the framework (version {framework.version}) has no indicator {', '.join(absent)}, "
            "which the DWP return carries"
        )
    if table is None:
        table = indicators.compute(con, framework, consortium.codes)
    created = (created or datetime.now(UTC)).replace(microsecond=0)
    sources = _sources(con, council.code, period)
    root = _document(council, period, framework, table, con, sources, gaps, created)
    from lxml import etree

    schema().assertValid(root)  # a bug if not: nothing is written
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return DwpReturn(council, period, not gaps, tuple(gaps), framework.version, created, xml, pdf, sources)


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    from lxml import etree

    with resources.files("perfcore.dwp").joinpath(SCHEMA).open("rb") as handle:
        return etree.XMLSchema(etree.parse(handle))


def _sources(con, authority: str, period: str) -> tuple[Source, ...]:
    extracts = con.execute(
        """
        select 'extract', ce.period, s.file_name, s.sha256, s.id, s.sequence, s.received_at
        from current_extracts ce join submissions s on s.id = ce.submission_id
        where ce.authority = ? and ce.period between ? and ? order by ce.period
        """,
        [authority, periods.financial_year_start(period), period],
    ).fetchall()
    manual = con.execute(
        """
        select 'manual', ?, s.file_name, s.sha256, s.id, null, s.received_at
        from submissions s where s.id in (select submission_id from current_manual where authority = ? and period = ?)
        order by s.id
        """,
        [period, authority, period],
    ).fetchall()
    return tuple(Source(*row) for row in [*extracts, *manual])


def _overpayments(con, authority: str, period: str) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """({cause: (count, amount)}, {"Recovered"/"WrittenOff": (count, amount)}) over the month's current extract."""
    by_cause = dict.fromkeys(CAUSES, (0, "0.00"))
    current = "(select submission_id from current_extracts where authority = ? and period = ?)"
    for cause, count, amount in con.execute(
        f"select cause, count(*), sum(amount) from overpayments where submission_id = {current} group by cause",
        [authority, period],
    ).fetchall():
        by_cause[cause] = (int(count), f"{amount:.2f}")
    payments = {}
    for element, table in (("Recovered", "recoveries"), ("WrittenOff", "write_offs")):
        count, amount = con.execute(
            f"select count(*), coalesce(sum(amount), 0) from {table} where submission_id = {current}",
            [authority, period],
        ).fetchone()
        payments[element] = (int(count), f"{amount:.2f}")
    return by_cause, payments


def _figure(value) -> str | None:
    """A number as the shortest text that reads back as the same float; None for a null."""
    from perfcore.warehouse.indicators import none_if_nan

    number = none_if_nan(None if value is None else float(value))
    if number is None:
        return None
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def _document(
    council: Council,
    period: str,
    framework: Framework,
    table: pd.DataFrame,
    con,
    sources: tuple[Source, ...],
    gaps: list[str],
    created: datetime,
) -> etree._Element:
    from lxml import etree

    q = "{" + NS + "}"
    root = etree.Element(q + "Return", nsmap={None: NS}, version=VERSION, complete="false" if gaps else "true")
    etree.SubElement(root, q + "Council", code=council.code, name=council.name)
    etree.SubElement(root, q + "Period").text = period
    etree.SubElement(root, q + "Framework", version=str(framework.version))
    etree.SubElement(root, q + "Generator", name=GENERATOR, version=_version(), created=_instant(created))
    listed = etree.SubElement(root, q + "Sources")
    for source in sources:
        attributes = {
            "kind": source.kind,
            "period": source.period,
            "name": _xml_text(source.name),
            "sha256": source.sha256,
            "submission": str(source.submission),
        }
        if source.sequence is not None:
            attributes["sequence"] = str(source.sequence)
        attributes["received"] = _instant(source.received)
        etree.SubElement(listed, q + "File", attributes)
    if gaps:
        incomplete = etree.SubElement(root, q + "Incomplete")
        for gap in gaps:
            etree.SubElement(incomplete, q + "Missing").text = _xml_text(gap)
    rows = table[(table["area"] == council.code) & (table["period"] == period)].set_index("indicator")
    for group, ids in GROUPS:
        element = etree.SubElement(root, q + group)
        for indicator_id in ids:
            indicator = framework.indicator(indicator_id)
            attributes = {"id": indicator_id, "unit": indicator.unit, "window": indicator.window}
            if indicator_id in rows.index:
                row = rows.loc[indicator_id]
                for name in ("value", "numerator", "denominator"):
                    text = _figure(row[name])
                    if text is not None:
                        attributes[name] = text
            etree.SubElement(element, q + "Indicator", attributes)
        if group == "Overpayments" and any(s.kind == "extract" and s.period == period for s in sources):
            by_cause, payments = _overpayments(con, council.code, period)
            for cause, (count, amount) in by_cause.items():
                etree.SubElement(element, q + "Identified", cause=cause, count=str(count), amount=amount)
            for name, (count, amount) in payments.items():
                etree.SubElement(element, q + name, count=str(count), amount=amount)
    return root


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text from outside (a submitted file's name) as XML can hold it: characters XML 1.0 forbids shown as '?',
    1 to 500 characters (the XSD's Text)."""
    return (_NOT_XML.sub("?", text) or "(no name)")[:500]


def _instant(moment: datetime) -> str:
    """xs:dateTime in UTC with a Z (the warehouse keeps naive UTC timestamps)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


def _version() -> str:
    import perfcore

    return perfcore.__version__


# -- writing ----------------------------------------------------------------------------------------------------


def manifest(ret: DwpReturn, written: dict[str, bytes | Path]) -> dict:
    """What DWP checks the delivery against: each file's name, size and SHA-256, who made it and when."""
    entries = []
    for name, content in written.items():
        data = content if isinstance(content, bytes) else content.read_bytes()
        entries.append(
            {
                "name": name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "media_type": "application/xml" if name.endswith(".xml") else "application/pdf",
            }
        )
    return {
        "format": MANIFEST_FORMAT,
        "council": {"code": ret.council.code, "name": ret.council.name},
        "period": ret.period,
        "complete": ret.complete,
        "missing": list(ret.missing),
        "framework_version": ret.framework_version,
        "return_schema": {"namespace": NS, "version": VERSION},
        "generator": {"name": GENERATOR, "version": _version()},
        "created": _instant(ret.created),
        "files": entries,
    }


_CREATED = re.compile(rb' created="[^"]*"')


def write_return(ret: DwpReturn, out: Path, *, keep_unchanged: bool = False) -> list[Path]:
    """The PDF copy, the XML, then the manifest (its presence says the set is whole), each atomically.

    ``keep_unchanged``: when the folder already holds this return with the same figures, sources and PDF
    (only its time differs), leave it as it is (the site build, run again, changes nothing)."""
    xml_path, pdf_path, manifest_path = out / ret.xml_name, out / ret.pdf.name, out / ret.manifest_name
    paths = [xml_path, pdf_path, manifest_path]
    if keep_unchanged and _unchanged(ret, xml_path, pdf_path, manifest_path):
        return paths
    files.make_folder(out)
    files.copy_file(ret.pdf, pdf_path)
    files.write_bytes(xml_path, ret.xml)
    content = manifest(ret, {ret.xml_name: ret.xml, ret.pdf.name: pdf_path})
    files.write_text(manifest_path, json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    return paths


def _unchanged(ret: DwpReturn, xml_path: Path, pdf_path: Path, manifest_path: Path) -> bool:
    if not (xml_path.is_file() and pdf_path.is_file() and manifest_path.is_file()):
        return False
    if _CREATED.sub(b"", xml_path.read_bytes()) != _CREATED.sub(b"", ret.xml):
        return False
    return _sha256(pdf_path) == _sha256(ret.pdf)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- every member, for the command and the site ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    council: Council
    period: str
    paths: tuple[Path, ...] = ()
    complete: bool = False
    missing: tuple[str, ...] = ()
    refused: bool = False


def write_returns(
    con: duckdb.DuckDBPyConnection,
    consortium: Consortium,
    framework: Framework,
    councils: list[Council],
    period: str,
    *,
    site: Path,
    out: Path,
    allow_incomplete: bool = False,
    keep_unchanged: bool = False,
    table: pd.DataFrame | None = None,
) -> list[Outcome]:
    """Each council's return into ``out``; a refused council is an outcome with its list, never an exception."""
    from perfcore.warehouse import indicators

    if table is None:
        table = indicators.compute(con, framework, consortium.codes)
    outcomes = []
    for council in councils:
        try:
            ret = build_return(
                con, consortium, framework, council, period, site=site, table=table, allow_incomplete=allow_incomplete
            )
        except ReturnRefused as refusal:
            outcomes.append(Outcome(council, period, missing=tuple(refusal.missing), refused=True))
            continue
        paths = write_return(ret, out, keep_unchanged=keep_unchanged)
        outcomes.append(Outcome(council, period, tuple(paths), ret.complete, ret.missing))
    return outcomes


def write_site_returns(data, site: Path, councils: set[str] | None = None) -> list[Outcome]:
    """The build's step: every member's return for the month into ``dwp/<period>/returns/``.

    The site writes a month with data missing too, marked incomplete (``complete="false"`` and the
    list, in the XML and the manifest): DWP sees what is in and what is not. A council whose report PDF
    is not on the site (its page never built) gets no return there. ``councils``: only these members
    (a shard writes the returns of the councils whose report pages it built)."""
    from perfcore import warehouse
    from perfcore.render.site import RETURNS_DIR

    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        return write_returns(
            con,
            data.consortium,
            data.framework,
            [c for c in data.consortium.members if councils is None or c.code in councils],
            data.period,
            site=site,
            out=site / "dwp" / data.period / RETURNS_DIR,
            allow_incomplete=True,
            keep_unchanged=True,
            table=data.table,
        )
    finally:
        con.close()
