"""Alerts: what needs attention now, worst first (``perfcore alerts``).

An alert is raised, as at a month P (default the latest in the table), for:

- ``red``: the indicator is red in P (months: the unbroken red stretch up to P);
- ``spc_beyond_limits``, ``spc_run``, ``spc_trend``, ``spc_two_of_three``: a
  *concerning* special cause on the XmR chart (see :mod:`.spc`) that touches
  one of the last ``alerts.recent_months`` months; older ones are history.
  One alert per council and indicator, named by the most telling rule
  (beyond the limits, then 2 of 3, trend, run); the others are in its evidence.
  ``started`` is the pattern's first month; the evidence also says since when
  the points have been on that side of the mean. FYTD indicators have no
  chart (they accumulate through the year) and so only red alerts;
- ``forecast_breach`` (monthly indicators): not red in P, but the recent trend gives at least
  ``alerts.forecast_probability`` chance of a red month within the horizon;
- ``leading_signal``: the leading measure has been worsening while the
  lagging one is not yet red (see :mod:`.forecast`).

Severity per rule comes from ``thresholds.yaml`` (``alerts.severity``).
Alerts are sorted worst first: by severity, then by the size of the deviation
(in sigmas: how far beyond the limit or mean for SPC and red alerts, the normal
quantile of the breach probability for forecasts), then by area and indicator.

``rule_title`` names each rule for readers (the pages' alert tables); the
special-cause rules' words live with the rules in :mod:`.spc`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from perfcore import periods
from perfcore.analytics import _table
from perfcore.analytics.forecast import BreachForecast, LeadingSignal, breach_forecasts, leading_signals
from perfcore.analytics.spc import SpcChart, SpecialCause, rule_counted, spc_charts
from perfcore.analytics.spc import rule_title as spc_rule_title
from perfcore.config.thresholds import AnalyticsSettings, resolve_settings

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
FIELDS = ["area", "indicator", "rule", "severity", "evidence", "months", "started", "deviation"]
# The alert rules that are not special causes, as readers see them named.
_RULE_TITLES = {
    "red": "Red status",
    "forecast_breach": "Likely to go red (forecast)",
    "leading_signal": "Leading signal",
}


@dataclass(frozen=True)
class Alert:
    area: str  # GSS code, or 'consortium'
    indicator: str
    rule: str  # red | spc_beyond_limits | spc_run | spc_trend | spc_two_of_three | forecast_breach | leading_signal
    severity: str  # high | medium | low
    evidence: str  # one sentence with the figures
    months: tuple[str, ...]  # the months involved (for a forecast: the months ahead)
    started: str  # when the problem began, 'YYYY-MM'
    deviation: float  # size, in sigmas (see the module docstring); orders alerts of equal severity

    def to_dict(self) -> dict:
        """JSON-ready: months as a list, deviation rounded."""
        out = asdict(self)
        out["months"] = list(self.months)
        out["deviation"] = round(self.deviation, 2) if np.isfinite(self.deviation) else None
        return out


def alerts(
    table: pd.DataFrame,
    framework,
    consortium_codes: Sequence[str] | None = None,
    period: str | None = None,
    settings: AnalyticsSettings | None = None,
    *,
    include_consortium: bool = True,
) -> list[Alert]:
    """Every alert as at ``period`` for the councils ``consortium_codes`` (default: all in the table), worst first.

    ``table``: the long indicator table (``perfcore.warehouse.indicators.indicator_table``);
    ``framework``: the :class:`~perfcore.config.parameters.Framework`; ``settings``:
    :func:`~perfcore.config.thresholds.load_settings` (default: the project's
    ``thresholds.yaml``). The pooled 'consortium' rows are assessed too unless
    ``include_consortium`` is False.
    """
    settings = resolve_settings(settings)
    table = _table.up_to(_table.check(table), period)
    period = period or _table.latest_period(table)
    areas = [*_table.councils(table, consortium_codes), *([_table.CONSORTIUM] if include_consortium else [])]
    charts = {(c.area, c.indicator): c for c in spc_charts(table, framework, settings, areas=areas)}
    series = _table.all_series(table)
    found = [
        *_red_alerts(series, framework, areas, period, charts, settings),
        *_spc_alerts(charts.values(), framework, period, settings),
        *_forecast_alerts(table, series, framework, areas, period, settings),
        *_leading_alerts(table, framework, areas, period, charts, settings),
    ]
    return sorted(found, key=lambda a: (SEVERITY_RANK[a.severity], -a.deviation, a.area, a.indicator, a.rule))


def rule_title(rule: str, settings: AnalyticsSettings | None = None) -> str:
    """How a page names an alert's rule: 'Red status', 'Run of 7 on one side of the mean', ..."""
    if rule.startswith("spc_"):
        return spc_rule_title(rule.removeprefix("spc_"), resolve_settings(settings).spc)
    return _RULE_TITLES.get(rule, rule.replace("_", " "))


def _alert(
    rule: str,
    area: str,
    indicator: str,
    evidence: str,
    months: Sequence[str],
    started: str,
    deviation: float,
    settings: AnalyticsSettings,
) -> Alert:
    return Alert(
        area=area,
        indicator=indicator,
        rule=rule,
        severity=settings.alerts.severity_of(rule),
        evidence=evidence,
        months=tuple(months),
        started=started,
        deviation=float(deviation),
    )


# --------------------------------------------------------------------------- red


def _red_alerts(all_series, framework, areas, period, charts, settings) -> list[Alert]:
    out = []
    for definition in framework.indicators:
        if definition.thresholds is None:
            continue
        for area in areas:
            series = all_series.get((area, definition.id))
            if series is None or period not in series.index or definition.rag(series[period]) != "red":
                continue
            months = _red_stretch(series, definition, period)
            value, bound = float(series[period]), definition.thresholds.amber
            chart = charts.get((area, definition.id))
            sigma = (
                chart.latest.sigma
                if chart and chart.latest.sigma > 0
                else abs(definition.thresholds.amber - definition.thresholds.green) or 1.0
            )
            stretch = f"; red for {len(months)} months since {periods.label(months[0])}" if len(months) > 1 else ""
            evidence = (
                f"{definition.short} was {definition.format(value)} in {periods.label(period)}, "
                f"red (worse than {definition.format(bound)}){stretch}."
            )
            out.append(
                _alert("red", area, definition.id, evidence, months, months[0], abs(value - bound) / sigma, settings)
            )
    return out


def _red_stretch(series: pd.Series, definition, period: str) -> list[str]:
    """The unbroken run of red calendar months ending at ``period``."""
    months = [period]
    while True:
        before = periods.shift(months[0], -1)
        if before not in series.index or definition.rag(series[before]) != "red":
            return months
        months.insert(0, before)


# --------------------------------------------------------------------------- SPC

# Which rule names an alert when several fire on one series: the most telling first.
_SPC_PRIORITY = ("beyond_limits", "two_of_three", "trend", "run")


def _spc_alerts(charts: Iterable[SpcChart], framework, period: str, settings: AnalyticsSettings) -> list[Alert]:
    """One alert per chart with recent concerning special causes, named by the most telling rule."""
    recent = periods.shift(period, -(settings.alerts.recent_months - 1))
    out = []
    for chart in charts:
        latest_by_rule: dict[str, SpecialCause] = {}
        for cause in chart.special_causes:
            if cause.nature == "concerning" and cause.last >= recent:
                latest_by_rule[cause.rule] = cause  # causes are in time order: keep the latest
        if not latest_by_rule:
            continue
        ordered = sorted(
            latest_by_rule.values(),
            key=lambda c: (SEVERITY_RANK[settings.alerts.severity_of(f"spc_{c.rule}")], _SPC_PRIORITY.index(c.rule)),
        )
        main, others = ordered[0], ordered[1:]
        definition = framework.indicator(chart.indicator)
        evidence = _spc_evidence(definition, chart, main) + _also(definition, others)
        out.append(
            _alert(
                f"spc_{main.rule}",
                chart.area,
                chart.indicator,
                evidence,
                main.periods,
                main.started,
                max(c.deviation for c in ordered),
                settings,
            )
        )
    return out


def _spc_evidence(definition, chart: SpcChart, cause: SpecialCause) -> str:
    value = dict(zip(chart.periods, chart.values))
    fmt, label = definition.format, periods.label
    side = "above" if cause.direction == "up" else "below"
    count, first, last = len(cause.periods), cause.periods[0], cause.last
    if cause.rule == "beyond_limits":
        limit = "upper" if cause.direction == "up" else "lower"
        span = f"{count} months beyond it since {label(first)}" if count > 1 else "the first month beyond it"
        if cause.side_since < first:
            span += f"; {side} the mean since {label(cause.side_since)}"
        return (
            f"{definition.short} was {fmt(value[last])} in {label(last)}, "
            f"{side} the {limit} process limit of {fmt(cause.limit)} "
            f"(mean {fmt(cause.mean)}; {span})."
        )
    if cause.rule == "run":
        return (
            f"{definition.short} has been {side} its mean of {fmt(cause.mean)} for {count} months in a row "
            f"({label(first)} to {label(last)})."
        )
    if cause.rule == "trend":
        verb = "rising" if cause.direction == "up" else "falling"
        return (
            f"{definition.short} has been {verb} for {count} months in a row, "
            f"from {fmt(value[first])} in {label(first)} to {fmt(value[last])} in {label(last)}."
        )
    return (
        f"{definition.short} was beyond two sigma {side} the mean ({fmt(cause.limit)}) "
        f"in {count} months from {label(first)} to {label(last)}, "
        f"at least 2 in every 3 in a row; {fmt(value[last])} in {label(last)}."
    )


def _also(definition, others: Sequence[SpecialCause]) -> str:
    if not others:
        return ""
    items = [f"{rule_counted(c.rule, len(c.periods))} (since {periods.label(c.started)})" for c in others]
    return " Also " + "; ".join(items) + "."


# --------------------------------------------------------------------------- forecast and leading signals


def _forecast_alerts(table, all_series, framework, areas, period, settings) -> list[Alert]:
    from scipy import stats

    out = []
    for forecast in breach_forecasts(table, framework, settings, period=period, areas=areas):
        definition = framework.indicator(forecast.indicator)
        latest = all_series[(forecast.area, forecast.indicator)][period]
        if definition.rag(latest) == "red" or forecast.probability < settings.alerts.forecast_probability:
            continue  # already red: the red alert covers it
        deviation = float(stats.norm.ppf(min(forecast.probability, 0.9999)))
        out.append(
            _alert(
                "forecast_breach",
                forecast.area,
                forecast.indicator,
                _forecast_evidence(definition, forecast),
                forecast.periods,
                forecast.last_period,
                deviation,
                settings,
            )
        )
    return out


def _forecast_evidence(definition, forecast: BreachForecast) -> str:
    unit = (
        " percentage points"
        if definition.unit.startswith("%")
        else ("" if definition.unit in ("count", "£") else f" {definition.unit}")
    )
    return (
        f"The trend over the last {forecast.months_used} months "
        f"({forecast.slope:+.{definition.decimals}f}{unit} a month) gives a {forecast.probability:.0%} chance "
        f"of at least one red month (worse than {definition.format(forecast.red_boundary)}) "
        f"from {periods.label(forecast.periods[0])} to {periods.label(forecast.periods[-1])}; "
        f"{definition.format(forecast.predicted[-1])} expected in {periods.label(forecast.periods[-1])}."
    )


def _leading_alerts(table, framework, areas, period, charts, settings) -> list[Alert]:
    out = []
    for signal in leading_signals(table, framework, settings, period=period, areas=areas):
        leader, follower = framework.indicator(signal.leader), framework.indicator(signal.follower)
        chart = charts.get((signal.area, signal.leader))
        sigma = chart.latest.sigma if chart and chart.latest.sigma > 0 else abs(signal.start_value) or 1.0
        evidence = _leading_evidence(leader, follower, signal)
        out.append(
            _alert(
                "leading_signal",
                signal.area,
                signal.follower,
                evidence,
                signal.periods,
                signal.periods[0],
                abs(signal.end_value - signal.start_value) / sigma,
                settings,
            )
        )
    return out


def _leading_evidence(leader, follower, signal: LeadingSignal) -> str:
    steps = len(signal.periods) - 1
    now = follower.format(signal.follower_value) if signal.follower_value is not None else "not reported"
    return (
        f"{leader.short} worsened {steps} months running, "
        f"from {leader.format(signal.start_value)} in {periods.label(signal.periods[0])} "
        f"to {leader.format(signal.end_value)} in {periods.label(signal.periods[-1])} ({signal.change_pct:+.0f}%), "
        f"while {follower.short.lower()} is {now}, not yet red: "
        "a growing backlog usually shows in processing times a month or two later."
    )
