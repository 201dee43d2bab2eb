"""Did an initiative move its indicators? Interrupted time series and difference-in-differences.

For each initiative in ``parameters/initiatives.yaml`` and each indicator it
targets:

**Interrupted time series** (segmented regression, statsmodels OLS):
value = b0 + b1 t + b2 after + b3 (t - t0) after, with t in calendar months and
``after`` 1 from the start month on. b2 is the change in level at the start,
b3 the change in slope. Monthly values are autocorrelated, which makes plain
OLS intervals too narrow. ``impact.errors: ar1`` (the default) fits by
feasible GLS with AR(1) errors (statsmodels GLS), rho being the residuals'
lag-1 autocorrelation corrected for its small-sample bias: on 12 + 12 months
of AR(1) noise its 95% intervals cover the true effect about 94% of the time
at rho = 0 and 91% at rho = 0.3, where Newey-West (``errors: hac``) covers
only about 82% and 77% (simulated; HAC needs long series).

**Difference-in-differences** against peer councils without an initiative on
that indicator: the gap between the council and the mean of its peers, each
month; the effect is the change in that gap from before to after the start.
Fitted by OLS (``errors: hac``) this is exactly the two-way fixed-effects
estimate (council and month effects) on the balanced panel; with
``errors: ar1`` the months are weighted by GLS, which allows for the
autocorrelation of the gap and moves the estimate slightly. We do not use
cluster-robust errors by council: with a single treated council they are
badly biased downwards (Conley & Taber 2011; MacKinnon & Webb 2017). As a
check that needs no model, the same estimate is made for each peer as if it
had had the initiative (a placebo); ``placebo_p`` is the share of
councils whose estimate is at least as large as the treated council's.

Too few months before or after the start: :class:`InsufficientData` saying how
many there are and how many are needed. The DiD part needs ``impact.min_peers``
peers with data; without them only the time series is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcore import periods
from perfcore.analytics import _table
from perfcore.config.initiatives import Initiative
from perfcore.config.thresholds import AnalyticsSettings, ImpactSettings, resolve_settings
from perfcore.exceptions import AnalyticsError, InsufficientData


@dataclass(frozen=True)
class Estimate:
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True)
class SegmentedRegression:
    area: str
    indicator: str
    start: str
    months_before: int
    months_after: int
    level_change: Estimate  # immediate change at the start month
    slope_change: Estimate  # change in the monthly trend
    slope_before: Estimate
    method: str
    fitted: pd.DataFrame  # period, value, fitted, counterfactual (the pre-start line carried on)


@dataclass(frozen=True)
class DifferenceInDifferences:
    area: str
    indicator: str
    start: str
    peers: tuple[str, ...]
    months_before: int
    months_after: int
    effect: Estimate  # change in (council - mean of peers) from before to after
    placebo_p: float  # share of councils (treated included) with an estimate at least as large
    method: str
    gap: pd.DataFrame  # period, council, peers (mean), gap


@dataclass(frozen=True)
class ImpactResult:
    initiative: str
    area: str
    indicator: str
    start: str
    its: SegmentedRegression
    did: DifferenceInDifferences | None
    did_note: str  # why there is no DiD, or ''
    verdict: str


def _fit(y: np.ndarray, x: np.ndarray, t: np.ndarray, settings: ImpactSettings):
    """Regression with autocorrelated errors: (fit, description of the errors)."""
    import statsmodels.api as sm

    if settings.errors == "hac":
        fit = sm.OLS(y, x).fit(
            cov_type="HAC", cov_kwds={"maxlags": settings.hac_maxlags, "use_correction": True}, use_t=True
        )
        return fit, f"Newey-West (HAC, {settings.hac_maxlags} lags) standard errors"
    rho = _ar1_rho(sm.OLS(y, x).fit().resid, x.shape[1])
    # Feasible GLS: error correlation rho^|months apart|, so a missing month keeps its distance.
    sigma = rho ** np.abs(t[:, None] - t[None, :])
    return sm.GLS(y, x, sigma=sigma).fit(), f"AR(1) errors by feasible GLS (rho = {rho:.2f})"


def _ar1_rho(residuals: np.ndarray, regressors: int) -> float:
    """Lag-1 autocorrelation of OLS residuals, corrected for its small-sample bias, in [0, 0.95].

    The raw estimate is biased towards zero in short series (by about
    (1 + 3 rho) / n, Marriott & Pope 1954, and by about k / n more for the k
    regressors fitted); uncorrected, intervals are too narrow. Negative values
    are taken as 0, which can only widen the intervals.
    """
    n = len(residuals)
    raw = float(np.sum(residuals[1:] * residuals[:-1]) / np.sum(residuals**2)) if np.any(residuals) else 0.0
    corrected = raw + (1 + 3 * raw) / n + regressors * (1 - raw) / n
    return float(np.clip(corrected, 0.0, 0.95))


def _estimate(fit, index: int, alpha: float) -> Estimate:
    low, high = fit.conf_int(alpha=alpha)[index]
    return Estimate(float(fit.params[index]), float(low), float(high), float(fit.pvalues[index]))


def _months_since(first: str, period: str) -> int:
    (y0, m0), (y1, m1) = periods.parse(first), periods.parse(period)
    return (y1 - y0) * 12 + (m1 - m0)


def _check_months(where: str, start: str, before: int, after: int, settings: ImpactSettings) -> None:
    if before < settings.min_months_before or after < settings.min_months_after:
        raise InsufficientData(
            f"{where}: {before} months of data before {start} and {after} from it on; "
            f"the impact estimate needs at least {settings.min_months_before} before "
            f"and {settings.min_months_after} from the start"
        )


def segmented_regression(
    series: pd.Series,
    start: str,
    settings: ImpactSettings | None = None,
    *,
    area: str = "",
    indicator: str = "",
) -> SegmentedRegression:
    """Level and slope change at ``start`` in a monthly series (index 'YYYY-MM'), with HAC errors."""
    settings = settings or resolve_settings(None).impact  # None: the project's thresholds.yaml
    values = series.astype(float).dropna().sort_index()
    labels = [str(p) for p in values.index]
    after_mask = np.array([p >= start for p in labels], dtype=bool)  # bool even when empty
    where = f"{area} {indicator}".strip() or "series"
    _check_months(where, start, int((~after_mask).sum()), int(after_mask.sum()), settings)
    t = np.array([_months_since(labels[0], p) for p in labels], dtype=float)
    t0 = _months_since(labels[0], start)
    after = after_mask.astype(float)
    x = np.column_stack([np.ones_like(t), t, after, (t - t0) * after])
    fit, errors = _fit(values.to_numpy(), x, t, settings)
    fitted = pd.DataFrame(
        {
            "period": labels,
            "value": values.to_numpy(),
            "fitted": fit.fittedvalues,
            "counterfactual": fit.params[0] + fit.params[1] * t,
        }
    )
    return SegmentedRegression(
        area=area,
        indicator=indicator,
        start=start,
        months_before=int((~after_mask).sum()),
        months_after=int(after_mask.sum()),
        level_change=_estimate(fit, 2, settings.alpha),
        slope_change=_estimate(fit, 3, settings.alpha),
        slope_before=_estimate(fit, 1, settings.alpha),
        method=f"segmented regression (level and slope change) with {errors}",
        fitted=fitted,
    )


def difference_in_differences(
    table: pd.DataFrame,
    area: str,
    indicator: str,
    start: str,
    peers: Sequence[str],
    settings: ImpactSettings | None = None,
) -> DifferenceInDifferences:
    """Change in the council's gap to the mean of its ``peers`` from before ``start`` to after."""
    settings = settings or resolve_settings(None).impact  # None: the project's thresholds.yaml
    grid = _table.wide(table, indicator, areas=[area, *peers])
    if area not in grid.columns:
        raise InsufficientData(f"{area} {indicator}: no data")
    grid = grid[grid[area].notna()]
    # Balanced panel: peers with every month the council has, so the peer mean is the same mix throughout.
    complete = [p for p in peers if p in grid.columns and grid[p].notna().all()]
    if len(complete) < settings.min_peers:
        raise InsufficientData(
            f"{area} {indicator}: {len(complete)} peer councils with data in every month; "
            f"difference-in-differences needs at least {settings.min_peers}"
        )
    after = np.array([p >= start for p in grid.index])
    _check_months(f"{area} {indicator}", start, int((~after).sum()), int(after.sum()), settings)
    gap = grid[area] - grid[complete].mean(axis=1)
    x = np.column_stack([np.ones(len(gap)), after.astype(float)])
    t = np.array([_months_since(str(grid.index[0]), str(p)) for p in grid.index], dtype=float)
    fit, errors = _fit(gap.to_numpy(), x, t, settings)
    effect = _estimate(fit, 1, settings.alpha)
    return DifferenceInDifferences(
        area=area,
        indicator=indicator,
        start=start,
        peers=tuple(complete),
        months_before=int((~after).sum()),
        months_after=int(after.sum()),
        effect=effect,
        placebo_p=_placebo_p(grid, area, complete, after, effect.estimate),
        method=f"difference-in-differences against the mean of {len(complete)} peer councils, {errors}",
        gap=pd.DataFrame(
            {
                "period": list(grid.index),
                "council": grid[area].to_numpy(),
                "peers": grid[complete].mean(axis=1).to_numpy(),
                "gap": gap.to_numpy(),
            }
        ),
    )


def _placebo_p(grid: pd.DataFrame, area: str, peers: list[str], after: np.ndarray, effect: float) -> float:
    """Share of councils whose as-if-treated estimate is at least as large as the council's own (it included)."""
    larger = 1  # the council itself
    for placebo in peers:
        others = [p for p in [area, *peers] if p != placebo]
        gap = grid[placebo] - grid[others].mean(axis=1)
        estimate = gap[after].mean() - gap[~after].mean()
        larger += abs(estimate) >= abs(effect)
    return larger / (len(peers) + 1)


# --------------------------------------------------------------------------- initiatives


def peers_for(
    initiative: Initiative, indicator: str, initiatives: Iterable[Initiative], codes: Iterable[str]
) -> tuple[str, ...]:
    """Councils among ``codes`` without any initiative on ``indicator`` (so not the council itself)."""
    treated = {i.council for i in initiatives if indicator in i.indicators} | {initiative.council}
    return tuple(code for code in codes if code not in treated)


def assess_initiative(
    table: pd.DataFrame,
    framework,
    initiative: Initiative,
    indicator: str,
    settings: AnalyticsSettings | None = None,
    *,
    initiatives: Iterable[Initiative] = (),
    peer_codes: Iterable[str] | None = None,
    period: str | None = None,
) -> ImpactResult:
    """Time series and (where peers allow) difference-in-differences for one initiative and indicator.

    ``initiatives``: all initiatives, so peers with their own initiative on the
    indicator are left out; ``peer_codes``: the councils to compare with (a
    peer group; default every council in the table). Raises InsufficientData
    when there are too few months before or after the start.
    """
    settings = resolve_settings(settings)
    definition = framework.indicator(indicator)
    if indicator not in initiative.indicators:
        raise AnalyticsError(
            f"initiative {initiative.id} does not target {indicator}; it targets {', '.join(initiative.indicators)}"
        )
    table = _table.up_to(_table.check(table), period)
    its = segmented_regression(
        _table.series(table, initiative.council, indicator),
        initiative.start,
        settings.impact,
        area=initiative.council,
        indicator=indicator,
    )
    codes = _table.councils(table, peer_codes)
    peers = peers_for(initiative, indicator, [initiative, *initiatives], codes)
    did, note = None, ""
    try:
        did = difference_in_differences(table, initiative.council, indicator, initiative.start, peers, settings.impact)
    except InsufficientData as exc:
        note = str(exc)
    return ImpactResult(
        initiative=initiative.id,
        area=initiative.council,
        indicator=indicator,
        start=initiative.start,
        its=its,
        did=did,
        did_note=note,
        verdict=verdict(definition, its, did, settings),
    )


def assess_initiatives(
    table: pd.DataFrame,
    framework,
    initiatives: Iterable[Initiative],
    settings: AnalyticsSettings | None = None,
    *,
    peer_codes: Iterable[str] | None = None,
    period: str | None = None,
) -> tuple[list[ImpactResult], pd.DataFrame]:
    """Every initiative and indicator: the results, and a summary frame (refusals included, with their reason)."""
    settings = resolve_settings(settings)
    initiatives = list(initiatives)
    results, rows = [], []
    for initiative in initiatives:
        for indicator in initiative.indicators:
            row = {
                "initiative": initiative.id,
                "area": initiative.council,
                "indicator": indicator,
                "start": initiative.start,
            }
            try:
                result = assess_initiative(
                    table,
                    framework,
                    initiative,
                    indicator,
                    settings,
                    initiatives=initiatives,
                    peer_codes=peer_codes,
                    period=period,
                )
            except InsufficientData as exc:
                rows.append({**row, "verdict": f"Not estimated: {exc}"})
                continue
            results.append(result)
            rows.append({**row, **_summary_figures(result), "verdict": result.verdict})
    return results, pd.DataFrame(rows)


def _summary_figures(result: ImpactResult) -> dict:
    chosen = result.did.effect if result.did else result.its.level_change
    return {
        "method": "difference-in-differences" if result.did else "interrupted time series",
        "effect": chosen.estimate,
        "ci_low": chosen.ci_low,
        "ci_high": chosen.ci_high,
        "level_change": result.its.level_change.estimate,
        "slope_change": result.its.slope_change.estimate,
        "placebo_p": result.did.placebo_p if result.did else np.nan,
    }


# --------------------------------------------------------------------------- verdict in words


def _unit(definition) -> str:
    if definition.unit.startswith("%"):
        return " percentage points"
    return "" if definition.unit in ("count", "claims", "£") else f" {definition.unit}"


def _amount(definition, value: float) -> str:
    prefix = "£" if definition.unit == "£" else ""
    return f"{prefix}{value:,.{definition.decimals}f}"


def _change_words(definition, estimate: Estimate, level: float) -> str:
    """'fell by 3.1 days (95% CI 2.4 to 3.8)', or 'changed by -0.4 days (95% CI -2.0 to 1.2)'."""
    unit, cover = _unit(definition), round(100 * (1 - level))
    if estimate.excludes_zero:
        sign = 1 if estimate.estimate > 0 else -1
        low, high = sorted((sign * estimate.ci_low, sign * estimate.ci_high))
        verb = "rose" if sign > 0 else "fell"
        interval = f"{cover}% CI {_amount(definition, low)} to {_amount(definition, high)}"
        return f"{verb} by {_amount(definition, abs(estimate.estimate))}{unit} ({interval})"
    return (
        f"changed by {_amount(definition, estimate.estimate)}{unit} "
        f"({cover}% CI {_amount(definition, estimate.ci_low)} to {_amount(definition, estimate.ci_high)})"
    )


def verdict(
    definition, its: SegmentedRegression, did: DifferenceInDifferences | None, settings: AnalyticsSettings
) -> str:
    """One plain-words paragraph: the effect with its interval, what the interval says, which way is better."""
    name = settings.interdependence.phrase(definition.id, definition.short.lower())
    name = name[0].upper() + name[1:]
    alpha = settings.impact.alpha
    if did is not None:
        chosen, against = did.effect, f"relative to {len(did.peers)} peer councils without such an initiative"
    else:
        chosen, against = (
            its.level_change,
            "against the council's own trend before it (no peer comparison was possible)",
        )
    started = f"from the initiative's start in {periods.label(its.start)}"
    text = f"{name} {_change_words(definition, chosen, alpha)} {started}, {against}; "
    if chosen.excludes_zero:
        better = definition.is_better(chosen.estimate, 0.0)
        judgement = "" if better is None else (" an improvement" if better else " a deterioration")
        text += f"the interval excludes no effect{',' if judgement else ''}{judgement and ' so this is' + judgement}."
    else:
        text += "the interval includes no effect, so the data cannot tell this change from chance."
    if did is not None and its.level_change.excludes_zero != did.effect.excludes_zero:
        change = f"{_amount(definition, its.level_change.estimate)}{_unit(definition)}"
        text += f" The council's own series alone shows a level change of {change}."
    return text + " A before-and-after comparison cannot rule out other changes made at the same time."
