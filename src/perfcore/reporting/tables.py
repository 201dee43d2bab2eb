"""The tables pages show, as small DataFrames of formatted text ready for ``display.table``.

Ranks and quartiles are the library's (``analytics.ranks`` through
``reporting.analysis.ranks``): a page never ranks on its own. Column names are
what the reader sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.config.parameters import CONSORTIUM, Indicator
from perfcore.reporting import analysis, wording
from perfcore.reporting.data import (
    ReportData,
    clean,
    current_returns,
    memoised,
    names,
    query,
    rejection_window,
    rejections,
    replacements,
    submissions,
    value,
    work_on_hand_items,
)

if TYPE_CHECKING:
    import pandas as pd

REJECTIONS_SHOWN = 20  # rows of rejections a page lists; the rest is a count and a command


def is_ranked(indicator: Indicator) -> bool:
    """Members are ranked on rates and averages only: raw counts mostly measure size (``analytics.is_comparable``)."""
    from perfcore import analytics

    return analytics.is_comparable(indicator)


# -- benchmarks: league, positions -------------------------------------------------------------------


def league(data: ReportData, indicator_id: str, period: str | None = None) -> pd.DataFrame:
    """Every member's value with the library's rank (1 = best) and quartile (1 = best quarter).

    Context measures (no better direction) are listed by size, without rank.
    Members without a value are listed last, unranked.
    """
    import pandas as pd

    indicator = data.framework.indicator(indicator_id)
    period = period or data.period
    rows = data.table[
        (data.table["indicator"] == indicator_id)
        & (data.table["period"] == period)
        & (data.table["area"] != CONSORTIUM)
    ].set_index("area")["value"]
    frame = pd.DataFrame(
        {
            "code": list(data.consortium.codes),
            "council": [c.name for c in data.consortium.members],
            "value": [rows.get(code, float("nan")) for code in data.consortium.codes],
        }
    )
    if is_ranked(indicator):
        ranked = analysis.ranks(data, [indicator_id], period).set_index("area")
        frame["rank"] = frame["code"].map(ranked["rank"]).astype(float)
        frame["quartile"] = frame["code"].map(ranked["quartile"]).astype(float)
        frame = frame.sort_values(["rank", "council"], na_position="last")
    else:
        frame["rank"] = float("nan")
        frame["quartile"] = float("nan")
        frame = frame.sort_values("value", ascending=False, na_position="last")
    frame["rag"] = [indicator.rag(clean(v)) for v in frame["value"]]
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Position:
    indicator: Indicator
    value: float | None
    rank: int | None
    of: int
    quartile: int | None
    consortium: float | None


def positions(data: ReportData, area: str) -> list[Position]:
    """Where a council stands on every ranked indicator: the library's rank and quartile."""
    places = _places(data)
    out = []
    for indicator in data.framework.indicators:
        if not is_ranked(indicator):
            continue
        ranked, of = places.get(indicator.id, ({}, 0))
        rank, quartile = ranked.get(area, (None, None))
        out.append(
            Position(
                indicator, value(data, area, indicator.id), rank, of, quartile, value(data, CONSORTIUM, indicator.id)
            )
        )
    return out


@memoised
def _places(data: ReportData) -> dict[str, tuple[dict[str, tuple[int, int | None]], int]]:
    """{indicator: ({area: (rank, quartile)}, councils ranked)} for the month: once for every council's page."""
    import pandas as pd

    out: dict[str, tuple[dict[str, tuple[int, int | None]], int]] = {}
    for indicator_id, rows in analysis.ranks(data).groupby("indicator", sort=False):
        out[indicator_id] = (
            {
                area: (int(rank), int(quartile) if pd.notna(quartile) else None)
                for area, rank, quartile in zip(rows["area"], rows["rank"], rows["quartile"], strict=True)
            },
            len(rows),
        )
    return out


def position_table(places: Sequence[Position]) -> pd.DataFrame:
    """Rank, quartile and consortium figure per indicator, formatted for a page."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "Indicator": p.indicator.short,
                "This council": p.indicator.format(p.value),
                "Status": (p.indicator.rag(p.value) or "").capitalize() or "No target",
                "Rank": wording.rank_text(p.rank, p.of),
                "Quartile": wording.quartile_text(p.quartile),
                "Consortium": p.indicator.format(p.consortium),
            }
            for p in places
        ]
    )


def benchmark_table(data: ReportData, indicator_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every member side by side (rows) for every indicator (columns), best marked with ★."""
    import pandas as pd

    indicators = (
        [data.framework.indicator(i) for i in indicator_ids] if indicator_ids else list(data.framework.indicators)
    )
    table = pd.DataFrame({"Council": [c.name for c in data.consortium.members] + [data.consortium.short_name]})
    for indicator in indicators:
        league_frame = league(data, indicator.id).set_index("code")
        best = league_frame.index[0] if is_ranked(indicator) and league_frame["rank"].notna().any() else None
        cells = []
        for council in data.consortium.members:
            v = clean(league_frame.loc[council.code, "value"])
            text = indicator.format(v)
            rag = indicator.rag(v)
            if rag:
                text += f" {rag[0].upper()}"
            cells.append(("★ " if council.code == best else "") + text)
        cells.append(indicator.format(value(data, CONSORTIUM, indicator.id)))
        table[indicator.short] = cells
    return table


def best_performers(data: ReportData) -> pd.DataFrame:
    """The best member this month per ranked indicator: the practice to learn from."""
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
        rows.append(
            {
                "Indicator": indicator.short,
                "Best this month": top["council"],
                "Value": indicator.format(top["value"]),
                "Consortium": indicator.format(value(data, CONSORTIUM, indicator.id)),
            }
        )
    return pd.DataFrame(rows)


# -- what these tables' CSVs hold: tidy and unrounded (``downloads.indicator_rows``) -------------------


def _with_status(data: ReportData, frame: pd.DataFrame) -> pd.DataFrame:
    """The RAG status a page prints beside a figure, as a word (empty where there is no target)."""
    statuses = [data.framework.indicator(i).rag(clean(v)) or "" for i, v in zip(frame["indicator"], frame["value"])]
    return frame.assign(status=statuses)


def benchmark_data(data: ReportData, indicator_ids: tuple[str, ...] | None = None) -> pd.DataFrame:
    """What ``benchmark_table`` shows, one row per area and indicator, unrounded, with rank and status."""
    from perfcore.reporting.downloads import indicator_rows

    frame = _with_status(data, indicator_rows(data, indicator_ids=indicator_ids))
    places = _places(data)
    frame["rank"] = [
        places.get(i, ({}, 0))[0].get(a, (None, None))[0] for a, i in zip(frame["area"], frame["indicator"])
    ]
    return frame.astype({"rank": "Int64"})


def best_performers_data(data: ReportData) -> pd.DataFrame:
    """What ``best_performers`` shows: the best member's row per ranked indicator, then the consortium's."""
    import pandas as pd

    from perfcore.reporting.downloads import indicator_rows

    parts = []
    for indicator in data.framework.indicators:
        if not is_ranked(indicator):
            continue
        ranked = league(data, indicator.id).dropna(subset=["rank"])
        if not ranked.empty:
            parts.append(indicator_rows(data, areas=[ranked.iloc[0]["code"], CONSORTIUM], indicator_ids=[indicator.id]))
    return _with_status(data, pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()


def position_data(data: ReportData, area: str, places: Sequence[Position]) -> pd.DataFrame:
    """What ``position_table`` shows for ``area``: its figure, status, rank of how many, quartile, and
    the consortium's figure, unrounded."""
    from perfcore.reporting.downloads import indicator_rows

    by_id = {p.indicator.id: p for p in places}
    frame = _with_status(data, indicator_rows(data, areas=[area], indicator_ids=list(by_id)))
    frame["rank"] = [by_id[i].rank for i in frame["indicator"]]
    frame["ranked_councils"] = [by_id[i].of for i in frame["indicator"]]
    frame["quartile"] = [by_id[i].quartile for i in frame["indicator"]]
    frame["consortium_value"] = [by_id[i].consortium for i in frame["indicator"]]
    return frame.astype({"rank": "Int64", "quartile": "Int64"})


# -- the framework -------------------------------------------------------------------------------------


def framework_table(data: ReportData) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for i in data.framework.indicators:
        if i.thresholds:
            sign = wording.threshold_words(i).symbol
            green, amber = f"{sign} {i.thresholds.green:g}", f"{sign} {i.thresholds.amber:g}"
        else:
            green = amber = "—"
        rows.append(
            {
                "Id": i.id,
                "Indicator": i.name,
                "Unit": i.unit,
                "Better": i.better or "—",
                "Green": green,
                "Amber": amber,
                "Window": wording.window_words(i),
            }
        )
    return pd.DataFrame(rows)


def indicator_groups(data: ReportData) -> list[tuple[str, tuple[str, ...]]]:
    """The framework's groups in order, each with its indicator ids (tables that fit a page)."""
    groups: dict[str, list[str]] = {}
    for indicator in data.framework.indicators:
        groups.setdefault(indicator.group or "Other", []).append(indicator.id)
    return [(name, tuple(ids)) for name, ids in groups.items()]


# -- work on hand, returns, rejections ---------------------------------------------------------------


def work_on_hand_age(data: ReportData, area: str) -> pd.DataFrame:
    """Work on hand at month end by kind and age band (days from received to month end)."""
    frame = work_on_hand_items(data, area, wording.AGE_BANDS)
    order = [label for *_, label in wording.AGE_BANDS]
    pivot = frame.pivot_table(index="age_band", columns="kind", values="items", fill_value=0, aggfunc="sum")
    pivot = pivot.reindex(order, fill_value=0).reset_index().rename(columns={"age_band": "Age"})
    pivot.columns.name = None
    return pivot.rename(columns={"new-claim": "New claims", "change": "Changes"})


def returns_status(data: ReportData, period: str | None = None) -> pd.DataFrame:
    """Per member for one month: extract received (which Sequence, when), manual measures missing."""
    import pandas as pd

    from perfcore.intake.manual import MEASURES

    extracts, manual = current_returns(data, period or data.period)
    rows = []
    for council in data.consortium.members:
        has_extract = council.code in extracts.index
        sent = set(manual.loc[council.code, "measures"]) if council.code in manual.index else set()
        missing = [m for m in MEASURES if m not in sent]
        rows.append(
            {
                "Council": council.name,
                "Extract": "received" if has_extract else "MISSING",
                "Sequence": int(extracts.loc[council.code, "sequence"]) if has_extract else None,
                "Received": (str(extracts.loc[council.code, "received_at"])[:16] if has_extract else ""),
                "Records rejected": int(extracts.loc[council.code, "records_rejected"]) if has_extract else None,
                "Manual return": "complete"
                if not missing
                else ("MISSING" if len(missing) == len(MEASURES) else "partial"),
                "Measures missing": ", ".join(missing),
            }
        )
    return pd.DataFrame(rows)


def submission_table(data: ReportData, area: str) -> pd.DataFrame:
    frame = submissions(data, area, data.period)
    return (
        frame.rename(
            columns={
                "file_name": "File",
                "sequence": "Sequence",
                "outcome": "Outcome",
                "records_loaded": "Records loaded",
                "records_rejected": "Records rejected",
            }
        )[["File", "Sequence", "Outcome", "Records loaded", "Records rejected"]]
        .astype(str)
        .replace({"<NA>": "", "nan": ""})
    )


def rejection_table(data: ReportData, area: str, months: int = 1, limit: int = REJECTIONS_SHOWN) -> pd.DataFrame:
    """The first ``limit`` rejected files and records of a council (line and reference), last ``months`` months.

    Bounded on purpose: two extracts with 80,000 rejected records each once made
    a 40 MB page. ``rejection_reasons`` counts them all; ``rejections_more`` says how to list the rest.
    """
    where, parameters = rejection_window(data, area, months)
    frame = query(
        data,
        f"""
        select r.file_name as file, r.level, r.line, r.ref, r.reason
        from rejections r join submissions s on s.id = r.submission_id
        where {where} order by r.submission_id, r.line nulls first limit ?""",
        [*parameters, limit],
    )
    frame["line"] = frame["line"].map(lambda x: "" if x is None or x != x else str(int(x)))
    return frame.rename(
        columns={"file": "File", "level": "Level", "line": "Line", "ref": "Reference", "reason": "Reason"}
    )[["File", "Level", "Line", "Reference", "Reason"]].fillna("")


def rejection_reasons(data: ReportData, area: str, months: int = 1, limit: int = REJECTIONS_SHOWN) -> pd.DataFrame:
    """Rejections counted by file and reason (most first, at most ``limit`` rows, the rest in one row)."""
    import pandas as pd

    where, parameters = rejection_window(data, area, months)
    frame = query(
        data,
        f"""
        select r.file_name as file, r.reason, count(*) as n
        from rejections r join submissions s on s.id = r.submission_id
        where {where} group by all order by n desc, file, reason""",
        parameters,
    )
    shown, rest = frame.iloc[:limit], frame.iloc[limit:]
    table = shown.rename(columns={"file": "File", "reason": "Reason", "n": "Rejected"})
    if len(rest):
        other = {
            "File": f"{rest['file'].nunique():,} file(s)",
            "Reason": f"{len(rest):,} other reason(s)",
            "Rejected": int(rest["n"].sum()),
        }
        table = pd.concat([table, pd.DataFrame([other])], ignore_index=True)
    table["Rejected"] = table["Rejected"].astype(int)
    return table.reset_index(drop=True)


def rejected_files_table(data: ReportData) -> pd.DataFrame:
    frame = rejections(data, None, data.period)
    frame = frame[frame["level"] == "file"].copy()
    frame["Council"] = frame["authority"].map(names(data)).fillna("unknown")
    return frame.rename(columns={"file": "File", "reason": "Reason"})[["Council", "File", "Reason"]]


def rejection_counts(data: ReportData, months: int = 1) -> pd.DataFrame:
    """Rejected records per council, month and reason over the last ``months`` months (counts, no refs)."""
    frame = rejections(data, None, None)
    first = periods.shift(data.period, 1 - months)
    frame = frame[(frame["level"] == "record") & (frame["period"] >= first) & (frame["period"] <= data.period)]
    counts = (
        frame.assign(Council=frame["authority"].map(names(data)), Month=frame["period"].map(periods.label))
        .groupby(["Council", "period", "Month", "reason"])
        .size()
    )
    return (
        counts.reset_index(name="Records")
        .sort_values(["period", "Council"])
        .drop(columns="period")
        .rename(columns={"reason": "Reason"})
        .reset_index(drop=True)
    )


def resubmissions(data: ReportData, months: int = 12) -> pd.DataFrame:
    """Council-months whose extract was replaced by a higher Sequence, in the last ``months`` months."""
    frame = replacements(data, periods.shift(data.period, 1 - months), data.period)
    return frame.assign(Council=frame["authority"].map(names(data)), Month=frame["period"].map(periods.label)).rename(
        columns={
            "replaced": "Replaced file",
            "old_seq": "Old Sequence",
            "replacement": "Replacement",
            "new_seq": "New Sequence",
            "change": "Records added",
        }
    )[["Council", "Month", "Replaced file", "Old Sequence", "Replacement", "New Sequence", "Records added"]]


# -- analytics, as tables ---------------------------------------------------------------------------------


def alert_table(data: ReportData, items: list) -> pd.DataFrame:
    """Alerts for a page: few columns, so the evidence sentence has room in the PDF too."""
    import pandas as pd

    from perfcore import analytics

    settings = analysis.analytics_settings(data)
    return pd.DataFrame(
        [
            {
                "Council": data.area_name(a.area),
                "Indicator": data.framework.indicator(a.indicator).short,
                "Alert": f"{a.severity.capitalize()}: {analytics.rule_title(a.rule, settings)}",
                "Months": wording.month_span(a.months[0], a.months[-1]) if a.months else "",
                "Evidence": a.evidence,
            }
            for a in items
        ]
    )


def spotlight_table(data: ReportData) -> pd.DataFrame:
    import pandas as pd

    who = names(data)
    return pd.DataFrame(
        [
            {
                "Indicator": data.framework.indicator(s.indicator).short,
                "Best sustained performer": who.get(s.area, s.area),
                "Median": data.framework.indicator(s.indicator).format(s.median_value),
                "Months in top quarter": f"{s.top_quarter_share:.0%}",
                "Runner-up": who.get(s.runner_up, "") if s.runner_up else "",
            }
            for s in analysis.spotlights(data)
        ]
    )


def pairs_table(data: ReportData, pairs: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    short = {i.id: i.short for i in data.framework.indicators}
    return pd.DataFrame(
        {
            "This month": pairs["leader"].map(short),
            "Later": pairs["follower"].map(short),
            "Months later": pairs["lag"].astype(int).astype(str),
            "r": pairs["r"].map(lambda r: f"{r:+.2f}"),
            "95% CI": [f"{lo:+.2f} to {hi:+.2f}" for lo, hi in zip(pairs["ci_low"], pairs["ci_high"])],
            "Council-months": pairs["council_months"].astype(int).astype(str),
            "Adjusted p": pairs["p_adjusted"].map(lambda p: "<0.001" if p < 0.001 else f"{p:.3f}"),
        }
    )


def impact_table(data: ReportData, summary: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    who = names(data)
    rows = []
    for _, r in summary.iterrows():
        indicator = data.framework.indicator(r["indicator"])
        effect = r.get("effect")
        has = effect == effect and effect is not None
        rows.append(
            {
                "Council": who.get(r["area"], r["area"]),
                "Indicator": indicator.short,
                "Start": periods.label(r["start"]),
                "Method": r.get("method") or "",
                "Effect": f"{effect:+.2f}" if has else "",
                "95% CI": f"{r['ci_low']:+.2f} to {r['ci_high']:+.2f}" if has else "",
                "Verdict": r.get("verdict") or r.get("reason") or "",
            }
        )
    return pd.DataFrame(rows)
