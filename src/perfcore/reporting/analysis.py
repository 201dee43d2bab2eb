"""``perfcore.analytics`` composed for pages: the library's results, or ``NotYet`` saying why not.

Pages never compute a statistic of their own: ranks, quartiles, control
charts, alerts, funnels, spotlights, correlations and initiative estimates all
come from ``perfcore.analytics`` with the settings in ``thresholds.yaml``. This
module adds only what a page needs around them: a reason in words when there
is too little data, and the page's choice of what to show.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.reporting.data import NotYet, ReportData, memoised, months_with_data
from perfcore.reporting.wording import months_count

if TYPE_CHECKING:
    import pandas as pd

FUNNEL_INDICATORS = ("new_claims_days", "changes_days", "new_claims_within_14_days_pct", "accuracy_pct")
FUNNEL_MIN_COUNCILS = 3  # analytics.funnel: fewer councils give no sensible limits


def analytics_settings(data: ReportData):
    """thresholds.yaml's analytics settings: read once per parameters stamp in a process (a history's landing
    stories and plan ask for them hundreds of times; ``data.stamp`` changes when any parameters file does)."""
    from perfcore import analytics

    if not data.stamp:
        return analytics.load_settings(data.parameters)
    return _settings(data.parameters, data.stamp)


@functools.lru_cache(maxsize=2)
def _settings(parameters: Path, stamp: str):
    from perfcore import analytics

    return analytics.load_settings(parameters)


def ranks(data: ReportData, indicator_ids: list[str] | None = None, period: str | None = None) -> pd.DataFrame:
    """The library's ranks and quartiles of the members (``analytics.ranks``): what every page prints."""
    return _ranks(data, tuple(indicator_ids) if indicator_ids is not None else None, period or data.period)


@memoised
def _ranks(data: ReportData, indicator_ids: tuple[str, ...] | None, period: str) -> pd.DataFrame:
    from perfcore import analytics

    ids = list(indicator_ids) if indicator_ids is not None else None
    return analytics.ranks(data.table, data.framework, period, areas=data.consortium.codes, indicators=ids)


def alerts(data: ReportData, area: str | None = None) -> list:
    """Alerts as at the report's month, worst first; for one area, or all (members and consortium)."""
    return [a for a in _all_alerts(data) if area is None or a.area == area]


@memoised
def _all_alerts(data: ReportData) -> tuple:
    """Every area's alerts: computed once per month in a build's kernel, whichever page asks first."""
    from perfcore.analytics.alerts import alerts as find_alerts

    # the function by its module: once perfcore.analytics.alerts is imported anywhere (a test does),
    # the package attribute ``analytics.alerts`` is that submodule, not the function
    return tuple(find_alerts(data.table, data.framework, data.consortium.codes, data.period, analytics_settings(data)))


def alert_rules_sentence(data: ReportData) -> str:
    """What fires an alert, with the lengths and horizon thresholds.yaml sets."""
    from perfcore import analytics

    settings = analytics_settings(data)
    horizon = {1: "one month", 2: "two months", 3: "three months"}.get(
        settings.forecast.horizon, f"{settings.forecast.horizon} months"
    )
    return (
        f"Process control charts follow the NHS *Making Data Count* rules: {analytics.rules_phrase(settings.spc)}. "
        f"A forecast alert gives the chance of a red month within {horizon}; "
        "a leading signal is old work on hand rising before processing times do."
    )


def alerted_indicators(data: ReportData, items: list, limit: int = 3) -> list[tuple[str, str]]:
    """(area, indicator) of the worst alerts with an SPC chart (monthly indicators), without repeats."""
    seen: list[tuple[str, str]] = []
    for a in items:
        key = (a.area, a.indicator)
        if key not in seen and data.framework.indicator(a.indicator).window == "month" and a.rule != "leading_signal":
            seen.append(key)
    return seen[:limit]


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
        return NotYet(
            f"Not enough data yet for a process control chart of {data.framework.indicator(indicator_id).short} "
            f"for {data.area_name(area)}: it needs {needs} months, and there {months_count(has)}."
        )


def funnel_for(data: ReportData, indicator_id: str):
    """The funnel plot, or ``NotYet`` when fewer than three councils have cases (a new or small consortium)."""
    from perfcore import analytics
    from perfcore.exceptions import InsufficientData

    settings = analytics_settings(data)
    try:
        return analytics.funnel(
            data.table, data.framework, indicator_id, data.period, settings, areas=data.consortium.codes
        )
    except InsufficientData:
        indicator = data.framework.indicator(indicator_id)
        months = 1 if indicator.window == "fytd" else settings.funnel.months
        window = periods.span(periods.shift(data.period, 1 - months), data.period)
        with_cases = data.table[
            (data.table["indicator"] == indicator_id)
            & data.table["period"].isin(window)
            & data.table["area"].isin(data.consortium.codes)
            & data.table["value"].notna()
        ]
        when = periods.label(window[0]) + (f" to {periods.label(window[-1])}" if len(window) > 1 else "")
        return NotYet(
            f"Not enough data yet for a funnel plot of {indicator.short}: it needs {FUNNEL_MIN_COUNCILS} "
            f"councils with cases, and {with_cases['area'].nunique()} of the {len(data.consortium.codes)} "
            f"members have them in {when}."
        )


def spotlights(data: ReportData) -> list:
    from perfcore import analytics
    from perfcore.reporting.data import names

    return analytics.spotlights(data.table, data.framework, data.period, analytics_settings(data), names=names(data))


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
        reason = (
            "Not enough data yet to see how indicators move together: it needs at least two indicators "
            "with figures over several months."
        )
        return NotYet(reason), pd.DataFrame(columns=COLUMNS), [reason]
    pairs = analytics.strongest_pairs(correlations, 5)
    return correlations, pairs, analytics.describe_pairs(pairs, data.framework, settings)


def correlation_matrix(correlations: pd.DataFrame | NotYet, lag: int) -> pd.DataFrame | NotYet:
    from perfcore import analytics

    if isinstance(correlations, NotYet):
        return correlations
    return analytics.correlation_matrix(correlations, lag=lag)


def initiative_results(data: ReportData, area: str | None = None):
    """(results, summary frame) for every initiative, or one council's; refusals are in the summary."""
    results, summary = _initiative_results(data, area)
    return list(results), (summary.copy(deep=False) if summary is not None else None)


@memoised
def _initiative_results(data: ReportData, area: str | None):
    from perfcore import analytics

    settings = analytics_settings(data)
    found = analytics.load_initiatives(data.parameters, data.framework)
    chosen = [i for i in found if area is None or i.council == area]
    if not chosen:
        return (), None
    results, summary = analytics.assess_initiatives(
        data.table, data.framework, chosen, settings=settings, peer_codes=data.consortium.codes, period=data.period
    )
    return tuple(results), summary


def initiative_markers(data: ReportData, area: str) -> list[tuple[str, str]]:
    """(start month, label) of the council's initiatives, for marking charts."""
    from perfcore import analytics

    return [
        (i.start, "Initiative starts")
        for i in analytics.load_initiatives(data.parameters, data.framework)
        if i.council == area
    ]


def initiative_title(data: ReportData, initiative_id: str) -> str:
    from perfcore import analytics

    found = {i.id: i.title for i in analytics.load_initiatives(data.parameters, data.framework)}
    return found.get(initiative_id, initiative_id)


def peer_average(data: ReportData, area: str, indicator_id: str, peers: tuple[str, ...]) -> pd.DataFrame:
    """The pooled figure of the peer councils per month (Σ numerators ÷ Σ denominators)."""
    import pandas as pd

    from perfcore import analytics

    values = analytics.group_figures(data.table, data.framework, peers, indicator_id)
    frame = pd.DataFrame({"period": data.periods})
    return frame.merge(pd.DataFrame({"period": values.index, "value": values.values}), on="period", how="left")
