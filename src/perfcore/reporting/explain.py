"""Where a figure comes from: one indicator for one council and month, explained down to the files.

``explain`` answers "where does 24.1 days come from?" in one step: the
indicator's definition and framework version; its value exactly as
``warehouse.indicators`` computes it (the figure ``perfcore indicators``
prints and every page shows); the numerator and denominator (7,115 days over
295 claims) with the components they are sums of, month by month over the
indicator's window (the month, or the financial year to date); the submitted
files those components came from (name, received, Sequence, SHA-256, counted
or replaced); the month before; and the consortium's pooled figure. A null
figure says why (no extract, a manual measure not sent, nothing to divide by).

``explain_pooled`` is the consortium's version: aggregates only (each member's
numerator and denominator and the pooled figure), never a file name or a ref.

Everything is read once into ``Evidence`` (the indicator table, the components
and the listing ``perfcore submissions`` prints, three small queries more), so
a build explains every council and month without a query per page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from perfcore import periods
from perfcore.config.parameters import CONSORTIUM, Consortium, Framework, Indicator
from perfcore.exceptions import IndicatorError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

COUNTED, REPLACED = "counted", "replaced"
SOURCE_WORDS = {"extract": "HBPE extract", "manual": "manual return"}

Figure = tuple["float | None", "float | None", "float | None"]  # value, numerator, denominator


@dataclass(frozen=True)
class Submitted:
    """An accepted file, as ``perfcore submissions`` lists it, for one council and month it holds data for."""

    submission: int
    name: str
    kind: str  # extract | manual
    authority: str
    period: str
    received: datetime
    sequence: int | None
    sha256: str
    replaced_by: int | None  # an extract replaced by a later Sequence; None while it is the current one
    measures: frozenset[str] = frozenset()  # a manual return: the measures it holds for this council and month
    counted: frozenset[str] = frozenset()  # ... and those whose value is still the current one


@dataclass(frozen=True, eq=False)
class Evidence:
    """What explanations are made from, read once for a build or a command."""

    consortium: Consortium
    framework: Framework
    table: pd.DataFrame  # warehouse.indicators.indicator_table: what ``perfcore indicators`` prints
    figures: dict[tuple[str, str, str], Figure]  # (area, period, indicator) -> value, numerator, denominator
    components: dict[tuple[str, str], dict[str, float | None]]  # (council, period) -> {component: value}
    files: dict[tuple[str, str], tuple[Submitted, ...]]  # (council, period) -> accepted files
    names: dict[int, str]  # submission id -> file name (what replaced what)
    held: dict[str, tuple[str, ...]]  # area -> the months with figures, oldest first

    def months(self, area: str) -> tuple[str, ...]:
        return self.held.get(area, ())


def read_evidence(
    con: duckdb.DuckDBPyConnection,
    consortium: Consortium,
    framework: Framework,
    table: pd.DataFrame | None = None,
) -> Evidence:
    """The indicator table (``table``, when the caller has it: ``indicators.compute`` otherwise), the
    components and the accepted files, for every member and month."""
    from perfcore.intake.ingest import submissions
    from perfcore.warehouse.components import COMPONENTS, monthly_components
    from perfcore.warehouse.indicators import indicator_table

    frame = monthly_components(con)
    frame = frame[frame["authority"].isin(consortium.codes)]
    if table is None:
        table = indicator_table(frame, framework, consortium.codes)
    figures = {
        (str(a), str(p), str(i)): (_number(v), _number(n), _number(d))
        for a, p, i, v, n, d in zip(
            table["area"], table["period"], table["indicator"], table["value"], table["numerator"], table["denominator"]
        )
    }
    names = list(COMPONENTS)
    components = {
        (str(row[0]), str(row[1])): {name: _number(v) for name, v in zip(names, row[2:])}
        for row in frame[["authority", "period", *names]].itertuples(index=False)
    }
    rows = submissions(con)
    held: dict[str, set[str]] = {}
    for area, period, _ in figures:
        held.setdefault(area, set()).add(period)
    return Evidence(
        consortium,
        framework,
        table,
        figures,
        components,
        _accepted_files(con, rows, set(consortium.codes)),
        {row["id"]: row["file_name"] for row in rows},
        {area: tuple(sorted(months)) for area, months in held.items()},
    )


def _accepted_files(con, rows: list[dict], members: set[str]) -> dict[tuple[str, str], tuple[Submitted, ...]]:
    """Accepted extracts and manual returns by (council, month): whether each still counts."""
    replaced = dict(con.execute("select replaced_id, replaced_by_id from replacements").fetchall())
    holds: dict[tuple[int, str, str], set[str]] = {}
    for sid, authority, period, measure in con.execute(
        "select distinct submission_id, authority, period, measure from manual_values"
    ).fetchall():
        holds.setdefault((sid, authority, period), set()).add(measure)
    current: dict[tuple[int, str, str], set[str]] = {}
    for sid, authority, period, measure in con.execute(
        "select submission_id, authority, period, measure from current_manual"
    ).fetchall():
        current.setdefault((sid, authority, period), set()).add(measure)
    by_id = {row["id"]: row for row in rows if row["outcome"] == "accepted"}
    out: dict[tuple[str, str], list[Submitted]] = {}
    for row in by_id.values():
        if row["kind"] == "extract" and row["authority"] in members:
            out.setdefault((row["authority"], row["period"]), []).append(
                _submitted(row, row["authority"], row["period"], replaced.get(row["id"]))
            )
    for (sid, authority, period), measures in holds.items():
        if sid in by_id and authority in members:
            counted = frozenset(current.get((sid, authority, period), ()))
            out.setdefault((authority, period), []).append(
                _submitted(by_id[sid], authority, period, None, frozenset(measures), counted)
            )
    return {key: tuple(sorted(found, key=lambda s: s.submission)) for key, found in out.items()}


def _submitted(row: dict, authority: str, period: str, replaced_by: int | None, *measures) -> Submitted:
    return Submitted(
        row["id"],
        row["file_name"],
        row["kind"],
        authority,
        period,
        row["received_at"],
        row["sequence"],
        row["sha256"],
        replaced_by,
        *measures,
    )


# -- one council's figure ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One component of the numerator or denominator: its sum over the months that count."""

    name: str
    role: str  # numerator | denominator
    meaning: str
    source: str  # HBPE extract | manual return
    unit: str
    value: float | None


@dataclass(frozen=True)
class Month:
    """One month of the window: each component's value (None: not received) and whether the month counts."""

    period: str
    values: dict[str, float | None]
    counted: bool


@dataclass(frozen=True)
class SourceFile:
    submission: int
    name: str  # as submitted: untrusted, escape wherever it is shown
    kind: str  # HBPE extract | manual return
    period: str
    received: datetime
    sequence: int | None
    sha256: str
    status: str  # counted | replaced
    replaced_by: str | None  # the file that replaced it


@dataclass(frozen=True)
class Explanation:
    area: str
    area_name: str
    period: str
    indicator: Indicator
    framework_version: str
    window: tuple[str, ...]  # the months summed: the period, or April to the period for an FYTD indicator
    value: float | None
    numerator: float | None
    denominator: float | None
    parts: tuple[Part, ...]
    months: tuple[Month, ...]
    files: tuple[SourceFile, ...]
    previous_period: str
    previous: float | None
    consortium: float | None
    why_null: str | None  # a null value: why

    @property
    def formula(self) -> str:
        """'7,115 days ÷ 295 claims = 24.1 days'; '100 × 283 claims ÷ 295 claims = 95.9%'."""
        return formula(self.indicator, self.value, self.numerator, self.denominator, self.parts)

    @property
    def shown(self) -> str:
        """The value as pages show it."""
        return self.indicator.format(self.value)

    def to_json(self) -> dict[str, Any]:
        indicator = self.indicator
        return {
            "area": self.area,
            "area_name": self.area_name,
            "period": self.period,
            "indicator": {
                "id": indicator.id,
                "name": indicator.name,
                "definition": indicator.definition,
                "unit": indicator.unit,
                "window": indicator.window,
                "scale": indicator.scale,
                "source": indicator.source,
            },
            "framework_version": self.framework_version,
            "window": list(self.window),
            "value": self.value,
            "shown": self.shown,
            "status": indicator.rag(self.value),
            "numerator": self.numerator,
            "denominator": self.denominator,
            "formula": self.formula,
            "why_null": self.why_null,
            "components": [vars(p) for p in self.parts],
            "months": [{"period": m.period, "counted": m.counted, "values": m.values} for m in self.months],
            "files": [vars(f) | {"received": f.received.isoformat(sep=" ")} for f in self.files],
            "previous": {"period": self.previous_period, "value": self.previous},
            "consortium": self.consortium,
        }


def explain(evidence: Evidence, council: str, period: str, indicator_id: str, *, strict: bool = True) -> Explanation:
    """One council's figure for a month, explained; raises a one-line error for an unknown council,
    indicator or month (naming what there is). ``strict=False``: a month without figures is explained
    too (every figure null, saying why), as a page for every member and month needs."""
    consortium, framework = evidence.consortium, evidence.framework
    member = consortium.council(council)
    indicator = framework.indicator(indicator_id)
    _check_month(evidence, member.code, period, member.name, strict)
    value, numerator, denominator = evidence.figures.get((member.code, period, indicator.id), (None, None, None))
    window = _window(indicator, period)
    inputs = (*indicator.numerator, *indicator.denominator)
    months = tuple(_month(evidence, member.code, m, inputs) for m in window)
    previous = periods.shift(period, -1)
    return Explanation(
        area=member.code,
        area_name=member.name,
        period=period,
        indicator=indicator,
        framework_version=framework.version,
        window=window,
        value=value,
        numerator=numerator,
        denominator=denominator if indicator.is_ratio else None,
        parts=_parts(indicator, months),
        months=months,
        files=_files(evidence, member.code, window, inputs),
        previous_period=previous,
        previous=evidence.figures.get((member.code, previous, indicator.id), (None,))[0],
        consortium=evidence.figures.get((CONSORTIUM, period, indicator.id), (None,))[0],
        why_null=None if value is not None else _why_null(indicator, months, denominator),
    )


def _check_month(evidence: Evidence, area: str, period: str, name: str, strict: bool = True) -> None:
    if not periods.is_period(period):
        raise IndicatorError(f"--period {period!r} is not a month; use YYYY-MM, e.g. 2026-10")
    if not strict:
        return
    months = evidence.months(area)
    if period not in months:
        held = f"{months[0]} to {months[-1]}" if months else "none yet"
        raise IndicatorError(f"{name} has no figures for {period}; months with figures: {held}")


def _window(indicator: Indicator, period: str) -> tuple[str, ...]:
    if indicator.window == "fytd":
        return tuple(periods.span(periods.financial_year_start(period), period))
    return (period,)


def _month(evidence: Evidence, area: str, period: str, inputs: tuple[str, ...]) -> Month:
    held = evidence.components.get((area, period), {})
    values = {name: held.get(name) for name in dict.fromkeys(inputs)}
    # as warehouse.indicators counts it: a month counts only where every input exists
    return Month(period, values, all(v is not None for v in values.values()))


def _parts(indicator: Indicator, months: tuple[Month, ...]) -> tuple[Part, ...]:
    from perfcore.warehouse.components import COMPONENTS

    counted = [m for m in months if m.counted]
    parts = []
    for role, names in (("numerator", indicator.numerator), ("denominator", indicator.denominator)):
        for name in names:
            component = COMPONENTS[name]
            total = math.fsum(m.values[name] for m in counted) if counted else None
            meaning = component.help if component.source == "extract" else "the value the manual return states"
            parts.append(Part(name, role, meaning, source_of(name), component.unit, total))
    return tuple(parts)


def source_of(component: str) -> str:
    """Where a component comes from: 'HBPE NewClaims' (the section), 'HBPE Caseload', 'manual return'."""
    from perfcore.intake.hbpe import SECTIONS
    from perfcore.warehouse.components import COMPONENTS

    if COMPONENTS[component].source == "manual":
        return "manual return"
    if component in RECORDS:
        table = RECORDS[component][0]
        return "HBPE " + next(s.parent for s in SECTIONS if s.table == table)
    return "HBPE " + COMPONENTS[component].help.split("@")[0]  # a total the extract states: Caseload, Expenditure


def _files(evidence: Evidence, area: str, window: tuple[str, ...], inputs: tuple[str, ...]) -> tuple[SourceFile, ...]:
    """The accepted files holding the indicator's inputs for the window's months: counted or replaced."""
    from perfcore.warehouse.components import COMPONENTS

    extract = any(COMPONENTS[name].source == "extract" for name in inputs)
    manual = {name for name in inputs if COMPONENTS[name].source == "manual"}
    out = []
    for period in window:
        for file in evidence.files.get((area, period), ()):
            if file.kind == "extract" and extract:
                status = REPLACED if file.replaced_by is not None else COUNTED
                by = evidence.names.get(file.replaced_by) if file.replaced_by is not None else None
            elif file.kind == "manual" and file.measures & manual:
                status = COUNTED if file.counted & manual else REPLACED
                by = None if status == COUNTED else _manual_replacement(evidence, file, manual)
            else:
                continue
            out.append(
                SourceFile(
                    file.submission,
                    file.name,
                    SOURCE_WORDS[file.kind],
                    period,
                    file.received,
                    file.sequence,
                    file.sha256,
                    status,
                    by,
                )
            )
    return tuple(out)


def _manual_replacement(evidence: Evidence, file: Submitted, measures: set[str]) -> str | None:
    """The manual return now holding the values this one sent."""
    for other in evidence.files.get((file.authority, file.period), ()):
        if other.kind == "manual" and other.submission != file.submission and other.counted & file.measures & measures:
            return other.name
    return None


def _why_null(indicator: Indicator, months: tuple[Month, ...], denominator: float | None) -> str:
    from perfcore.warehouse.components import COMPONENTS

    if any(m.counted for m in months):
        names = " + ".join(indicator.denominator)
        return f"the denominator ({names}) is 0: there is nothing to divide by, so there is no figure (never 0)"
    reasons = []
    for month in months:
        missing = [name for name, value in month.values.items() if value is None]
        if not missing:
            continue
        extract = [n for n in missing if COMPONENTS[n].source == "extract"]
        manual = [n for n in missing if COMPONENTS[n].source == "manual"]
        if extract:
            reasons.append(f"no accepted HBPE extract for {month.period}")
        if manual:
            reasons.append(f"the manual return's {', '.join(manual)} for {month.period} not received")
    return "; ".join(reasons) or "no data"


def formula(
    indicator: Indicator,
    value: float | None,
    numerator: float | None,
    denominator: float | None,
    parts: tuple[Part, ...] = (),
) -> str:
    """The sum as a reader checks it: '7,115 days ÷ 295 claims = 24.1 days'."""
    if numerator is None:
        return "no figure"
    units = {role: {p.unit for p in parts if p.role == role} for role in ("numerator", "denominator")}
    top = amount(numerator, _one(units["numerator"]))
    if not indicator.is_ratio:
        scaled = f"{_scale(indicator.scale)} × {top}" if indicator.scale != 1 else top
        shown = indicator.format(value)
        if shown == top or shown == top.split(" ")[0]:
            return f"{top}: a count or total, with no denominator"
        return f"{scaled} = {shown}"
    bottom = amount(denominator, _one(units["denominator"]))
    scaled = f"{_scale(indicator.scale)} × {top}" if indicator.scale != 1 else top
    return f"{scaled} ÷ {bottom} = {indicator.format(value)}"


def _one(units: set[str]) -> str:
    return next(iter(units)) if len(units) == 1 else ""


def _scale(scale: float) -> str:
    return f"{scale:g}"


def amount(value: float | None, unit: str = "") -> str:
    """A sum as words: '7,115 days', '£1,234.50', '12'; 'no data' for None."""
    if value is None:
        return "no data"
    whole = float(value).is_integer()
    number = f"{value:,.0f}" if whole else f"{value:,.2f}"
    if unit == "£":
        return f"£{value:,.2f}"
    return f"{number} {unit}".rstrip()


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


# -- the consortium's figure -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFigure:
    code: str
    name: str
    value: float | None
    numerator: float | None
    denominator: float | None


@dataclass(frozen=True)
class PooledExplanation:
    """The consortium's figure: Σ numerators ÷ Σ denominators over the members with data. Aggregates only."""

    period: str
    indicator: Indicator
    framework_version: str
    window: tuple[str, ...]
    value: float | None
    numerator: float | None
    denominator: float | None
    members: tuple[MemberFigure, ...]
    previous_period: str
    previous: float | None

    @property
    def shown(self) -> str:
        return self.indicator.format(self.value)

    @property
    def formula(self) -> str:
        from perfcore.warehouse.components import COMPONENTS

        parts = tuple(
            Part(n, role, "", "", COMPONENTS[n].unit, None)
            for role, names in (("numerator", self.indicator.numerator), ("denominator", self.indicator.denominator))
            for n in names
        )
        return formula(self.indicator, self.value, self.numerator, self.denominator, parts)


def pooled_json(pooled: PooledExplanation) -> dict[str, Any]:
    return {
        "area": CONSORTIUM,
        "period": pooled.period,
        "indicator": {"id": pooled.indicator.id, "name": pooled.indicator.name},
        "framework_version": pooled.framework_version,
        "window": list(pooled.window),
        "value": pooled.value,
        "shown": pooled.shown,
        "numerator": pooled.numerator,
        "denominator": pooled.denominator,
        "formula": pooled.formula,
        "members": [vars(m) for m in pooled.members],
        "previous": {"period": pooled.previous_period, "value": pooled.previous},
    }


def pooled_lines(pooled: PooledExplanation, name: str) -> list[str]:
    indicator = pooled.indicator
    lines = [
        f"{name}, {periods.label(pooled.period)}: {indicator.name} (pooled over the members)",
        f"  value        {pooled.shown}",
        f"  worked out   {pooled.formula}",
        f"  definition   {indicator.definition}",
        f"  framework    version {pooled.framework_version}",
        f"  month before {periods.label(pooled.previous_period)}: {indicator.format(pooled.previous)}",
        "members",
    ]
    for m in pooled.members:
        bottom = f" ÷ {amount(m.denominator)}" if indicator.is_ratio else ""
        lines.append(f"  {m.name:28} {amount(m.numerator)}{bottom} = {indicator.format(m.value)}")
    return lines


def explain_pooled(evidence: Evidence, period: str, indicator_id: str, *, strict: bool = True) -> PooledExplanation:
    indicator = evidence.framework.indicator(indicator_id)
    _check_month(evidence, CONSORTIUM, period, "The consortium", strict)
    value, numerator, denominator = evidence.figures.get((CONSORTIUM, period, indicator.id), (None, None, None))
    members = tuple(
        MemberFigure(c.code, c.name, *evidence.figures.get((c.code, period, indicator.id), (None, None, None)))
        for c in sorted(evidence.consortium.members, key=lambda c: c.name)
    )
    previous = periods.shift(period, -1)
    return PooledExplanation(
        period,
        indicator,
        evidence.framework.version,
        _window(indicator, period),
        value,
        numerator,
        denominator if indicator.is_ratio else None,
        members,
        previous,
        evidence.figures.get((CONSORTIUM, previous, indicator.id), (None,))[0],
    )


# -- the command's text ----------------------------------------------------------------------------------------


def text_lines(explanation: Explanation, consortium_name: str = "Consortium") -> list[str]:
    """``perfcore explain``'s text: every line goes through ``terminal.safe`` at the caller."""
    from perfcore.warehouse.components import COMPONENTS

    e, indicator = explanation, explanation.indicator
    window = (
        f"financial year to date, {periods.label(e.window[0])} to {periods.label(e.window[-1])}"
        if indicator.window == "fytd"
        else "the month"
    )
    status = indicator.rag(e.value)
    lines = [
        f"{e.area_name} ({e.area}), {periods.label(e.period)}: {indicator.name}",
        f"  value        {e.shown}" + (f" ({status.upper()})" if status else ""),
        f"  worked out   {e.formula}",
    ]
    if e.why_null:
        lines.append(f"  no figure    {e.why_null}")
    lines += [
        f"  numerator    {_amount_of(e, 'numerator', e.numerator)}",
        f"  denominator  {_amount_of(e, 'denominator', e.denominator) if indicator.is_ratio else '(a count or total)'}",
        f"  definition   {indicator.definition}",
        f"  framework    version {e.framework_version}; window: {window}",
        f"  month before {periods.label(e.previous_period)}: {indicator.format(e.previous)}",
        f"  {consortium_name[:12]:12} {indicator.format(e.consortium)} (pooled)",
        "components (summed over the months that count)",
    ]
    for part in e.parts:
        lines.append(
            f"  {part.role:11}  {part.name:24} {amount(part.value, part.unit):>18}  {part.source}: {part.meaning}"
        )
    if len(e.months) > 1:
        lines.append("month by month")
        for month in e.months:
            values = ", ".join(f"{name} {amount(v, COMPONENTS[name].unit)}" for name, v in month.values.items())
            lines.append(f"  {month.period}  {'counted' if month.counted else 'not counted'}: {values}")
    lines.append("files")
    if not e.files:
        lines.append("  none accepted")
    for file in e.files:
        sequence = f"Sequence {file.sequence}" if file.sequence is not None else "no Sequence"
        state = file.status + (f" by {file.replaced_by}" if file.replaced_by else "")
        lines.append(
            f"  {file.period}  {file.name}  ({file.kind}, received {file.received:%Y-%m-%d %H:%M}, {sequence}, {state})"
        )
        lines.append(f"           sha256 {file.sha256}")
    return lines


def _amount_of(e: Explanation, role: str, value: float | None) -> str:
    units = {p.unit for p in e.parts if p.role == role}
    names = " + ".join(p.name for p in e.parts if p.role == role)
    return f"{amount(value, _one(units))} ({names})"


# -- the counted records (council-private) ---------------------------------------------------------------------

# The records each extract component counts, as warehouse.components' SQL selects them:
# (table, ref column, condition). tests/test_explain.py holds each count to the component's value.
_DECIDED = "c.outcome in ('awarded', 'refused')"
_ACTIONED = "c.type not in ('uprating', 'revision')"
RECORDS: dict[str, tuple[str, str, str]] = {
    "claims_decided": ("claims", "ref", _DECIDED),
    "claims_days": ("claims", "ref", _DECIDED),
    "claims_within_14": (
        "claims",
        "ref",
        f"{_DECIDED} and c.decided <= coalesce(c.info_complete, c.received) + interval 14 day",
    ),
    "changes_actioned": ("changes", "ref", _ACTIONED),
    "changes_days": ("changes", "ref", _ACTIONED),
    "woh_items": ("work_items", "ref", "true"),
    "woh_over_30": ("work_items", "ref", "date_diff('day', c.received, month_end) > 30"),
    "overpaid": ("overpayments", "ref", "true"),
    "overpaid_la_error": ("overpayments", "ref", "c.cause in ('la-error', 'admin-delay')"),
    "recovered": ("recoveries", "overpayment", "true"),
    "written_off": ("write_offs", "overpayment", "true"),
}
REFS_SHOWN = 20
# one council's records of a section in the current extracts of the given months, with each month's last day
_SELECTED = """
    select ce.period, last_day(strptime(ce.period || '-01', '%Y-%m-%d')::date) as month_end, c.*
    from current_extracts ce join {table} c using (submission_id)
    where ce.authority = ? and list_contains(?, ce.period)
"""


@dataclass(frozen=True)
class Records:
    """The records one component counts over the months that count: the first refs and how many in all."""

    component: str
    table: str
    count: int
    refs: tuple[tuple[str, str], ...]  # (month, ref), first ``limit`` by month and ref

    @property
    def more(self) -> int:
        return self.count - len(self.refs)

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "table": self.table,
            "count": self.count,
            "refs": [{"period": p, "ref": r} for p, r in self.refs],
            "more": self.more,
        }


def counted_records(
    con: duckdb.DuckDBPyConnection, explanation: Explanation, limit: int = REFS_SHOWN
) -> tuple[Records, ...]:
    """The refs of the records behind a council's figure (council-private: never on a consortium page).

    One query per component counted from records (a component from the extract's header or a manual
    return has none); components counting the same records (days and decided claims) are listed once."""
    months = [m.period for m in explanation.months if m.counted]
    seen, out = set(), []
    for part in explanation.parts:
        if part.name not in RECORDS or not months:
            continue
        table, ref, condition = RECORDS[part.name]
        if (table, condition) in seen:
            continue
        seen.add((table, condition))
        rows = con.execute(
            f"""
            select c.period, c.{ref} as counted_ref, count(*) over () as total from ({_SELECTED.format(table=table)}) c
            where {condition}
            order by c.period, counted_ref limit ?
            """,
            [explanation.area, months, limit],
        ).fetchall()
        count = int(rows[0][2]) if rows else 0
        if not rows and limit == 0:
            count = _count(con, table, condition, explanation.area, months)
        out.append(Records(part.name, table, count, tuple((str(p), str(r)) for p, r, _ in rows)))
    return tuple(out)


def _count(con, table: str, condition: str, area: str, months: list[str]) -> int:
    return con.execute(
        f"select count(*) from ({_SELECTED.format(table=table)}) c where {condition}", [area, months]
    ).fetchone()[0]


def records_lines(records: tuple[Records, ...]) -> list[str]:
    lines = []
    for found in records:
        lines.append(f"records counted in {found.component} ({found.table}): {found.count:,}")
        for period, ref in found.refs:
            lines.append(f"  {period}  {ref}")
        if found.refs and found.more > 0:
            lines.append(f"  ... and {found.more:,} more")
    return lines


def explained_href(indicator_id: str, page: str = "figures.html") -> str:
    """The link from a report page to an indicator's explanation, beside it in the same month's folder."""
    return f"{page}#{indicator_id}"


def figures_page(consortium: Consortium, area: str, period: str) -> str:
    """An area's figures page for the month, linked from a page in another audience's month folder
    (``analysts/<period>/``: the consortium's analysts may open every council's folder)."""
    folder = "consortium" if area == CONSORTIUM else f"councils/{consortium.council(area).slug}"
    return f"../../{folder}/{period}/figures.html"


def explained(framework: Framework, ids: list[str] | tuple[str, ...] = (), *, page: str = "figures.html") -> str:
    """Markdown under a table or chart: links to the explanation of each indicator it shows (no ids: to the
    page of every figure). A web page's links only: the PDF leaves the paragraph out (the filter drops
    ``.explained`` there)."""
    from perfcore.reporting.display import md_escape

    if not ids:
        text = f"Every figure here, worked out down to the files it came from: [where each figure comes from]({page})."
    else:
        links = [f"[{md_escape(framework.indicator(i).name)}]({explained_href(i, page)})" for i in dict.fromkeys(ids)]
        lead = "How this figure is worked out" if len(links) == 1 else "How these figures are worked out"
        text = f"{lead}: " + ", ".join(links) + "."
    return "::: {.explained}\n" + text + "\n:::\n"
