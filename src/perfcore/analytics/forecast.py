"""Early warning ahead of the data: breach forecasts and leading signals.

**Breach forecast.** A straight line is fitted (statsmodels OLS) to the last
``forecast.window`` months of a series. Its prediction intervals give, for
each of the next ``forecast.horizon`` months, the chance the value is red
(beyond the amber bound in the bad direction). The chance that *at least one*
of those months is red needs the months' joint distribution: they share the
uncertain slope, so they are not independent. It is simulated from the
predictive distribution of the regression under a flat prior (sigma^2 from its
scaled inverse chi-square, the coefficients given sigma^2 from their normal,
then new noise), whose one-month margins are exactly the OLS prediction
intervals. The seed is fixed, so a rebuild gives the same figures. The line
ignores autocorrelation and seasonality: with a year of data neither can be
estimated well, and the forecast is a warning, not a plan.

**Leading signal.** A leading measure (work on hand older than 30 days) has
worsened month on month ``leading.rises`` times in a row, by at least
``leading.min_change_pct`` percent overall, while its lagging measure (new
claims days) is not yet red: the backlog usually shows before the processing
times do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcore import periods
from perfcore.analytics import _table
from perfcore.config.thresholds import AnalyticsSettings, ForecastSettings, LeadingSettings, resolve_settings
from perfcore.exceptions import AnalyticsError, InsufficientData


@dataclass(frozen=True)
class BreachForecast:
    area: str
    indicator: str
    last_period: str
    window_start: str
    months_used: int
    level: float  # fitted value at the last period
    slope: float  # change per month
    slope_ci: tuple[float, float]  # 95%
    red_boundary: float  # the amber bound: beyond it (in the bad direction) is red
    better: str
    periods: tuple[str, ...]  # the months ahead
    predicted: tuple[float, ...]
    lower: tuple[float, ...]  # 95% prediction interval
    upper: tuple[float, ...]
    month_probabilities: tuple[float, ...]  # chance each month ahead is red
    probability: float  # chance at least one month ahead is red

    def frame(self) -> pd.DataFrame:
        """The months ahead with prediction, 95% interval and chance of red, for a chart."""
        return pd.DataFrame(
            {
                "period": self.periods,
                "predicted": self.predicted,
                "lower": self.lower,
                "upper": self.upper,
                "probability_red": self.month_probabilities,
            }
        )


def breach_forecast(
    series: pd.Series, indicator, settings: ForecastSettings | None = None, *, area: str = ""
) -> BreachForecast:
    """Chance the indicator is red in at least one of the next months, from its recent trend.

    ``series``: monthly values indexed by 'YYYY-MM'; ``indicator``: a
    framework :class:`~perfcore.config.parameters.Indicator` with thresholds and a direction.
    """
    settings = settings or resolve_settings(None).forecast  # None: the project's thresholds.yaml
    if indicator.thresholds is None or indicator.better is None:
        raise AnalyticsError(f"{indicator.id}: no red threshold to forecast a breach of")
    values = series.astype(float).dropna().sort_index()
    if values.empty:
        raise InsufficientData(f"{area} {indicator.id}: no data to forecast from".strip())
    last = str(values.index[-1])
    first = periods.shift(last, -(settings.window - 1))
    recent = values[values.index >= first]
    if len(recent) < settings.min_points:
        raise InsufficientData(
            f"{area} {indicator.id}: {len(recent)} months from {first} to {last}; "
            f"a forecast needs at least {settings.min_points}".strip()
        )
    return _forecast(recent, indicator, settings, area, first, last)


def _forecast(
    recent: pd.Series, indicator, settings: ForecastSettings, area: str, first: str, last: str
) -> BreachForecast:
    import statsmodels.api as sm

    # Time in calendar months since the window start, so a missing month keeps its gap.
    t = np.array([_months_between(first, str(p)) for p in recent.index], dtype=float)
    fit = sm.OLS(recent.to_numpy(), sm.add_constant(t, has_constant="add")).fit()
    ahead = [periods.shift(last, h) for h in range(1, settings.horizon + 1)]
    t_ahead = np.array([_months_between(first, p) for p in ahead], dtype=float)
    x_ahead = sm.add_constant(t_ahead, has_constant="add")
    intervals = fit.get_prediction(x_ahead).summary_frame(alpha=0.05)
    boundary = indicator.thresholds.amber
    month_p = _month_probabilities(fit, x_ahead, boundary, indicator.better)
    slope_low, slope_high = fit.conf_int(alpha=0.05)[1]
    return BreachForecast(
        area=area,
        indicator=indicator.id,
        last_period=last,
        window_start=first,
        months_used=len(recent),
        level=float(fit.params[0] + fit.params[1] * t[-1]),
        slope=float(fit.params[1]),
        slope_ci=(float(slope_low), float(slope_high)),
        red_boundary=float(boundary),
        better=indicator.better,
        periods=tuple(ahead),
        predicted=tuple(float(v) for v in intervals["mean"]),
        lower=tuple(float(v) for v in intervals["obs_ci_lower"]),
        upper=tuple(float(v) for v in intervals["obs_ci_upper"]),
        month_probabilities=tuple(float(p) for p in month_p),
        probability=_joint_probability(fit, x_ahead, boundary, indicator.better, settings),
    )


def _months_between(start: str, end: str) -> int:
    (y0, m0), (y1, m1) = periods.parse(start), periods.parse(end)
    return (y1 - y0) * 12 + (m1 - m0)


def _month_probabilities(fit, x_ahead: np.ndarray, boundary: float, better: str) -> np.ndarray:
    """Per-month chance of red from the t predictive distribution (the OLS prediction interval)."""
    from scipy import stats

    prediction = fit.get_prediction(x_ahead)
    scale = np.sqrt(prediction.var_pred_mean + fit.scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (boundary - prediction.predicted_mean) / scale
    above = stats.t.sf(z, df=fit.df_resid)
    above = np.where(scale > 0, above, (prediction.predicted_mean > boundary).astype(float))
    return above if better == "lower" else 1 - above


def _joint_probability(fit, x_ahead: np.ndarray, boundary: float, better: str, settings: ForecastSettings) -> float:
    """Chance at least one month ahead is red, simulated from the joint predictive distribution."""
    rng = np.random.default_rng(settings.seed)
    draws, df = settings.simulations, fit.df_resid
    sigma2 = fit.scale * df / rng.chisquare(df, size=draws)  # scaled inverse chi-square
    unscaled = fit.normalized_cov_params  # (X'X)^-1
    chol = np.linalg.cholesky(unscaled + 1e-12 * np.eye(len(unscaled)))
    coefficients = fit.params + (rng.standard_normal((draws, len(fit.params))) @ chol.T) * np.sqrt(sigma2)[:, None]
    future = coefficients @ x_ahead.T + rng.standard_normal((draws, len(x_ahead))) * np.sqrt(sigma2)[:, None]
    red = future > boundary if better == "lower" else future < boundary
    return float(red.any(axis=1).mean())


def breach_forecasts(
    table: pd.DataFrame,
    framework,
    settings: AnalyticsSettings | None = None,
    *,
    period: str | None = None,
    areas: Iterable[str] | None = None,
) -> list[BreachForecast]:
    """Forecasts for every area and monthly thresholded indicator whose data reach ``period`` (default: the latest)."""
    settings = resolve_settings(settings)
    table = _table.up_to(_table.check(table), period)
    period = period or _table.latest_period(table)
    # FYTD figures restart each April: a straight line through them forecasts nothing.
    wanted = [i.id for i in framework.indicators if i.thresholds is not None and i.better and i.window == "month"]
    area_filter = set(areas) if areas is not None else None
    out = []
    for (area, indicator), series in _table.all_series(table, wanted).items():
        if (area_filter is not None and area not in area_filter) or series.empty or series.index[-1] != period:
            continue  # a forecast from stale data would mislead
        try:
            out.append(breach_forecast(series, framework.indicator(indicator), settings.forecast, area=area))
        except InsufficientData:
            continue
    return out


# --------------------------------------------------------------------------- leading signals


@dataclass(frozen=True)
class LeadingSignal:
    area: str
    leader: str
    follower: str
    periods: tuple[str, ...]  # the leader's months from the start of the worsening to the latest
    start_value: float
    end_value: float
    change_pct: float
    follower_value: float | None  # the follower in the latest month
    follower_rag: str | None


def leading_signals(
    table: pd.DataFrame,
    framework,
    settings: AnalyticsSettings | None = None,
    *,
    period: str | None = None,
    areas: Iterable[str] | None = None,
) -> list[LeadingSignal]:
    """Areas where a leading measure has been worsening while its follower is not yet red."""
    settings = resolve_settings(settings)
    table = _table.up_to(_table.check(table), period)
    period = period or _table.latest_period(table)
    area_list = sorted(set(table["area"].unique()) if areas is None else set(areas))
    names = {name for pair in settings.leading.pairs for name in (pair.leader, pair.follower)}
    series = _table.all_series(table, names)
    empty = pd.Series(dtype=float)
    out = []
    for pair in settings.leading.pairs:
        leader, follower = framework.indicator(pair.leader), framework.indicator(pair.follower)
        for area in area_list:
            lead, follow = series.get((area, leader.id), empty), series.get((area, follower.id), empty)
            signal = _leading_signal(lead, follow, area, leader, follower, period, settings.leading)
            if signal is not None:
                out.append(signal)
    return out


def _leading_signal(
    lead: pd.Series, follow: pd.Series, area: str, leader, follower, period: str, settings: LeadingSettings
) -> LeadingSignal | None:
    months = periods.span(periods.shift(period, -settings.rises), period)
    lead = lead.reindex(months)
    if lead.isna().any() or lead.iloc[0] <= 0:
        return None
    steps = np.diff(lead.to_numpy())
    worsening = steps > 0 if leader.better != "higher" else steps < 0
    change_pct = 100 * (lead.iloc[-1] - lead.iloc[0]) / lead.iloc[0]
    if not worsening.all() or abs(change_pct) < settings.min_change_pct:
        return None
    follower_value = float(follow[period]) if period in follow.index else None
    rag = follower.rag(follower_value)
    if rag == "red":
        return None  # already red: the red alert says so
    return LeadingSignal(
        area=area,
        leader=leader.id,
        follower=follower.id,
        periods=tuple(months),
        start_value=float(lead.iloc[0]),
        end_value=float(lead.iloc[-1]),
        change_pct=float(change_pct),
        follower_value=follower_value,
        follower_rag=rag,
    )
