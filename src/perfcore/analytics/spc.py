"""Statistical process control: XmR charts in the NHS "Making Data Count" style.

An XmR chart takes the mean of a baseline and the mean moving range (MR, the
absolute month-on-month change) over it; the natural process limits are
mean +/- 2.66 x mean MR, which is 3 sigma with sigma = mean MR / 1.128 (d2 for
ranges of two points). Four special-cause rules are evaluated on every point:

- ``beyond_limits``: a point outside a process limit;
- ``run``: 7 or more points in a row on the same side of the mean (a point on
  the mean breaks the run);
- ``trend``: 7 or more points in a row, each higher (or each lower) than the
  one before (equal neighbours break the trend);
- ``two_of_three``: 2 of 3 points in a row beyond 2 sigma on the same side.

A direction makes a special cause ``improving`` or ``concerning`` (indicators
without one: ``neither``). The **variation** label reads the latest point:
special cause if it belongs to a special-cause pattern (concerning wins over
improving), else common cause. The **assurance** label compares the target
(the indicator's green threshold) with the latest limits: both limits on the
good side of the target, the process will consistently meet it; both on the
bad side, consistently miss it; otherwise hit and miss.

The baseline is the first N points (``spc.baseline_points``) of each segment,
or all of them if fewer: the limits are fixed from it and extended forward.
``rebase_at`` names months where a known change happened: each starts a new
segment with its own baseline and limits, and rules do not cross segments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcore.analytics import _table
from perfcore.config.thresholds import AnalyticsSettings, SpcSettings, resolve_settings
from perfcore.exceptions import InsufficientData

RULES = ("beyond_limits", "run", "trend", "two_of_three")


@dataclass(frozen=True)
class RuleWording:
    """How a special-cause rule is named for readers: the one home of these words.

    ``{run}`` and ``{trend}`` are the lengths set in thresholds.yaml; ``{n}`` the
    months one pattern spans.
    """

    title: str  # a table cell: "Run of 7 on one side of the mean"
    phrase: str  # inside a sentence listing the rules: "7 on one side of the mean"
    counted: str  # one pattern, its months counted, in an alert's evidence: "8 months in a row on one side of the mean"


RULE_WORDING: Mapping[str, RuleWording] = {
    "beyond_limits": RuleWording("Beyond the process limits", "a point beyond the limits", "beyond the process limits"),
    "run": RuleWording(
        "Run of {run} on one side of the mean",
        "{run} on one side of the mean",
        "{n} months in a row on one side of the mean",
    ),
    "trend": RuleWording("Trend of {trend} rising or falling", "{trend} rising or falling", "a trend of {n} months"),
    "two_of_three": RuleWording("2 of 3 beyond two sigma", "2 of 3 beyond two sigma", "2 of 3 months beyond two sigma"),
}


def rule_title(rule: str, settings: SpcSettings) -> str:
    """'Run of 7 on one side of the mean': the rule as a table names it."""
    return RULE_WORDING[rule].title.format(run=settings.run_length, trend=settings.trend_length)


def rules_phrase(settings: SpcSettings) -> str:
    """'a point beyond the limits, 7 on one side of the mean, 7 rising or falling, or 2 of 3 beyond two sigma'."""
    phrases = [RULE_WORDING[r].phrase.format(run=settings.run_length, trend=settings.trend_length) for r in RULES]
    return ", ".join(phrases[:-1]) + ", or " + phrases[-1]


def rule_counted(rule: str, months: int) -> str:
    """'a trend of 9 months': one pattern of the rule, with the months it spans."""
    return RULE_WORDING[rule].counted.format(n=months)


@dataclass(frozen=True)
class SpcSegment:
    """One stretch of the chart with its own baseline and limits."""

    start: str
    end: str
    baseline_start: str
    baseline_end: str
    baseline_points: int
    mean: float
    mean_moving_range: float
    sigma: float
    lower: float  # natural process limits
    upper: float

    @property
    def lower_2sigma(self) -> float:
        return self.mean - 2 * self.sigma

    @property
    def upper_2sigma(self) -> float:
        return self.mean + 2 * self.sigma


@dataclass(frozen=True)
class SpecialCause:
    """A special-cause pattern: which rule, which points, which way, since when."""

    rule: str  # one of RULES
    direction: str  # 'up' or 'down'
    nature: str  # 'improving', 'concerning' or 'neither'
    periods: tuple[str, ...]  # the points that make the pattern
    started: str  # first month of the pattern
    side_since: str  # first month of the unbroken stretch on this side of the mean that leads into it
    deviation: float  # largest |value - mean| among the points, in sigmas
    mean: float
    limit: float  # the limit (or 2-sigma line) the rule compares with; the mean for run and trend

    @property
    def last(self) -> str:
        return self.periods[-1]


@dataclass(frozen=True)
class SpcChart:
    """Everything a chart and a summary need for one area and indicator."""

    area: str
    indicator: str
    better: str | None
    target: float | None
    periods: tuple[str, ...]
    values: tuple[float, ...]
    segments: tuple[SpcSegment, ...]
    special_causes: tuple[SpecialCause, ...]
    variation: str  # common_cause | special_cause_improving | special_cause_concerning | special_cause_neither
    assurance: str | None  # consistently_met | consistently_missed | hit_and_miss | None without a target

    @property
    def latest(self) -> SpcSegment:
        return self.segments[-1]

    def segment_of(self, period: str) -> SpcSegment:
        return next(s for s in self.segments if s.start <= period <= s.end)

    def frame(self) -> pd.DataFrame:
        """One row per point: value, the segment's mean and limits, and the rules the point is part of."""
        rows = []
        for period, value in zip(self.periods, self.values):
            segment = self.segment_of(period)
            causes = [c for c in self.special_causes if period in c.periods]
            rows.append(
                {
                    "period": period,
                    "value": value,
                    "mean": segment.mean,
                    "lower": segment.lower,
                    "upper": segment.upper,
                    "lower_2sigma": segment.lower_2sigma,
                    "upper_2sigma": segment.upper_2sigma,
                    "baseline": segment.baseline_start <= period <= segment.baseline_end,
                    "segment_start": segment.start,
                    "rules": ",".join(sorted({c.rule for c in causes})),
                    "nature": _worst_nature(causes),
                }
            )
        return pd.DataFrame(rows)


def xmr(
    values: pd.Series,
    *,
    better: str | None = None,
    target: float | None = None,
    settings: SpcSettings | None = None,
    baseline_points: int | None = None,
    rebase_at: Iterable[str] = (),
    area: str = "",
    indicator: str = "",
) -> SpcChart:
    """An XmR chart of a monthly series (index: 'YYYY-MM' periods; NaN points are left out).

    ``better`` ('lower'/'higher'/None) labels special causes improving or
    concerning; ``target`` gives the assurance label. Raises
    :class:`InsufficientData` when the series, or a segment after a re-base,
    has fewer than ``settings.min_points`` points.
    """
    settings = settings or resolve_settings(None).spc  # None: the project's thresholds.yaml
    series = values.astype(float).dropna().sort_index()
    where = f"{area} {indicator}".strip() or "series"
    if len(series) < settings.min_points:
        raise InsufficientData(
            f"{where}: {len(series)} months of data; an SPC chart needs at least {settings.min_points}"
        )
    labels = tuple(str(p) for p in series.index)
    x = series.to_numpy()
    baseline = baseline_points or settings.baseline_points
    segments, causes = [], []
    for start, stop in _segment_bounds(labels, rebase_at, settings.min_points, where):
        segment = _segment(labels, x, start, stop, baseline, settings)
        segments.append(segment)
        causes.extend(_special_causes(labels, x, start, stop, segment, better, settings))
    causes.sort(key=lambda c: (labels.index(c.periods[0]), RULES.index(c.rule)))
    return SpcChart(
        area=area,
        indicator=indicator,
        better=better,
        target=target,
        periods=labels,
        values=tuple(float(v) for v in x),
        segments=tuple(segments),
        special_causes=tuple(causes),
        variation=_variation(causes, labels[-1], better),
        assurance=_assurance(segments[-1], target, better),
    )


def _segment_bounds(
    labels: tuple[str, ...], rebase_at: Iterable[str], min_points: int, where: str
) -> list[tuple[int, int]]:
    """Index ranges [start, stop) of the segments the re-base months cut the series into."""
    cuts = sorted(
        {next((i for i, p in enumerate(labels) if p >= month), len(labels)) for month in rebase_at} - {0, len(labels)}
    )
    bounds = list(zip([0, *cuts], [*cuts, len(labels)]))
    for start, stop in bounds:
        if stop - start < min_points:
            raise InsufficientData(
                f"{where}: the segment {labels[start]} to {labels[stop - 1]} has {stop - start} months; "
                f"re-basing needs at least {min_points} months in each segment"
            )
    return bounds


def _segment(
    labels: tuple[str, ...], x: np.ndarray, start: int, stop: int, baseline: int, settings: SpcSettings
) -> SpcSegment:
    base = x[start : min(stop, start + baseline)]
    mean = float(base.mean())
    # Moving ranges within the baseline only: the limits describe the baseline process.
    mean_mr = float(np.abs(np.diff(base)).mean())
    half_width = settings.limit_multiplier * mean_mr
    return SpcSegment(
        start=labels[start],
        end=labels[stop - 1],
        baseline_start=labels[start],
        baseline_end=labels[start + len(base) - 1],
        baseline_points=len(base),
        mean=mean,
        mean_moving_range=mean_mr,
        sigma=mean_mr / settings.sigma_divisor,
        lower=mean - half_width,
        upper=mean + half_width,
    )


def _special_causes(
    labels: tuple[str, ...],
    x: np.ndarray,
    start: int,
    stop: int,
    segment: SpcSegment,
    better: str | None,
    settings: SpcSettings,
) -> list[SpecialCause]:
    values = x[start:stop]
    found: list[tuple[str, str, list[int], float]] = []  # rule, direction, indices within the segment, limit
    if settings.beyond_limits:
        found += [("beyond_limits", "up", g, segment.upper) for g in _groups(values > segment.upper, gap=1)]
        found += [("beyond_limits", "down", g, segment.lower) for g in _groups(values < segment.lower, gap=1)]
    found += [("run", d, g, segment.mean) for d, g in _runs(np.sign(values - segment.mean), settings.run_length)]
    found += [("trend", d, g, segment.mean) for d, g in _trends(values, settings.trend_length)]
    if settings.two_of_three:
        found += [("two_of_three", "up", g, segment.upper_2sigma) for g in _two_of_three(values > segment.upper_2sigma)]
        found += [
            ("two_of_three", "down", g, segment.lower_2sigma) for g in _two_of_three(values < segment.lower_2sigma)
        ]
    return [
        _cause(rule, direction, indices, limit, labels[start:stop], values, segment, better)
        for rule, direction, indices, limit in found
    ]


def _cause(
    rule: str,
    direction: str,
    indices: list[int],
    limit: float,
    labels: tuple[str, ...],
    values: np.ndarray,
    segment: SpcSegment,
    better: str | None,
) -> SpecialCause:
    distance = np.abs(values[indices] - segment.mean).max()
    return SpecialCause(
        rule=rule,
        direction=direction,
        nature=_nature(direction, better),
        periods=tuple(labels[i] for i in indices),
        started=labels[indices[0]],
        side_since=labels[_stretch_start(values, indices[0], segment.mean, direction)],
        deviation=float(distance / segment.sigma) if segment.sigma > 0 else float(distance),
        mean=segment.mean,
        limit=limit,
    )


def _stretch_start(values: np.ndarray, first: int, mean: float, direction: str) -> int:
    """Walk back while points stay on the signal's side of the mean: when the shift began."""
    side = values > mean if direction == "up" else values < mean
    while first > 0 and side[first - 1]:
        first -= 1
    return first


def _groups(mask: np.ndarray, gap: int) -> list[list[int]]:
    """Indices where mask is true, grouped where neighbours are at most ``gap`` apart."""
    groups: list[list[int]] = []
    for index in np.flatnonzero(mask):
        if groups and index - groups[-1][-1] <= gap:
            groups[-1].append(int(index))
        else:
            groups.append([int(index)])
    return groups


def _runs(signs: np.ndarray, length: int) -> list[tuple[str, list[int]]]:
    """Maximal stretches of at least ``length`` equal non-zero signs."""
    out, start = [], 0
    for i in range(1, len(signs) + 1):
        if i == len(signs) or signs[i] != signs[start]:
            if signs[start] != 0 and i - start >= length:
                out.append(("up" if signs[start] > 0 else "down", list(range(start, i))))
            start = i
    return out


def _trends(values: np.ndarray, length: int) -> list[tuple[str, list[int]]]:
    """Stretches of at least ``length`` points, each step the same way: length - 1 equal step signs."""
    steps = np.sign(np.diff(values))
    return [(direction, [*indices, indices[-1] + 1]) for direction, indices in _runs(steps, length - 1)]


def _two_of_three(beyond: np.ndarray) -> list[list[int]]:
    """Points beyond 2 sigma that are in a window of 3 with another such point on the same side."""
    flagged = np.zeros(len(beyond), dtype=bool)
    for i in range(len(beyond) - 2):
        window = beyond[i : i + 3]
        if window.sum() >= 2:
            flagged[i : i + 3] |= window
    return _groups(flagged, gap=2)


def _nature(direction: str, better: str | None) -> str:
    if better is None:
        return "neither"
    improving = (direction == "down") == (better == "lower")
    return "improving" if improving else "concerning"


def _worst_nature(causes: Sequence[SpecialCause]) -> str:
    natures = {c.nature for c in causes}
    for nature in ("concerning", "improving", "neither"):
        if nature in natures:
            return nature
    return ""


def _variation(causes: Sequence[SpecialCause], latest: str, better: str | None) -> str:
    current = [c for c in causes if latest in c.periods]
    return f"special_cause_{_worst_nature(current)}" if current else "common_cause"


def _assurance(segment: SpcSegment, target: float | None, better: str | None) -> str | None:
    if target is None or better is None:
        return None
    good_side = (lambda v: v <= target) if better == "lower" else (lambda v: v >= target)
    if good_side(segment.lower) and good_side(segment.upper):
        return "consistently_met"
    if not good_side(segment.lower) and not good_side(segment.upper):
        return "consistently_missed"
    return "hit_and_miss"


# --------------------------------------------------------------------------- from the indicator table


def spc_chart(
    table: pd.DataFrame,
    framework,
    area: str,
    indicator: str,
    settings: AnalyticsSettings | None = None,
    *,
    baseline_points: int | None = None,
    rebase_at: Iterable[str] = (),
) -> SpcChart:
    """The XmR chart of one area's indicator, with direction and target from the framework."""
    settings = resolve_settings(settings)
    return _chart(
        _table.series(table, area, indicator), framework, area, indicator, settings, baseline_points, rebase_at
    )


def _chart(series, framework, area, indicator, settings, baseline_points, rebase_at) -> SpcChart:
    definition = framework.indicator(indicator)
    target = definition.thresholds.green if definition.thresholds else None
    return xmr(
        series,
        better=definition.better,
        target=target,
        settings=settings.spc,
        baseline_points=baseline_points,
        rebase_at=rebase_at,
        area=area,
        indicator=indicator,
    )


def spc_charts(
    table: pd.DataFrame,
    framework,
    settings: AnalyticsSettings | None = None,
    *,
    areas: Iterable[str] | None = None,
    indicators: Iterable[str] | None = None,
    rebase: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> list[SpcChart]:
    """Charts for every area and monthly indicator with a direction (or those named).

    Series with too few months are left out (a chart would not be honest).
    ``rebase`` maps (area, indicator) to the months to re-base at.
    """
    settings = resolve_settings(settings)
    # Financial-year-to-date figures accumulate through the year and restart in April:
    # their months are not independent readings of a process, so no chart by default.
    wanted = (
        list(indicators)
        if indicators is not None
        else [i.id for i in framework.indicators if i.better and i.window == "month"]
    )
    area_filter = set(areas) if areas is not None else None
    charts = []
    for (area, indicator), series in _table.all_series(table, wanted).items():
        if area_filter is not None and area not in area_filter:
            continue
        try:
            charts.append(
                _chart(series, framework, area, indicator, settings, None, (rebase or {}).get((area, indicator), ()))
            )
        except InsufficientData:
            continue
    return charts


__all__ = [
    "RULES",
    "RULE_WORDING",
    "RuleWording",
    "SpcChart",
    "SpcSegment",
    "SpecialCause",
    "rule_counted",
    "rule_title",
    "rules_phrase",
    "spc_chart",
    "spc_charts",
    "xmr",
]
