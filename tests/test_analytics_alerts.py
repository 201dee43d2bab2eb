"""Alerts: which rules raise them, their order, their evidence, and the planted stories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfcore import periods
from perfcore.analytics.alerts import FIELDS, alerts, rule_title
from perfcore.analytics.synthetic import council_codes, series_rows, story_table, with_consortium
from perfcore.config.parameters import load_framework
from perfcore.config.thresholds import load_settings
from perfcore.exceptions import AnalyticsError

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = load_framework(ROOT / "parameters" / "framework.yaml")
SETTINGS = load_settings(ROOT / "parameters")  # the shipped thresholds.yaml; tests vary it with replace()
STABLE = [18.0, 19.0] * 6  # mean 18.5, moving range 1: limits 15.84 .. 21.16


def _table(*frames) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def test_a_red_month_alerts_with_its_red_stretch():
    table = _table(series_rows("S12000042", "new_claims_days", STABLE + [24.0, 26.0, 27.0], "2024-01"))
    found = [a for a in alerts(table, FRAMEWORK, settings=SETTINGS) if a.rule == "red"]
    (red,) = found
    assert (red.area, red.indicator, red.severity, red.started, red.months) == (
        "S12000042",
        "new_claims_days",
        "high",
        "2025-02",
        ("2025-02", "2025-03"),
    )
    assert (
        red.evidence == "New claims, days was 27.0 days in March 2025, red (worse than 25.0 days); "
        "red for 2 months since February 2025."
    )


def test_a_concerning_special_cause_alerts_with_the_rule_and_when_it_started():
    table = _table(series_rows("S12000042", "new_claims_days", STABLE + [18.0, 19.0, 22.0, 23.0], "2024-01"))
    (alert,) = alerts(table, FRAMEWORK, settings=SETTINGS)
    assert (alert.rule, alert.severity, alert.started, alert.months) == (
        "spc_beyond_limits",
        "high",
        "2025-03",
        ("2025-03", "2025-04"),
    )
    assert alert.evidence.startswith(
        "New claims, days was 23.0 days in April 2025, above the upper process limit of 21.2 days "
        "(mean 18.5 days; 2 months beyond it since March 2025; above the mean since February 2025)."
    )
    assert (
        "2 of 3 months beyond two sigma" in alert.evidence
    )  # the other rule that fired is mentioned, not a second alert


def test_fytd_indicators_alert_when_red_but_have_no_chart():
    # FYTD figures accumulate through the year: a rising series is arithmetic, not a special cause.
    rising = series_rows("S12000042", "la_error_overpayment_pct", list(np.linspace(0.1, 0.5, 12)), "2024-04")
    assert alerts(_table(rising), FRAMEWORK, settings=SETTINGS) == []
    red = series_rows("S12000042", "la_error_overpayment_pct", [0.3] * 11 + [0.6], "2024-04")
    assert [a.rule for a in alerts(_table(red), FRAMEWORK, settings=SETTINGS)] == ["red"]


def test_improvements_and_old_special_causes_do_not_alert():
    improving = series_rows("S12000042", "new_claims_days", STABLE + [18.0, 19.0, 14.0, 13.0], "2024-01")
    old = series_rows("S12000008", "new_claims_days", STABLE + [23.0, 18.0, 19.0, 18.0, 19.0, 18.0], "2024-01")
    assert alerts(_table(improving, old), FRAMEWORK, settings=SETTINGS) == []


def test_a_forecast_breach_alerts_before_the_indicator_is_red():
    values = list(np.linspace(15, 24.5, 12))  # rising 0.86 a month, still amber
    found = alerts(_table(series_rows("S12000042", "new_claims_days", values, "2024-01")), FRAMEWORK, settings=SETTINGS)
    forecast = next(a for a in found if a.rule == "forecast_breach")
    assert forecast.months == ("2025-01", "2025-02", "2025-03")
    assert (
        "chance of at least one red month (worse than 25.0 days) from January 2025 to March 2025" in forecast.evidence
    )
    assert not any(a.rule == "red" for a in found)


def test_alerts_are_ordered_worst_first():
    # Twenty months each, so all end in 2025-08.
    red = series_rows("S12000042", "new_claims_days", STABLE + [18.0, 19.0] * 3 + [18.0, 30.0], "2024-01")
    run = series_rows(
        "S12000008", "new_claims_days", STABLE + [19.5] * 8, "2024-01"
    )  # above the mean 8 months, within limits
    backlog = _table(
        series_rows(
            "S12000050", "work_on_hand_over_30_days", [102.0] + [100.0, 104.0] * 8 + [110.0, 125.0, 140.0], "2024-01"
        ),
        series_rows("S12000050", "new_claims_days", STABLE + [18.0, 19.0] * 4, "2024-01"),
    )
    bigger_red = series_rows("S12000038", "new_claims_days", STABLE + [18.0, 19.0] * 3 + [18.0, 40.0], "2024-01")
    found = alerts(_table(red, run, backlog, bigger_red), FRAMEWORK, settings=SETTINGS, include_consortium=False)
    severities = [a.severity for a in found]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)
    highs = [a for a in found if a.severity == "high"]
    assert [a.deviation for a in highs] == sorted((a.deviation for a in highs), reverse=True)
    assert highs[0].area == "S12000038"  # the bigger deviation first
    assert ("S12000008", "spc_run") in [(a.area, a.rule) for a in found if a.severity == "medium"]
    assert (found[-1].area, found[-1].rule, found[-1].severity) == ("S12000050", "leading_signal", "low")


def test_alerts_are_as_at_the_period_asked_for():
    table = _table(series_rows("S12000042", "new_claims_days", STABLE + [18.0, 19.0, 30.0], "2024-01"))
    assert alerts(table, FRAMEWORK, period="2025-02", settings=SETTINGS) == []
    assert alerts(table, FRAMEWORK, period="2025-03", settings=SETTINGS)


def test_alerts_are_json_ready_and_named_for_readers():
    table = _table(series_rows("S12000042", "new_claims_days", STABLE + [18.0, 19.0, 30.0], "2024-01"))
    found = alerts(table, FRAMEWORK, settings=SETTINGS)
    payload = json.loads(json.dumps([a.to_dict() for a in found]))
    assert payload[0]["months"] == ["2025-03"] and set(payload[0]) == set(FIELDS)
    assert rule_title(found[0].rule, SETTINGS) in {"Red status", "Beyond the process limits"}
    assert rule_title("spc_run", SETTINGS) == f"Run of {SETTINGS.spc.run_length} on one side of the mean"


def test_the_planted_deterioration_is_flagged_with_its_rule_and_start():
    story = story_table(seed=0)
    found = alerts(story.table, FRAMEWORK, settings=SETTINGS)
    last_four = periods.span(periods.shift(story.end, -3), story.end)
    flagged = [a for a in found if a.area == story.deteriorating and a.indicator == "new_claims_days"]
    rules = {a.rule for a in flagged}
    assert "spc_beyond_limits" in rules and "red" in rules
    spc = next(a for a in flagged if a.rule == "spc_beyond_limits")
    assert spc.started in last_four and spc.severity == "high"
    assert found.index(spc) < 3  # among the worst
    # The initiative improved changes: no concerning alert for it.
    assert not [a for a in found if a.area == story.initiative_council and a.indicator == "changes_days"]


def _full_table(councils: int = 27, months: int = 24, seed: int = 0) -> pd.DataFrame:
    """Every framework indicator for every council and month, plausible magnitudes, pooled row included."""
    rng = np.random.default_rng(seed)
    frames = []
    for code in council_codes(councils):
        for indicator in FRAMEWORK.indicators:
            level = indicator.thresholds.green if indicator.thresholds else 100.0
            values = level * (1 + 0.05 * rng.standard_normal(months))
            if indicator.is_ratio:
                denominators = np.round(rng.uniform(100, 1000) * (1 + 0.05 * rng.standard_normal(months)))
                frames.append(
                    series_rows(
                        code,
                        indicator.id,
                        values,
                        "2023-01",
                        numerators=values * denominators / indicator.scale,
                        denominators=denominators,
                    )
                )
            else:
                frames.append(series_rows(code, indicator.id, values, "2023-01"))
    return with_consortium(pd.concat(frames, ignore_index=True), {i.id: i.scale for i in FRAMEWORK.indicators})


def test_every_analysis_covers_27_councils_and_every_indicator():
    # How long this takes is measured by bench/bench_analytics.py, against a plain pandas pass.
    from perfcore.analytics.benchmark import funnel, ranks, spotlights
    from perfcore.analytics.interdependence import lagged_correlations

    table = _full_table()
    councils = set(table["area"]) - {"consortium"}
    assert table["indicator"].nunique() == 15 and len(councils) == 27
    assert {a.area for a in alerts(table, FRAMEWORK, settings=SETTINGS)} <= councils | {"consortium"}
    assert not lagged_correlations(table, SETTINGS).empty
    ranked = ranks(table, FRAMEWORK)
    assert not ranked.empty and (ranked.groupby("indicator")["area"].nunique() == 27).all()
    assert (ranked["of"] == 27).all() and set(ranked["area"]) == councils
    assert all(s.councils == 27 for s in spotlights(table, FRAMEWORK, settings=SETTINGS))
    for indicator in ("new_claims_days", "changes_days", "accuracy_pct", "calls_answered_pct"):
        assert set(funnel(table, FRAMEWORK, indicator, settings=SETTINGS).points["area"]) == councils


def test_an_empty_table_is_an_analytics_error():
    empty = series_rows("S12000042", "new_claims_days", [], "2024-01")
    with pytest.raises(AnalyticsError, match="the indicator table has no values"):
        alerts(empty, FRAMEWORK, settings=SETTINGS)
