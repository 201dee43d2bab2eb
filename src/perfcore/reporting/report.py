"""The data behind every report: what notebooks ask for, computed and tested here.

Notebooks stay thin: they call ``load`` once, then the functions below, and
pass the results to ``perfcore.reporting.display`` and ``perfcore.reporting.charts``. Every
function takes the frozen ``ReportData`` and returns plain values or small
DataFrames, so each can be tested without a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfcore import periods
from perfcore.config.parameters import CONSORTIUM, Consortium, Framework, Indicator

if TYPE_CHECKING:
    import pandas as pd

ORDINALS = {1: "st", 2: "nd", 3: "rd"}


@dataclass(frozen=True)
class NotYet:
    """What a page cannot show yet, and why: returned in place of an analysis that needs more data.

    A new member, or a new consortium, gets a complete page that says so
    (``charts`` draws this as a callout) instead of a page cut off by an exception.
    """

    reason: str  # a sentence for the reader: "Not enough data yet: ... needs 8 months, ... has 3."


@dataclass(frozen=True)
class ReportData:
    consortium: Consortium
    framework: Framework
    table: "pd.DataFrame"  # indicators.indicator_table
    period: str
    warehouse: Path
    parameters: Path
    status: Any = None  # indicators.MonthStatus of the period: is it complete, or provisional?

    @property
    def provisional(self) -> bool:
        return self.status is not None and not self.status.complete

    def area_name(self, area: str) -> str:
        return self.consortium.area_name(area)

    @property
    def periods(self) -> list[str]:
        """The reporting window: 24 months up to the period."""
        return periods.span(periods.shift(self.period, -23), self.period)


def load(period: str | None = None, *, warehouse: str | Path | None = None,
         parameters: str | Path | None = None, today: str | None = None) -> ReportData:
    """Everything a report needs, read once from the warehouse (read-only)."""
    from perfcore import settings
    from perfcore.warehouse import indicators
    from perfcore import warehouse as wh
    from perfcore.config.parameters import load_consortium, load_framework, parameters_dir

    params = parameters_dir(str(parameters) if parameters else None)
    consortium = load_consortium(params)
    framework = load_framework(params / "framework.yaml")
    database = wh.warehouse_path(warehouse)
    con = wh.connect(database, read_only=True)
    try:
        table = indicators.compute(con, framework, consortium.codes)
        counts = indicators.extracts_in(con, consortium)
    finally:
        con.close()
    day = settings.today(today)
    if period:
        indicators.check_period(period)
    else:  # the latest complete month (periods.is_complete), not one early extract's month
        period = indicators.default_period(table, framework, counts, consortium, day) or periods.last_complete(day)
    status = indicators.month_status(period, counts, consortium, day)
    return ReportData(consortium, framework, table, period, database, params, status)


def value(data: ReportData, area: str, indicator_id: str, period: str | None = None) -> float | None:
    rows = data.table[(data.table["area"] == area) & (data.table["indicator"] == indicator_id)
                      & (data.table["period"] == (period or data.period))]
    return _clean(rows["value"].iloc[0]) if len(rows) else None


def _clean(x: Any) -> float | None:
    from perfcore.warehouse.indicators import none_if_nan

    return none_if_nan(x)


# -- headline ------------------------------------------------------------------------------------


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


# -- trends and benchmarks --------------------------------------------------------------------


def series(data: ReportData, area: str, indicator_id: str) -> "pd.DataFrame":
    """period, value for one area over the reporting window (missing months kept as NaN)."""
    import pandas as pd

    rows = data.table[(data.table["area"] == area) & (data.table["indicator"] == indicator_id)]
    frame = pd.DataFrame({"period": data.periods})
    return frame.merge(rows[["period", "value"]], on="period", how="left")


def trend(data: ReportData, area: str, indicator_id: str) -> "pd.DataFrame":
    """period, value, consortium: an area's series beside the pooled figure."""
    own = series(data, area, indicator_id)
    pooled = series(data, CONSORTIUM, indicator_id).rename(columns={"value": "consortium"})
    return own.merge(pooled, on="period")


def league(data: ReportData, indicator_id: str, period: str | None = None) -> "pd.DataFrame":
    """Every member's value with rank (1 = best) and quartile (1 = best quarter).

    Context measures (no better direction) are listed by size, without rank.
    Members without a value are listed last, unranked.
    """
    import pandas as pd

    indicator = data.framework.indicator(indicator_id)
    period = period or data.period
    rows = data.table[(data.table["indicator"] == indicator_id) & (data.table["period"] == period)
                      & (data.table["area"] != CONSORTIUM)].set_index("area")["value"]
    frame = pd.DataFrame({
        "code": list(data.consortium.codes),
        "council": [c.name for c in data.consortium.members],
        "value": [rows.get(code, float("nan")) for code in data.consortium.codes],
    })
    have = frame["value"].notna()
    if is_ranked(indicator):
        ascending = indicator.better == "lower"
        frame.loc[have, "rank"] = frame.loc[have, "value"].rank(method="min", ascending=ascending)
        ranked = int(have.sum())
        frame.loc[have, "quartile"] = ((frame.loc[have, "rank"] - 1) * 4 // max(ranked, 1) + 1).clip(upper=4)
        frame = frame.sort_values(["rank", "council"], na_position="last")
    else:
        frame["rank"] = float("nan")
        frame["quartile"] = float("nan")
        frame = frame.sort_values("value", ascending=False, na_position="last")
    frame["rag"] = [indicator.rag(_clean(v)) for v in frame["value"]]
    return frame.reset_index(drop=True)


def is_ranked(indicator: Indicator) -> bool:
    """Members are ranked on rates and averages only: raw counts mostly measure size."""
    return indicator.better is not None and indicator.is_ratio


@dataclass(frozen=True)
class Position:
    indicator: Indicator
    value: float | None
    rank: int | None
    of: int
    quartile: int | None
    consortium: float | None


def positions(data: ReportData, area: str) -> list[Position]:
    """Where a council stands on every indicator with a direction."""
    out = []
    for indicator in data.framework.indicators:
        if not is_ranked(indicator):
            continue
        table = league(data, indicator.id)
        row = table[table["code"] == area]
        ranked = int(table["rank"].notna().sum())
        rank = _clean(row["rank"].iloc[0]) if len(row) else None
        quartile = _clean(row["quartile"].iloc[0]) if len(row) else None
        out.append(Position(indicator, value(data, area, indicator.id),
                            None if rank is None else int(rank), ranked,
                            None if quartile is None else int(quartile),
                            value(data, CONSORTIUM, indicator.id)))
    return out


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else ORDINALS.get(n % 10, "th")
    return f"{n}{suffix}"


# -- narrative -----------------------------------------------------------------------------------


def narrative(data: ReportData, area: str, indicator_ids: tuple[str, ...] | None = None) -> list[str]:
    """Short sentences a person would write: 'New claims took 23.4 days in October, up from 19.8; 3rd of 10.'"""
    wanted = indicator_ids or ("new_claims_days", "changes_days", "new_claims_within_14_days_pct",
                               "work_on_hand_over_30_days", "la_error_overpayment_pct", "accuracy_pct")
    month = periods.label(data.period).split()[0]
    by_id = {h.indicator.id: h for h in headlines(data, area)}
    places = {p.indicator.id: p for p in positions(data, area)} if area != CONSORTIUM else {}
    sentences = []
    for indicator_id in wanted:
        head = by_id[indicator_id]
        if head.value is None:
            continue
        verb = "took" if head.indicator.unit == "days" else "was"
        subject = head.indicator.short.removesuffix(", days")
        text = f"{subject} {verb} {head.text} in {month}"
        if head.previous is not None and head.direction:
            change = {"up": "up from", "down": "down from", "same": "unchanged from"}[head.direction]
            text += f", {change} {head.indicator.format(head.previous)}"
            if head.better is not None:
                text += " (better)" if head.better else " (worse)"
        place = places.get(indicator_id)
        if place and place.rank:
            text += f"; {ordinal(place.rank)} of {place.of}"
        if head.rag:
            text += f"; status {head.rag}"
        sentences.append(text + ".")
    return sentences


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
    rows = data.table[(data.table["area"] == area) & (data.table["indicator"] == indicator.id)
                      & (data.table["period"] == data.period)]
    pct = _clean(rows["value"].iloc[0]) if len(rows) else None
    lower, upper = indicator.thresholds.green, indicator.thresholds.amber
    band = None
    if pct is not None:
        band = "full subsidy" if pct <= lower else "40% subsidy" if pct <= upper else "no subsidy"
    return SubsidyPosition(
        pct, lower, upper, band,
        _clean(rows["numerator"].iloc[0]) if len(rows) else None,
        _clean(rows["denominator"].iloc[0]) if len(rows) else None,
    )


# -- work on hand and data quality (straight from the warehouse) ------------------------------------

AGE_BANDS = ((0, 14, "0–14 days"), (15, 30, "15–30 days"), (31, 60, "31–60 days"), (61, 10_000, "over 60 days"))


def work_on_hand_age(data: ReportData, area: str) -> "pd.DataFrame":
    """Work on hand at month end by kind and age band (days from received to month end)."""
    from perfcore import warehouse

    month_end = periods.last_day(data.period).isoformat()
    cases = " ".join(f"when age between {lo} and {hi} then '{label}'" for lo, hi, label in AGE_BANDS)
    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        frame = con.execute(f"""
            select kind, case {cases} end as age_band, count(*) as items
            from (select w.kind, date_diff('day', w.received, date '{month_end}') as age
                  from work_items w join current_extracts c using (submission_id)
                  where c.authority = ? and c.period = ?)
            group by all
        """, [area, data.period]).df()
    finally:
        con.close()
    order = [label for *_, label in AGE_BANDS]
    pivot = frame.pivot_table(index="age_band", columns="kind", values="items", fill_value=0, aggfunc="sum")
    pivot = pivot.reindex(order, fill_value=0).reset_index().rename(columns={"age_band": "Age"})
    pivot.columns.name = None
    return pivot.rename(columns={"new-claim": "New claims", "change": "Changes"})


def submissions(data: ReportData, area: str | None = None, period: str | None = None) -> "pd.DataFrame":
    """Submissions (optionally for one council and month), newest first."""
    from perfcore import warehouse

    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        frame = con.execute("""
            select id, file_name, kind, authority, period, sequence, outcome, received_at,
                   records_loaded, records_rejected, reason
            from submissions
            where (? is null or authority = ?) and (? is null or period = ?)
            order by id desc
        """, [area, area, period, period]).df()
    finally:
        con.close()
    return frame


def rejections(data: ReportData, area: str | None = None, period: str | None = None) -> "pd.DataFrame":
    from perfcore import warehouse

    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        return con.execute("""
            select r.file_name as file, s.authority, s.period, r.level, r.line, r.ref, r.field, r.reason
            from rejections r join submissions s on s.id = r.submission_id
            where (? is null or s.authority = ?) and (? is null or s.period = ?)
            order by r.submission_id, r.line
        """, [area, area, period, period]).df()
    finally:
        con.close()


def returns_status(data: ReportData, period: str | None = None) -> "pd.DataFrame":
    """Per member for one month: extract received (which Sequence, when), manual measures missing."""
    import pandas as pd

    from perfcore import warehouse
    from perfcore.intake.manual import MEASURES

    period = period or data.period
    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        extracts = con.execute("""
            select c.authority, c.sequence, s.received_at, s.file_name, s.records_rejected
            from current_extracts c join submissions s on s.id = c.submission_id where c.period = ?
        """, [period]).df().set_index("authority")
        manual = con.execute(
            "select authority, list(measure) as measures from current_manual where period = ? group by authority",
            [period]).df().set_index("authority")
    finally:
        con.close()
    rows = []
    for council in data.consortium.members:
        has_extract = council.code in extracts.index
        sent = set(manual.loc[council.code, "measures"]) if council.code in manual.index else set()
        missing = [m for m in MEASURES if m not in sent]
        rows.append({
            "Council": council.name,
            "Extract": "received" if has_extract else "MISSING",
            "Sequence": int(extracts.loc[council.code, "sequence"]) if has_extract else None,
            "Received": (str(extracts.loc[council.code, "received_at"])[:16] if has_extract else ""),
            "Records rejected": int(extracts.loc[council.code, "records_rejected"]) if has_extract else None,
            "Manual return": "complete" if not missing else ("MISSING" if len(missing) == len(MEASURES) else "partial"),
            "Measures missing": ", ".join(missing),
        })
    return pd.DataFrame(rows)


# -- tables ready for display -------------------------------------------------------------------------


def position_table(data: ReportData, area: str) -> "pd.DataFrame":
    """Rank, quartile and consortium figure per indicator, formatted for a page."""
    import pandas as pd

    rows = []
    for p in positions(data, area):
        rows.append({
            "Indicator": p.indicator.short,
            "This council": p.indicator.format(p.value),
            "Status": (p.indicator.rag(p.value) or "").capitalize() or "No target",
            "Rank": f"{ordinal(p.rank)} of {p.of}" if p.rank else "not ranked",
            "Quartile": f"Q{p.quartile}" + (" (best)" if p.quartile == 1 else " (worst)" if p.quartile == 4 else "") if p.quartile else "",
            "Consortium": p.indicator.format(p.consortium),
        })
    return pd.DataFrame(rows)


def benchmark_table(data: ReportData, indicator_ids: tuple[str, ...] | None = None) -> "pd.DataFrame":
    """Every member side by side (rows) for every indicator (columns), best marked with ★."""
    import pandas as pd

    indicators = [data.framework.indicator(i) for i in indicator_ids] if indicator_ids else list(data.framework.indicators)
    table = pd.DataFrame({"Council": [c.name for c in data.consortium.members] + [data.consortium.short_name]})
    for indicator in indicators:
        league_frame = league(data, indicator.id).set_index("code")
        best = league_frame.index[0] if is_ranked(indicator) and league_frame["rank"].notna().any() else None
        cells = []
        for council in data.consortium.members:
            v = _clean(league_frame.loc[council.code, "value"])
            text = indicator.format(v)
            rag = indicator.rag(v)
            if rag:
                text += f" {rag[0].upper()}"
            cells.append(("★ " if council.code == best else "") + text)
        cells.append(indicator.format(value(data, CONSORTIUM, indicator.id)))
        table[indicator.short] = cells
    return table


def best_performers(data: ReportData) -> "pd.DataFrame":
    """The best member this month per indicator with a direction: the practice to learn from."""
    import pandas as pd

    rows = []
    for indicator in data.framework.indicators:
        if not is_ranked(indicator):
            continue
        frame = league(data, indicator.id)
        ranked = frame[frame["rank"].notna()]
        if ranked.empty:
            continue
        top = ranked.iloc[0]
        rows.append({
            "Indicator": indicator.short,
            "Best this month": top["council"],
            "Value": indicator.format(top["value"]),
            "Consortium": indicator.format(value(data, CONSORTIUM, indicator.id)),
        })
    return pd.DataFrame(rows)


def framework_table(data: ReportData) -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for i in data.framework.indicators:
        if i.thresholds:
            sign = "≤" if i.better == "lower" else "≥"
            green, amber = f"{sign} {i.thresholds.green:g}", f"{sign} {i.thresholds.amber:g}"
        else:
            green = amber = "—"
        rows.append({"Id": i.id, "Indicator": i.name, "Unit": i.unit,
                     "Better": i.better or "—", "Green": green, "Amber": amber,
                     "Window": "financial year to date" if i.window == "fytd" else "month"})
    return pd.DataFrame(rows)


TREND_INDICATORS = ("new_claims_days", "changes_days", "new_claims_within_14_days_pct", "accuracy_pct", "calls_answered_pct")


def indicator_groups(data: ReportData) -> list[tuple[str, tuple[str, ...]]]:
    """The framework's groups in order, each with its indicator ids (tables that fit a page)."""
    groups: dict[str, list[str]] = {}
    for indicator in data.framework.indicators:
        groups.setdefault(indicator.group or "Other", []).append(indicator.id)
    return [(name, tuple(ids)) for name, ids in groups.items()]


def initiative_markers(data: ReportData, area: str) -> list[tuple[str, str]]:
    """(start month, label) of the council's initiatives, for marking charts."""
    from perfcore import analytics

    return [(i.start, "Initiative starts") for i in analytics.load_initiatives(data.parameters, data.framework)
            if i.council == area]


def work_on_hand_sentence(data: ReportData, area: str) -> str:
    total, old = value(data, area, "work_on_hand"), value(data, area, "work_on_hand_over_30_days")
    if total is None:
        return "No work-on-hand figures for this month."
    before = value(data, area, "work_on_hand_over_30_days", periods.shift(data.period, -1))
    text = (f"At the end of {periods.label(data.period)} {total:,.0f} items were waiting for a decision; "
            f"{old:,.0f} of them had waited more than 30 days")
    if before is not None:
        text += f" ({before:,.0f} a month earlier)"
    return text + ". Old work on hand tends to rise before processing times do: watch it."


def subsidy_callout_kind(position: SubsidyPosition) -> str:
    return {"full subsidy": "tip", "40% subsidy": "warning", "no subsidy": "caution"}.get(position.band or "", "note")


def subsidy_sentence(position: SubsidyPosition, name: str) -> str:
    if position.pct is None:
        return f"No expenditure figures yet this financial year for {name}."
    return (f"LA-error and administrative-delay overpayments are {position.pct:.2f}% of expenditure so far this "
            f"financial year (£{position.overpaid_la_error:,.0f} of £{position.expenditure:,.0f}). "
            f"Up to {position.lower:.2f}% attracts full subsidy, up to {position.upper:.2f}% 40%, above that none: "
            f"{name} is in the **{position.band}** band.")


def submission_table(data: ReportData, area: str) -> "pd.DataFrame":
    frame = submissions(data, area, data.period)
    return frame.rename(columns={"file_name": "File", "sequence": "Sequence", "outcome": "Outcome",
                                 "records_loaded": "Records loaded", "records_rejected": "Records rejected"})[
        ["File", "Sequence", "Outcome", "Records loaded", "Records rejected"]].astype(str).replace({"<NA>": "", "nan": ""})


REJECTIONS_SHOWN = 20  # rows of rejections a page lists; the rest is a count and a command


def _rejection_window(data: ReportData, area: str, months: int) -> tuple[str, list]:
    """The SQL condition and parameters for one council's rejections over the last ``months`` months.

    A manual return may carry several councils' rows: its rejected rows belong
    to the council and month their reference names ("S12000042 2026-10 calls_offered").
    """
    first = periods.shift(data.period, 1 - months)
    condition = ("((s.authority = ? and s.period between ? and ?) or (s.kind = 'manual' and r.level = 'record' "
                 "and split_part(r.ref, ' ', 1) = ? and split_part(r.ref, ' ', 2) between ? and ?))")
    return condition, [area, first, data.period] * 2


def _query(data: ReportData, sql: str, parameters: list) -> "pd.DataFrame":
    from perfcore import warehouse

    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        return con.execute(sql, parameters).df()
    finally:
        con.close()


def rejection_count(data: ReportData, area: str, months: int = 1) -> int:
    """How many files and records of a council were rejected over the last ``months`` months."""
    where, parameters = _rejection_window(data, area, months)
    frame = _query(data, f"select count(*) as n from rejections r join submissions s on s.id = r.submission_id where {where}",
                   parameters)
    return int(frame["n"].iloc[0])


def rejection_table(data: ReportData, area: str, months: int = 1, limit: int = REJECTIONS_SHOWN) -> "pd.DataFrame":
    """The first ``limit`` rejected files and records of a council (line and reference), last ``months`` months.

    Bounded on purpose: two extracts with 80,000 rejected records each once made
    a 40 MB page. ``rejection_reasons`` counts them all; ``rejections_more`` says how to list the rest.
    """
    where, parameters = _rejection_window(data, area, months)
    frame = _query(data, f"""
        select r.file_name as file, r.level, r.line, r.ref, r.reason
        from rejections r join submissions s on s.id = r.submission_id
        where {where} order by r.submission_id, r.line nulls first limit ?""", [*parameters, limit])
    frame["line"] = frame["line"].map(lambda x: "" if x is None or x != x else str(int(x)))
    return frame.rename(columns={"file": "File", "level": "Level", "line": "Line", "ref": "Reference", "reason": "Reason"})[
        ["File", "Level", "Line", "Reference", "Reason"]].fillna("")


def rejection_reasons(data: ReportData, area: str, months: int = 1, limit: int = REJECTIONS_SHOWN) -> "pd.DataFrame":
    """Rejections counted by file and reason (most first, at most ``limit`` rows, the rest in one row)."""
    import pandas as pd

    where, parameters = _rejection_window(data, area, months)
    frame = _query(data, f"""
        select r.file_name as file, r.reason, count(*) as n
        from rejections r join submissions s on s.id = r.submission_id
        where {where} group by all order by n desc, file, reason""", parameters)
    shown, rest = frame.iloc[:limit], frame.iloc[limit:]
    table = shown.rename(columns={"file": "File", "reason": "Reason", "n": "Rejected"})
    if len(rest):
        other = {"File": f"{rest['file'].nunique():,} file(s)", "Reason": f"{len(rest):,} other reason(s)", "Rejected": int(rest["n"].sum())}
        table = pd.concat([table, pd.DataFrame([other])], ignore_index=True)
    table["Rejected"] = table["Rejected"].astype(int)
    return table.reset_index(drop=True)


def rejections_more(data: ReportData, area: str, months: int = 1, shown: int = REJECTIONS_SHOWN) -> str | None:
    """'The first 20 of 160,000 are listed: 159,980 more ...' with the command that lists them all, or None."""
    total = rejection_count(data, area, months)
    if total <= shown:
        return None
    command = f"perfcore rejections --council {area}" + (f" --period {data.period}" if months == 1 else "")
    return (f"The first {shown} of {total:,} rejections are listed above; {total - shown:,} more are not shown here. "
            f"Run `{command}` for the full list, with every line, reference and reason.")


def data_quality_sentence(data: ReportData, area: str) -> str:
    frame = submissions(data, area, data.period)
    if frame.empty:
        return f"No files received for {periods.label(data.period)}."
    accepted = frame[frame["outcome"] == "accepted"]
    return (f"{len(frame)} file(s) received for {periods.label(data.period)}: {len(accepted)} accepted; "
            f"{rejection_count(data, area):,} record(s) or file(s) rejected. Correct a rejected record at source: it is "
            "counted again when the next extract or a resubmission (higher Sequence) includes it.")


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


def rejected_files_table(data: ReportData) -> "pd.DataFrame":
    frame = rejections(data, None, data.period)
    frame = frame[frame["level"] == "file"].copy()
    frame["Council"] = frame["authority"].map(names(data)).fillna("unknown")
    return frame.rename(columns={"file": "File", "reason": "Reason"})[["Council", "File", "Reason"]]


def rejection_counts(data: ReportData, months: int = 1) -> "pd.DataFrame":
    """Rejected records per council, month and reason over the last ``months`` months (counts, no refs)."""
    frame = rejections(data, None, None)
    first = periods.shift(data.period, 1 - months)
    frame = frame[(frame["level"] == "record") & (frame["period"] >= first) & (frame["period"] <= data.period)]
    counts = frame.assign(Council=frame["authority"].map(names(data)), Month=frame["period"].map(periods.label)) \
        .groupby(["Council", "period", "Month", "reason"]).size()
    return counts.reset_index(name="Records").sort_values(["period", "Council"]).drop(columns="period") \
        .rename(columns={"reason": "Reason"}).reset_index(drop=True)


def resubmissions(data: ReportData, months: int = 12) -> "pd.DataFrame":
    """Council-months whose extract was replaced by a higher Sequence, in the last ``months`` months."""
    from perfcore import warehouse

    first = periods.shift(data.period, 1 - months)
    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        frame = con.execute("""
            select r.authority, r.period, old.file_name as replaced, old.sequence as old_seq,
                   new.file_name as replacement, new.sequence as new_seq, new.records_loaded - old.records_loaded as change
            from replacements r
            join submissions old on old.id = r.replaced_id join submissions new on new.id = r.replaced_by_id
            where r.period between ? and ? order by r.period, r.authority
        """, [first, data.period]).df()
    finally:
        con.close()
    return frame.assign(Council=frame["authority"].map(names(data)), Month=frame["period"].map(periods.label)).rename(
        columns={"replaced": "Replaced file", "old_seq": "Old Sequence", "replacement": "Replacement",
                 "new_seq": "New Sequence", "change": "Records added"})[
        ["Council", "Month", "Replaced file", "Old Sequence", "Replacement", "New Sequence", "Records added"]]


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
        sign, other = ("at most", "above") if indicator.better == "lower" else ("at least", "below")
        t = indicator.thresholds
        lines.append(f"- **Thresholds**: Green {sign} {t.green:g}; Amber {sign} {t.amber:g}; Red {other} {t.amber:g}")
        if indicator.basis:
            lines.append(f"- **Basis**: {indicator.basis}")
    lines.append(f"- **Window**: {'financial year to date (April–March)' if indicator.window == 'fytd' else 'the month'}")
    lines.append(f"- **Source**: {indicator.source}")
    return "\n".join(lines)


def shared_figures(data: ReportData, area: str) -> dict:
    """What a council's page prints that comes from other councils' data.

    The runner hashes this into the page's fingerprint, so the page is
    re-executed when (and only when) one of these displayed values changes.
    Keep it in step with notebooks/council.ipynb.
    """
    return {
        "positions": position_table(data, area).to_dict("records"),
        "consortium_trends": {
            i: [data.framework.indicator(i).format(v) for v in series(data, CONSORTIUM, i)["value"]]
            for i in TREND_INDICATORS
        },
        "initiatives": initiative_markers(data, area),
        # an initiative is measured against peer councils: their data shows through the estimate
        "impact": _impact_digest(data, area),
    }


def _impact_digest(data: ReportData, area: str) -> list:
    if not initiative_markers(data, area):
        return []
    _, summary = initiative_results(data, area)
    return [] if summary is None else impact_table(data, summary).to_dict("records")


# -- analytics, composed for pages ---------------------------------------------------------------------

RULE_WORDS = {
    "red": "Red status",
    "spc_beyond_limits": "Beyond the process limits",
    "spc_run": "Run of 7 on one side of the mean",
    "spc_trend": "Trend of 7 rising or falling",
    "spc_two_of_three": "2 of 3 beyond two sigma",
    "forecast_breach": "Likely to go red (forecast)",
    "leading_signal": "Leading signal",
}


def analytics_settings(data: ReportData):
    from perfcore import analytics

    return analytics.load_settings(data.parameters)


def alerts(data: ReportData, area: str | None = None) -> list:
    """Alerts as at the report's month, worst first; for one area, or all (members and consortium)."""
    # the function by its module: once perfcore.analytics.alerts is imported anywhere (a test does),
    # the package attribute ``analytics.alerts`` is that submodule, not the function
    from perfcore.analytics.alerts import alerts as find_alerts

    items = find_alerts(data.table, data.framework, data.consortium.codes, data.period, analytics_settings(data))
    return [a for a in items if area is None or a.area == area]


def alert_table(data: ReportData, items: list) -> "pd.DataFrame":
    """Alerts for a page: few columns, so the evidence sentence has room in the PDF too."""
    import pandas as pd

    def short(period: str) -> str:  # "Oct 2026"
        return f"{periods.label(period)[:3]} {period[:4]}"

    def months(a) -> str:
        if not a.months:
            return ""
        first, last = short(a.months[0]), short(a.months[-1])
        return first if first == last else f"{first} to {last}"

    return pd.DataFrame([{
        "Council": data.area_name(a.area),
        "Indicator": data.framework.indicator(a.indicator).short,
        "Alert": f"{a.severity.capitalize()}: {RULE_WORDS.get(a.rule, a.rule.replace('_', ' '))}",
        "Months": months(a),
        "Evidence": a.evidence,
    } for a in items])


def alerts_sentence(data: ReportData, items: list, area_name: str) -> str:
    if not items:
        return f"No alerts for {area_name} in {periods.label(data.period)}: variation is within what the process usually shows."
    high = sum(a.severity == "high" for a in items)
    return (f"{len(items)} alert(s) for {area_name} in {periods.label(data.period)}, {high} of high severity, "
            "worst first. Each names the rule that fired, the evidence and the months involved.")


def spc_for(data: ReportData, area: str, indicator_id: str):
    """The area's SPC chart, or ``NotYet`` saying how many months it needs and has."""
    from perfcore import analytics
    from perfcore.exceptions import InsufficientData

    settings = analytics_settings(data)
    try:
        return analytics.spc_chart(data.table, data.framework, area, indicator_id, settings)
    except InsufficientData as exc:
        needs = settings.spc.min_points
        has = months_with_data(data, area, indicator_id)
        if has >= needs:  # enough months overall, but a re-based segment is short: say what analytics said
            return NotYet(f"Not enough data yet for a process control chart: {exc}.")
        return NotYet(f"Not enough data yet for a process control chart of {data.framework.indicator(indicator_id).short} "
                      f"for {data.area_name(area)}: it needs {needs} months, and there {_are_months(has)}.")


def months_with_data(data: ReportData, area: str, indicator_id: str) -> int:
    rows = data.table[(data.table["area"] == area) & (data.table["indicator"] == indicator_id)]
    return int(rows["value"].notna().sum())


def _are_months(n: int) -> str:
    return "is 1 month" if n == 1 else f"are {n} months"


def alerted_indicators(data: ReportData, items: list, limit: int = 3) -> list[tuple[str, str]]:
    """(area, indicator) of the worst alerts with an SPC chart (monthly indicators), without repeats."""
    seen: list[tuple[str, str]] = []
    for a in items:
        key = (a.area, a.indicator)
        if key not in seen and data.framework.indicator(a.indicator).window == "month" and a.rule != "leading_signal":
            seen.append(key)
    return seen[:limit]


FUNNEL_INDICATORS = ("new_claims_days", "changes_days", "new_claims_within_14_days_pct", "accuracy_pct")


FUNNEL_MIN_COUNCILS = 3  # analytics.funnel: fewer councils give no sensible limits


def funnel_for(data: ReportData, indicator_id: str):
    """The funnel plot, or ``NotYet`` when fewer than three councils have cases (a new or small consortium)."""
    from perfcore import analytics
    from perfcore.exceptions import InsufficientData

    settings = analytics_settings(data)
    try:
        return analytics.funnel(data.table, data.framework, indicator_id, data.period, settings, areas=data.consortium.codes)
    except InsufficientData:
        indicator = data.framework.indicator(indicator_id)
        months = 1 if indicator.window == "fytd" else settings.funnel.months
        window = periods.span(periods.shift(data.period, 1 - months), data.period)
        with_cases = data.table[(data.table["indicator"] == indicator_id) & data.table["period"].isin(window)
                                & data.table["area"].isin(data.consortium.codes) & data.table["value"].notna()]
        when = periods.label(window[0]) + (f" to {periods.label(window[-1])}" if len(window) > 1 else "")
        return NotYet(f"Not enough data yet for a funnel plot of {indicator.short}: it needs {FUNNEL_MIN_COUNCILS} "
                      f"councils with cases, and {with_cases['area'].nunique()} of the {len(data.consortium.codes)} "
                      f"members have them in {when}.")


def names(data: ReportData) -> dict[str, str]:
    return {c.code: c.name for c in data.consortium.members} | {CONSORTIUM: data.consortium.short_name}


def spotlight_table(data: ReportData) -> "pd.DataFrame":
    import pandas as pd

    from perfcore import analytics

    found = analytics.spotlights(data.table, data.framework, data.period, analytics_settings(data), names=names(data))
    return pd.DataFrame([{
        "Indicator": data.framework.indicator(s.indicator).short,
        "Best sustained performer": names(data).get(s.area, s.area),
        "Median": data.framework.indicator(s.indicator).format(s.median_value),
        "Months in top quarter": f"{s.top_quarter_share:.0%}",
        "Runner-up": names(data).get(s.runner_up, "") if s.runner_up else "",
    } for s in found])


def interdependence(data: ReportData):
    """(lagged correlations, strongest pairs, sentences); with too little data yet,
    (``NotYet``, no pairs, the reason as the one sentence)."""
    import pandas as pd

    from perfcore import analytics
    from perfcore.analytics.interdependence import COLUMNS
    from perfcore.exceptions import InsufficientData

    settings = analytics_settings(data)
    try:
        correlations = analytics.lagged_correlations(data.table, settings, period=data.period)
    except InsufficientData:
        reason = ("Not enough data yet to see how indicators move together: it needs at least two indicators "
                  "with figures over several months.")
        return NotYet(reason), pd.DataFrame(columns=COLUMNS), [reason]
    pairs = analytics.strongest_pairs(correlations, 5)
    return correlations, pairs, analytics.describe_pairs(pairs, data.framework, settings)


def pairs_table(data: ReportData, pairs: "pd.DataFrame") -> "pd.DataFrame":
    import pandas as pd

    short = {i.id: i.short for i in data.framework.indicators}
    return pd.DataFrame({
        "This month": pairs["leader"].map(short),
        "Later": pairs["follower"].map(short),
        "Months later": pairs["lag"].astype(int).astype(str),
        "r": pairs["r"].map(lambda r: f"{r:+.2f}"),
        "95% CI": [f"{lo:+.2f} to {hi:+.2f}" for lo, hi in zip(pairs["ci_low"], pairs["ci_high"])],
        "Council-months": pairs["council_months"].astype(int).astype(str),
        "Adjusted p": pairs["p_adjusted"].map(lambda p: "<0.001" if p < 0.001 else f"{p:.3f}"),
    })


def initiative_results(data: ReportData, area: str | None = None):
    """(results, summary frame) for every initiative, or one council's; refusals are in the summary."""
    from perfcore import analytics

    settings = analytics_settings(data)
    found = analytics.load_initiatives(data.parameters, data.framework)
    chosen = [i for i in found if area is None or i.council == area]
    if not chosen:
        return [], None
    return analytics.assess_initiatives(data.table, data.framework, chosen, settings=settings,
                                        peer_codes=data.consortium.codes, period=data.period)


def impact_table(data: ReportData, summary: "pd.DataFrame") -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for _, r in summary.iterrows():
        indicator = data.framework.indicator(r["indicator"])
        effect = r.get("effect")
        has = effect == effect and effect is not None
        rows.append({
            "Council": names(data).get(r["area"], r["area"]),
            "Indicator": indicator.short,
            "Start": periods.label(r["start"]),
            "Method": r.get("method") or "",
            "Effect": f"{effect:+.2f}" if has else "",
            "95% CI": f"{r['ci_low']:+.2f} to {r['ci_high']:+.2f}" if has else "",
            "Verdict": r.get("verdict") or r.get("reason") or "",
        })
    return pd.DataFrame(rows)


def peer_average(data: ReportData, area: str, indicator_id: str, peers: tuple[str, ...]) -> "pd.DataFrame":
    """The pooled figure of the peer councils per month (Σ numerators ÷ Σ denominators)."""
    import pandas as pd

    from perfcore import analytics

    values = analytics.group_figures(data.table, data.framework, peers, indicator_id)
    frame = pd.DataFrame({"period": data.periods})
    return frame.merge(pd.DataFrame({"period": values.index, "value": values.values}), on="period", how="left")


def short_names(data: ReportData) -> dict[str, str]:
    return {i.id: i.short for i in data.framework.indicators}


def correlation_matrix(correlations: "pd.DataFrame | NotYet", lag: int) -> "pd.DataFrame | NotYet":
    from perfcore import analytics

    if isinstance(correlations, NotYet):
        return correlations
    return analytics.correlation_matrix(correlations, lag=lag)


def initiative_title(data: ReportData, initiative_id: str) -> str:
    from perfcore import analytics

    found = {i.id: i.title for i in analytics.load_initiatives(data.parameters, data.framework)}
    return found.get(initiative_id, initiative_id)
