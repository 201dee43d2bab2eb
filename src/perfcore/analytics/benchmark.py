"""Benchmarking the members: ranks and quartiles, funnel plots, best-practice spotlight.

**Ranks** put councils in order for a month, on ratio indicators by default
(counts such as work on hand measure size as much as performance) (1 = best, by the indicator's
direction; ties share the better rank); the quartile is ceil(4 x rank / n), so
1 is the best quarter. ``rank_values`` and ``quartile`` are the one definition:
the published pages, the spotlight's "top quarter" and ``ranks`` all use them.
The consortium figure is the pooled one from the table
(sum of numerators over sum of denominators), never a mean of means; for a peer
group the same pooling is done over its members.

**Funnel plots** (Spiegelhalter 2005, *Funnel plots for comparing institutional
performance*, Stat Med 24:1185) compare each council with the pooled figure
given its number of cases, so a small council is not called an outlier for
what chance alone would do. The numerators and denominators are pooled over
the last ``funnel.months`` months (FYTD indicators: the month's own FYTD
figure). Limits are target +/- z x s(n) with z = 1.96 (95%) and 3.09 (99.8%):

- proportions (a share of cases): target p0 = pooled proportion,
  s = sqrt(p0 (1 - p0) / n), the normal approximation; or ``exact``: binomial
  limits with Spiegelhalter's interpolation between integer counts (scipy);
- averages of days: target = pooled mean; we only have each council's total
  days and number of cases, not the per-case spread, so the per-case SD is
  taken as cv x target with the coefficient of variation cv set per indicator
  in ``thresholds.yaml`` (processing times are right-skewed, SD about the
  mean), and s = SD / sqrt(n).

Overdispersion (``funnel.overdispersion``): councils differ for reasons beyond
chance (case mix, systems), and with thousands of cases the plain limits flag
nearly everyone. ``multiplicative`` estimates phi as the mean squared
winsorised z-score and widens the limits by sqrt(phi) (if phi > 1);
``additive`` estimates a between-council variance tau^2 by the
DerSimonian-Laird moment method, limits target +/- z sqrt(s^2 + tau^2). Both
are Spiegelhalter's; phi and tau^2 are reported either way.

**Spotlight**: the council with the best *sustained* performance over the last
``spotlight.window`` months: the best median monthly rank (a lucky month moves
a median by at most one place), ties broken by the median value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcore import periods
from perfcore.analytics import _table
from perfcore.config.thresholds import AnalyticsSettings, FunnelSettings, resolve_settings
from perfcore.exceptions import AnalyticsError, InsufficientData

# --------------------------------------------------------------------------- ranks


def is_comparable(indicator) -> bool:
    """Fair to compare across councils of different sizes: a ratio with a direction.

    Counts such as work on hand grow with the caseload, so ranking them would
    rank size; they can still be asked for by name.
    """
    return indicator.better is not None and indicator.is_ratio


def comparable(framework) -> list[str]:
    """The ids of the framework's :func:`is_comparable` indicators, in framework order."""
    return [i.id for i in framework.indicators if is_comparable(i)]


def rank_values(values: pd.Series | pd.DataFrame, better: str, axis: int = 0) -> pd.Series | pd.DataFrame:
    """1 = best by the indicator's direction; ties share the better rank; missing values get none."""
    return values.rank(axis=axis, method="min", ascending=better == "lower")


def quartile(rank, of):
    """The quarter a rank falls in among ``of`` ranked councils, 1 = best: ceil(4 x rank / of).

    With 10 councils ranks 1-2 are quartile 1, 3-5 quartile 2, 6-7 quartile 3, 8-10 quartile 4.
    Takes numbers or arrays (a rank per month divided by the councils ranked that month).
    With fewer than ``MIN_FOR_QUARTILES`` councils there are no quarters to be in: NaN
    (the best of three is not "in the worst quarter").
    """
    quarter = np.ceil(4 * rank / of)
    enough = np.asarray(of) >= MIN_FOR_QUARTILES
    if hasattr(quarter, "where"):  # a Series or DataFrame keeps its labels
        return quarter.where(np.broadcast_to(enough, quarter.shape))
    return np.where(enough, quarter, np.nan)


MIN_FOR_QUARTILES = 4


def ranks(
    table: pd.DataFrame,
    framework,
    period: str | None = None,
    *,
    areas: Iterable[str] | None = None,
    indicators: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Ranks and quartiles of councils (``areas``: a peer group's codes; default all) for one month.

    Default ``indicators``: :func:`comparable` ones.
    Columns: indicator, area, value, rank (1 best), of, quartile (1 best), rag,
    group_value (pooled over the councils ranked), consortium_value (the
    table's consortium row).
    """
    table = _table.check(table, components=True)
    period = period or _table.latest_period(table)
    wanted = list(indicators) if indicators is not None else comparable(framework)
    month = table[table["period"] == period]
    codes = _table.councils(table, areas)
    frames = [_rank_indicator(month, framework.indicator(ind), codes) for ind in wanted]
    columns = ["indicator", "area", "value", "rank", "of", "quartile", "rag", "group_value", "consortium_value"]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def _rank_indicator(month: pd.DataFrame, indicator, codes: list[str]) -> pd.DataFrame:
    rows = month[month["indicator"] == indicator.id]
    consortium = rows.loc[rows["area"] == _table.CONSORTIUM, "value"]
    rows = rows[rows["area"].isin(codes)].dropna(subset=["value"]).copy()
    if rows.empty or indicator.better is None:
        return pd.DataFrame()
    rows["rank"] = rank_values(rows["value"], indicator.better).astype(int)
    rows["of"] = len(rows)
    rows["quartile"] = quartile(rows["rank"], len(rows)).astype("Int64")  # <NA> with under four councils
    rows["rag"] = [indicator.rag(v) for v in rows["value"]]
    rows["group_value"] = pooled_value(rows, indicator)
    rows["consortium_value"] = float(consortium.iloc[0]) if len(consortium) else np.nan
    rows["indicator"] = indicator.id
    return rows.sort_values(["rank", "area"])


def pooled_value(rows: pd.DataFrame, indicator) -> float:
    """The pooled figure of some councils' rows: scale x sum(numerators) / sum(denominators), or the sum of a count."""
    if not indicator.is_ratio:
        return float(rows["value"].sum())
    usable = rows.dropna(subset=["numerator", "denominator"])
    usable = usable[usable["denominator"] > 0]
    if usable.empty:
        return float("nan")
    return float(indicator.scale * usable["numerator"].sum() / usable["denominator"].sum())


def group_figures(table: pd.DataFrame, framework, codes: Iterable[str], indicator: str) -> pd.Series:
    """The pooled figure of a peer group for every month, as a series by period."""
    definition = framework.indicator(indicator)
    rows = _table.check(table, components=True)
    rows = rows[(rows["indicator"] == indicator) & rows["area"].isin(list(codes))]
    return rows.groupby("period").apply(lambda r: pooled_value(r, definition), include_groups=False).rename(indicator)


# --------------------------------------------------------------------------- funnel plots


def level_label(level: float) -> str:
    """'95' for 0.95, '99.8' for 0.998: the suffix of funnel limit columns."""
    return f"{level * 100:g}"


def z_of(level: float) -> float:
    """Two-sided normal quantile: 1.96 for 95%, 3.09 for 99.8%."""
    from scipy import stats

    return float(stats.norm.ppf(1 - (1 - level) / 2))


@dataclass(frozen=True)
class FunnelPlot:
    indicator: str
    kind: str  # 'proportion' or 'average'
    periods: tuple[str, ...]  # months pooled
    target: float  # the pooled figure, on the indicator's scale
    scale: float
    levels: tuple[float, ...]
    method: str  # 'normal' or 'exact'
    overdispersion: str  # 'none', 'multiplicative' or 'additive'
    phi: float  # mean squared winsorised z-score (1 expected without overdispersion)
    tau2: float  # between-council variance (additive), on the proportion/mean scale
    cv: float | None  # assumed per-case coefficient of variation (averages)
    # area, numerator, denominator (n), value, z (against the possibly widened limits),
    # and per level lower_95/upper_95/signal_95 ('better', 'worse', '' within; 'high'/'low' without direction)
    points: pd.DataFrame

    def limits(self, n: Iterable[float] | None = None) -> pd.DataFrame:
        """The funnel's limits across a range of case numbers, for drawing it."""
        if n is None:
            lo, hi = self.points["denominator"].min(), self.points["denominator"].max()
            n = np.unique(np.round(np.geomspace(max(lo / 2, 1.0), hi * 1.5, 100)))
        n = np.asarray(list(n), dtype=float)
        out = pd.DataFrame({"n": n, "target": self.target})
        for level in self.levels:
            lower, upper = _limits(self, n, level)
            out[f"lower_{level_label(level)}"] = lower
            out[f"upper_{level_label(level)}"] = upper
        return out


def funnel(
    table: pd.DataFrame,
    framework,
    indicator: str,
    period: str | None = None,
    settings: AnalyticsSettings | None = None,
    *,
    areas: Iterable[str] | None = None,
) -> FunnelPlot:
    """The funnel plot of one indicator ending at ``period`` (default the latest).

    ``areas``: the councils compared (default all).
    """
    settings = resolve_settings(settings)
    definition = framework.indicator(indicator)
    kind = settings.funnel.kind(indicator)
    if kind is None:
        raise AnalyticsError(
            f"{indicator}: no funnel plot is defined; thresholds.yaml funnel lists proportions and averages"
        )
    table = _table.check(table, components=True)
    period = period or _table.latest_period(table)
    months = 1 if definition.window == "fytd" else settings.funnel.months
    window = tuple(periods.span(periods.shift(period, -(months - 1)), period))
    pooled = _pool_window(table, indicator, window, _table.councils(table, areas))
    if len(pooled) < 3:
        raise InsufficientData(
            f"{indicator}: {len(pooled)} councils with cases in {window[0]} to {window[-1]}; "
            "a funnel plot needs at least 3"
        )
    return _funnel(pooled, definition, kind, window, settings.funnel)


def _pool_window(table: pd.DataFrame, indicator: str, window: tuple[str, ...], codes: list[str]) -> pd.DataFrame:
    rows = table[(table["indicator"] == indicator) & table["period"].isin(window) & table["area"].isin(codes)]
    rows = rows.dropna(subset=["numerator", "denominator"])
    rows = rows[rows["denominator"] > 0]
    return rows.groupby("area", as_index=False)[["numerator", "denominator"]].sum()


def _funnel(
    pooled: pd.DataFrame, definition, kind: str, window: tuple[str, ...], settings: FunnelSettings
) -> FunnelPlot:
    # Work on the proportion / mean scale; multiply by the indicator's scale only for display.
    y = (pooled["numerator"] / pooled["denominator"]).to_numpy()
    n = pooled["denominator"].to_numpy(dtype=float)
    theta = float(pooled["numerator"].sum() / pooled["denominator"].sum())
    if kind == "proportion" and not 0 < theta < 1:
        raise AnalyticsError(f"{definition.id}: pooled proportion {theta:.3f} leaves no room for chance; no funnel")
    cv = settings.cv(definition.id) if kind == "average" else None
    plain = FunnelPlot(
        indicator=definition.id,
        kind=kind,
        periods=window,
        target=theta * definition.scale,
        scale=definition.scale,
        levels=settings.levels,
        method=settings.proportion_method if kind == "proportion" else "normal",
        overdispersion="none",
        phi=1.0,
        tau2=0.0,
        cv=cv,
        points=pd.DataFrame(),
    )
    z = (y - theta) / _se(plain, n)
    phi, tau2 = _overdispersion(z, n, _se(plain, n), settings.winsorise)
    plot = dataclasses.replace(plain, overdispersion=settings.overdispersion, phi=phi, tau2=tau2)
    points = pooled.assign(value=y * definition.scale, z=z / _inflation(plot, n))
    for level in settings.levels:
        lower, upper = _limits(plot, n, level)
        label = level_label(level)
        points[f"lower_{label}"], points[f"upper_{label}"] = lower, upper
        points[f"signal_{label}"] = [
            _signal(v, lo, hi, definition.better) for v, lo, hi in zip(points["value"], lower, upper)
        ]
    return dataclasses.replace(plot, points=points.sort_values("denominator").reset_index(drop=True))


def _se(plot: FunnelPlot, n: np.ndarray) -> np.ndarray:
    """Standard error of a council's figure under the target, on the proportion/mean scale."""
    theta = plot.target / plot.scale
    if plot.kind == "proportion":
        return np.sqrt(theta * (1 - theta) / n)
    return plot.cv * theta / np.sqrt(n)


def _overdispersion(z: np.ndarray, n: np.ndarray, se: np.ndarray, winsorise: float) -> tuple[float, float]:
    """Spiegelhalter's phi (winsorised mean square z) and the additive tau^2 (DerSimonian-Laird)."""
    low, high = np.quantile(z, [winsorise, 1 - winsorise])
    phi = float(np.mean(np.clip(z, low, high) ** 2))
    count = len(z)
    weights = 1 / se**2
    excess = count * phi - (count - 1)
    tau2 = float(excess / (weights.sum() - (weights**2).sum() / weights.sum())) if excess > 0 else 0.0
    return phi, tau2


def _inflation(plot: FunnelPlot, n: np.ndarray) -> np.ndarray:
    """How much wider than the plain limits the overdispersion option makes them."""
    if plot.overdispersion == "multiplicative":
        return np.full_like(n, math.sqrt(max(plot.phi, 1.0)), dtype=float)
    if plot.overdispersion == "additive":
        se = _se(plot, n)
        return np.sqrt(se**2 + plot.tau2) / se
    return np.ones_like(n, dtype=float)


def _limits(plot: FunnelPlot, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    theta = plot.target / plot.scale
    if plot.kind == "proportion" and plot.method == "exact" and plot.overdispersion == "none":
        lower, upper = _exact_binomial_limits(n, theta, level)
    else:
        half = z_of(level) * _se(plot, n) * _inflation(plot, n)
        lower, upper = theta - half, theta + half
    top = 1.0 if plot.kind == "proportion" else np.inf
    return np.clip(lower, 0, top) * plot.scale, np.clip(upper, 0, top) * plot.scale


def _exact_binomial_limits(n: np.ndarray, theta: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Spiegelhalter (2005) appendix: binomial quantile, interpolated between integer counts."""
    from scipy import stats

    def limit(p: float) -> np.ndarray:
        whole = np.round(n)
        r = stats.binom.ppf(p, whole, theta)
        above, below = stats.binom.cdf(r, whole, theta), stats.binom.cdf(r - 1, whole, theta)
        alpha = (above - p) / (above - below)
        return (r - alpha) / whole

    tail = (1 - level) / 2
    return limit(tail), limit(1 - tail)


def _signal(value: float, lower: float, upper: float, better: str | None) -> str:
    """'better' or 'worse' than chance would explain (or 'high'/'low' without a direction); '' inside."""
    if lower <= value <= upper:
        return ""
    high = value > upper
    if better is None:
        return "high" if high else "low"
    return "worse" if high == (better == "lower") else "better"


# --------------------------------------------------------------------------- spotlight


@dataclass(frozen=True)
class Spotlight:
    indicator: str
    area: str
    window_start: str
    window_end: str
    months: int  # months with data for this council
    median_value: float
    median_rank: float
    top_quarter_share: float  # share of its months ranked in the top quarter
    councils: int  # councils compared
    runner_up: str | None
    sentence: str


def spotlight(
    table: pd.DataFrame,
    framework,
    indicator: str,
    period: str | None = None,
    settings: AnalyticsSettings | None = None,
    *,
    areas: Iterable[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> Spotlight:
    """The council with the best sustained performance on one indicator over the window ending at ``period``."""
    settings = resolve_settings(settings)
    definition = framework.indicator(indicator)
    if definition.better is None:
        raise AnalyticsError(f"{indicator}: no direction, so no best performer")
    table = _table.check(table)
    period = period or _table.latest_period(table)
    window = periods.span(periods.shift(period, -(settings.spotlight.window - 1)), period)
    values = _table.wide(table, indicator, areas=areas).reindex(window)
    monthly_rank = rank_values(values, definition.better, axis=1)
    counts = values.notna().sum()
    eligible = [a for a in values.columns if counts[a] >= settings.spotlight.min_months]
    if not eligible:
        raise InsufficientData(
            f"{indicator}: no council has {settings.spotlight.min_months} months of data in {window[0]} to {window[-1]}"
        )
    scores = _spotlight_scores(values, monthly_rank, eligible, definition.better)
    best = scores.iloc[0]
    return Spotlight(
        indicator=indicator,
        area=str(best.name),
        window_start=window[0],
        window_end=window[-1],
        months=int(best["months"]),
        median_value=float(best["median_value"]),
        median_rank=float(best["median_rank"]),
        top_quarter_share=float(best["top_quarter_share"]),
        councils=int(values.notna().any().sum()),
        runner_up=str(scores.index[1]) if len(scores) > 1 else None,
        sentence=_spotlight_sentence(definition, best, window, names or {}),
    )


def _spotlight_scores(
    values: pd.DataFrame, monthly_rank: pd.DataFrame, eligible: list[str], better: str
) -> pd.DataFrame:
    ranked_per_month = values.notna().sum(axis=1)
    top_quarter = quartile(monthly_rank, ranked_per_month.to_numpy()[:, None]) == 1
    scores = pd.DataFrame(
        {
            "median_rank": monthly_rank[eligible].median(),
            "median_value": values[eligible].median(),
            "months": values[eligible].notna().sum(),
            "top_quarter_share": top_quarter[eligible].sum() / values[eligible].notna().sum(),
        }
    )
    sign = 1 if better == "lower" else -1
    scores["value_key"] = sign * scores["median_value"]
    return scores.sort_values(["median_rank", "value_key"])


def _spotlight_sentence(definition, best: pd.Series, window: list[str], names: Mapping[str, str]) -> str:
    name = names.get(str(best.name), str(best.name))
    return (
        f"{name} has the best sustained {definition.short.lower()}: median {definition.format(best['median_value'])} "
        f"over {int(best['months'])} months ({periods.label(window[0])} to {periods.label(window[-1])}), "
        f"median rank {best['median_rank']:g}, in the top quarter in {best['top_quarter_share']:.0%} of months."
    )


def spotlights(
    table: pd.DataFrame,
    framework,
    period: str | None = None,
    settings: AnalyticsSettings | None = None,
    *,
    areas: Iterable[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Spotlight]:
    """A spotlight for every :func:`comparable` indicator that has enough data."""
    settings = resolve_settings(settings)
    out = []
    for indicator in comparable(framework):
        try:
            out.append(spotlight(table, framework, indicator, period, settings, areas=areas, names=names))
        except InsufficientData:
            continue
    return out
