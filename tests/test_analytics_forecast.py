"""Breach forecasts from the recent trend, and leading signals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfcore import periods
from perfcore.analytics.forecast import breach_forecast, breach_forecasts, leading_signals
from perfcore.analytics.synthetic import series_rows
from perfcore.config.parameters import load_framework
from perfcore.config.thresholds import load_settings
from perfcore.exceptions import AnalyticsError, InsufficientData

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = load_framework(ROOT / "parameters" / "framework.yaml")
SETTINGS = load_settings(ROOT / "parameters")  # the shipped thresholds.yaml; tests vary it with replace()
DAYS = FRAMEWORK.indicator("new_claims_days")  # red above 25
WITHIN_14 = FRAMEWORK.indicator("new_claims_within_14_days_pct")  # red below 80


def monthly(values, start="2024-01"):
    return pd.Series(values, index=[periods.shift(start, i) for i in range(len(values))])


def test_a_trend_heading_for_red_gives_a_high_chance_and_a_flat_series_a_low_one():
    rng = np.random.default_rng(1)
    rising = breach_forecast(monthly(18 + 0.6 * np.arange(12) + 0.3 * rng.standard_normal(12)), DAYS)
    assert rising.periods == ("2025-01", "2025-02", "2025-03")
    assert rising.slope == pytest.approx(0.6, abs=0.1)
    assert rising.probability > 0.9
    flat = breach_forecast(monthly(15 + rng.standard_normal(12)), DAYS)
    assert flat.probability < 0.01


def test_the_chance_of_any_red_month_is_at_least_that_of_each_and_at_most_their_sum():
    rng = np.random.default_rng(7)
    forecast = breach_forecast(monthly(21 + 0.25 * np.arange(12) + rng.standard_normal(12)), DAYS)
    months = forecast.month_probabilities
    assert 0.05 < max(months) < 0.95  # a case where the joint chance is not trivially 0 or 1
    assert max(months) - 0.02 <= forecast.probability <= sum(months) + 0.02
    # Later months are further out: wider intervals.
    widths = np.subtract(forecast.upper, forecast.lower)
    assert list(widths) == sorted(widths)


def test_higher_is_better_indicators_breach_downwards():
    falling = breach_forecast(monthly(92 - 1.2 * np.arange(12)), WITHIN_14)
    assert falling.red_boundary == 80 and falling.probability > 0.9


def test_the_forecast_is_reproducible():
    series = monthly(20 + 0.3 * np.arange(12) + np.random.default_rng(3).standard_normal(12))
    assert breach_forecast(series, DAYS).probability == breach_forecast(series, DAYS).probability


def test_forecasts_need_months_and_a_threshold():
    with pytest.raises(InsufficientData, match="5 months from 2024-02 to 2025-01; a forecast needs at least 6"):
        breach_forecast(monthly([20.0] * 5, start="2024-09"), DAYS)
    with pytest.raises(AnalyticsError, match="no red threshold"):
        breach_forecast(monthly([20.0] * 12), FRAMEWORK.indicator("work_on_hand"))


def test_only_the_window_is_used():
    # A steep rise long ago, flat lately: the last 12 months decide.
    values = list(np.linspace(5, 20, 12)) + [20.0, 20.5] * 6
    forecast = breach_forecast(monthly(values), DAYS, replace(SETTINGS.forecast, window=12))
    assert forecast.window_start == "2025-01" and forecast.months_used == 12
    assert abs(forecast.slope) < 0.1


def test_forecasts_from_the_table_skip_stale_series():
    table = pd.concat(
        [
            series_rows("S12000042", "new_claims_days", 18 + 0.6 * np.arange(12), "2024-01"),
            series_rows("S12000008", "new_claims_days", 18 + 0.6 * np.arange(10), "2024-01"),  # stops early
        ]
    )
    found = breach_forecasts(table, FRAMEWORK, SETTINGS)
    assert [f.area for f in found] == ["S12000042"]


def _backlog_table(backlog, days):
    return pd.concat(
        [
            series_rows("S12000042", "work_on_hand_over_30_days", backlog, "2024-01"),
            series_rows("S12000042", "new_claims_days", days, "2024-01"),
        ]
    )


def test_a_rising_backlog_is_a_leading_signal_before_processing_times_go_red():
    (signal,) = leading_signals(_backlog_table([100, 100, 100, 105, 115, 130], [18.0] * 6), FRAMEWORK, SETTINGS)
    assert (signal.area, signal.leader, signal.follower) == (
        "S12000042",
        "work_on_hand_over_30_days",
        "new_claims_days",
    )
    assert signal.periods == ("2024-03", "2024-04", "2024-05", "2024-06")
    assert signal.change_pct == pytest.approx(30.0)
    assert signal.follower_rag == "green"


@pytest.mark.parametrize(
    ("backlog", "days"),
    [
        ([100, 100, 100, 105, 115, 112], [18.0] * 6),  # the third month fell back
        ([100, 100, 100, 102, 104, 106], [18.0] * 6),  # rising, but only 6%
        ([100, 100, 100, 105, 115, 130], [18.0] * 5 + [26.0]),  # already red: the red alert covers it
    ],
)
def test_near_misses_are_not_leading_signals(backlog, days):
    assert leading_signals(_backlog_table(backlog, days), FRAMEWORK, SETTINGS) == []
