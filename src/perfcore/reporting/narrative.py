"""Sentences a person would write about the figures, and the framework explained in words.

Each function returns plain text (markdown) from ``ReportData`` and small
values; the words shared with tables and tiles come from ``wording``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perfcore import periods
from perfcore.config.parameters import Indicator
from perfcore.reporting import wording
from perfcore.reporting.data import ReportData, clean, rejection_count, submissions, value
from perfcore.reporting.tables import REJECTIONS_SHOWN, Position, returns_status

NARRATIVE_INDICATORS = (
    "new_claims_days",
    "changes_days",
    "new_claims_within_14_days_pct",
    "work_on_hand_over_30_days",
    "la_error_overpayment_pct",
    "accuracy_pct",
)


@dataclass(frozen=True)
class Headline:
    indicator: Indicator
    value: float | None
    previous: float | None
    rag: str | None
    direction: str | None  # "up", "down", "same" or None
    better: bool | None  # is the change an improvement (None: context measure or no change)

    @property
    def text(self) -> str:
        return self.indicator.format(self.value)


def headlines(data: ReportData, area: str) -> list[Headline]:
    previous_period = periods.shift(data.period, -1)
    out = []
    for indicator in data.framework.indicators:
        now, before = value(data, area, indicator.id), value(data, area, indicator.id, previous_period)
        direction = None
        if now is not None and before is not None:
            direction = "same" if round(now, 6) == round(before, 6) else ("up" if now > before else "down")
        better = indicator.is_better(now, before) if direction not in (None, "same") else None
        out.append(Headline(indicator, now, before, indicator.rag(now), direction, better))
    return out


def narrative(
    data: ReportData, area: str, places: Sequence[Position] = (), indicator_ids: tuple[str, ...] = NARRATIVE_INDICATORS
) -> list[str]:
    """Short sentences: 'New claims took 23.4 days in October, up from 19.8 (worse); 3rd of 10; status red.'

    ``places``: the council's positions among the members (``tables.positions``), for its rank.
    """
    month = periods.label(data.period).split()[0]
    by_id = {h.indicator.id: h for h in headlines(data, area)}
    place_of = {p.indicator.id: p for p in places}
    return [_sentence(by_id[i], place_of.get(i), month) for i in indicator_ids if by_id[i].value is not None]


def _sentence(head: Headline, place: Position | None, month: str) -> str:
    verb = "took" if head.indicator.unit == "days" else "was"
    subject = head.indicator.short.removesuffix(", days")
    text = f"{subject} {verb} {head.text} in {month}"
    if head.previous is not None and head.direction:
        change = {"up": "up from", "down": "down from", "same": "unchanged from"}[head.direction]
        text += f", {change} {head.indicator.format(head.previous)}"
        if head.better is not None:
            text += " (better)" if head.better else " (worse)"
    if place and place.rank:
        text += f"; {wording.rank_text(place.rank, place.of)}"
    if head.rag:
        text += f"; status {head.rag}"
    return text + "."


# -- subsidy position ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubsidyPosition:
    pct: float | None
    lower: float
    upper: float
    band: str | None  # "full subsidy", "40% subsidy", "no subsidy"
    overpaid_la_error: float | None
    expenditure: float | None


def subsidy_position(data: ReportData, area: str) -> SubsidyPosition:
    """LA-error overpayments FYTD against the subsidy thresholds (from the framework)."""
    indicator = data.framework.indicator("la_error_overpayment_pct")
    rows = data.table[
        (data.table["area"] == area) & (data.table["indicator"] == indicator.id) & (data.table["period"] == data.period)
    ]
    pct = clean(rows["value"].iloc[0]) if len(rows) else None
    lower, upper = indicator.thresholds.green, indicator.thresholds.amber
    band = None
    if pct is not None:
        band = "full subsidy" if pct <= lower else "40% subsidy" if pct <= upper else "no subsidy"
    return SubsidyPosition(
        pct,
        lower,
        upper,
        band,
        clean(rows["numerator"].iloc[0]) if len(rows) else None,
        clean(rows["denominator"].iloc[0]) if len(rows) else None,
    )


def subsidy_callout_kind(position: SubsidyPosition) -> str:
    return {"full subsidy": "tip", "40% subsidy": "warning", "no subsidy": "caution"}.get(position.band or "", "note")


def subsidy_sentence(position: SubsidyPosition, name: str) -> str:
    if position.pct is None:
        return f"No expenditure figures yet this financial year for {name}."
    return (
        f"LA-error and administrative-delay overpayments are {position.pct:.2f}% of expenditure so far this "
        f"financial year (£{position.overpaid_la_error:,.0f} of £{position.expenditure:,.0f}). "
        f"Up to {position.lower:.2f}% attracts full subsidy, up to {position.upper:.2f}% 40%, above that none: "
        f"{name} is in the **{position.band}** band."
    )


# -- work on hand, alerts, data quality ------------------------------------------------------------------


def work_on_hand_sentence(data: ReportData, area: str) -> str:
    total, old = value(data, area, "work_on_hand"), value(data, area, "work_on_hand_over_30_days")
    if total is None:
        return "No work-on-hand figures for this month."
    before = value(data, area, "work_on_hand_over_30_days", periods.shift(data.period, -1))
    text = (
        f"At the end of {periods.label(data.period)} {total:,.0f} items were waiting for a decision; "
        f"{old:,.0f} of them had waited more than 30 days"
    )
    if before is not None:
        text += f" ({before:,.0f} a month earlier)"
    return text + ". Old work on hand tends to rise before processing times do: watch it."


def alerts_sentence(data: ReportData, items: list, area_name: str) -> str:
    if not items:
        return (
            f"No alerts for {area_name} in {periods.label(data.period)}: "
            "variation is within what the process usually shows."
        )
    high = sum(a.severity == "high" for a in items)
    return (
        f"{len(items)} alert(s) for {area_name} in {periods.label(data.period)}, {high} of high severity, "
        "worst first. Each names the rule that fired, the evidence and the months involved."
    )


def members_alerts_sentence(data: ReportData, items: list) -> str:
    """The consortium's alerts counted, naming no council: what every member may read (README, Access).

    A council's alerts are on its own report and on the analysts' pages, never in what other members open."""
    month = periods.label(data.period)
    where = (
        "Each council's alerts are on its own report; the consortium's analysts see every alert, "
        "with its process control chart, on the Early warning and analysis page."
    )
    if not items:
        return f"No alerts for any member in {month}: variation is within what each process usually shows. " + where
    high = sum(a.severity == "high" for a in items)
    members = len({a.area for a in items})
    return (
        f"{len(items)} alert(s) across {members} of {len(data.consortium.codes)} members in {month}, "
        f"{high} of high severity. " + where
    )


def data_quality_sentence(data: ReportData, area: str) -> str:
    frame = submissions(data, area, data.period)
    if frame.empty:
        return f"No files received for {periods.label(data.period)}."
    accepted = frame[frame["outcome"] == "accepted"]
    return (
        f"{len(frame)} file(s) received for {periods.label(data.period)}: {len(accepted)} accepted; "
        f"{rejection_count(data, area):,} record(s) or file(s) rejected. Correct a rejected record at source: it is "
        "counted again when the next extract or a resubmission (higher Sequence) includes it."
    )


def rejections_more(data: ReportData, area: str, months: int = 1, shown: int = REJECTIONS_SHOWN) -> str | None:
    """'The first 20 of 160,000 are listed: 159,980 more ...' with the command that lists them all, or None."""
    total = rejection_count(data, area, months)
    if total <= shown:
        return None
    command = f"perfcore rejections --council {area}" + (f" --period {data.period}" if months == 1 else "")
    return (
        f"The first {shown} of {total:,} rejections are listed above; {total - shown:,} more are not shown here. "
        f"Run `{command}` for the full list, with every line, reference and reason."
    )


def returns_sentence(data: ReportData) -> str:
    status = returns_status(data)
    missing = status[status["Extract"] == "MISSING"]["Council"].tolist()
    partial = status[status["Manual return"] != "complete"]["Council"].tolist()
    text = f"{len(status) - len(missing)} of {len(status)} members sent an extract for {periods.label(data.period)}."
    if missing:
        text += f" Missing: {', '.join(missing)}."
    if partial:
        text += f" Manual return incomplete: {', '.join(partial)}."
    return text


# -- the framework in words --------------------------------------------------------------------------------


def framework_rules() -> str:
    return (
        "Every indicator is computed per council per calendar month and for the consortium as a whole.\n\n"
        "- **Days are calendar days, counted inclusively** (DWP speed of processing): received on 10 January "
        "and decided on 19 January is 10 days; decided the day it was received, 1 day.\n"
        "- **An average is a ratio of sums** (total days ÷ cases). The consortium figure pools the members' "
        "cases; it is never a mean of the councils' figures.\n"
        "- **No cases, no value**: nothing to divide by shows as *no data*, never 0.\n"
        "- **Financial year to date** runs April to March.\n"
        "- Averages of days and percentages are shown to one decimal place (the subsidy percentage to two)."
    )


def indicator_definition(indicator: Indicator) -> str:
    lines = [f"## {indicator.name} {{#{indicator.id.replace('_', '-')}}}", "", indicator.definition, ""]
    lines.append(f"- **Unit**: {indicator.unit}")
    lines.append(f"- **Better**: {indicator.better or 'neither (context measure)'}")
    if indicator.thresholds:
        words, t = wording.threshold_words(indicator), indicator.thresholds
        lines.append(
            f"- **Thresholds**: Green {words.within} {t.green:g}; Amber {words.within} {t.amber:g}; "
            f"Red {words.beyond} {t.amber:g}"
        )
        if indicator.basis:
            lines.append(f"- **Basis**: {indicator.basis}")
    lines.append(f"- **Window**: {wording.window_words(indicator, long=True)}")
    lines.append(f"- **Source**: {indicator.source}")
    return "\n".join(lines)
