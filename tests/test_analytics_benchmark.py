"""Ranks and quartiles, funnel plots (hand-worked), best-practice spotlight."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfcore.analytics.benchmark import funnel, group_figures, ranks, spotlight, z_of
from perfcore.analytics.synthetic import series_rows, with_consortium
from perfcore.config.parameters import load_framework
from perfcore.config.thresholds import load_settings
from perfcore.exceptions import AnalyticsError, InsufficientData

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = load_framework(ROOT / "parameters" / "framework.yaml")
SETTINGS = load_settings(ROOT / "parameters")  # the shipped thresholds.yaml; tests vary it with replace()
# The hand-worked examples: one month, plain limits (no overdispersion allowance).
ONE_MONTH = replace(SETTINGS, funnel=replace(SETTINGS.funnel, months=1, overdispersion="none"))


def month_table(indicator: str, counts: dict[str, tuple[float, float]], scale: float = 1.0) -> pd.DataFrame:
    rows = [
        series_rows(area, indicator, [scale * num / den], "2024-06", numerators=[num], denominators=[den])
        for area, (num, den) in counts.items()
    ]
    return with_consortium(pd.concat(rows, ignore_index=True), {indicator: scale})


# Three councils whose pooled proportion is exactly 0.9: (82 + 368 + 450) / (100 + 400 + 500) = 900 / 1000.
PROPORTIONS = {"S12000011": (82, 100), "S12000042": (368, 400), "S12000050": (450, 500)}


def test_z_values_are_the_usual_ones():
    assert z_of(0.95) == pytest.approx(1.96, abs=0.001)
    assert z_of(0.998) == pytest.approx(3.09, abs=0.001)


def test_proportion_funnel_limits_match_the_hand_worked_example():
    plot = funnel(
        month_table("new_claims_within_14_days_pct", PROPORTIONS, 100),
        FRAMEWORK,
        "new_claims_within_14_days_pct",
        settings=ONE_MONTH,
    )
    assert plot.kind == "proportion" and plot.target == pytest.approx(90.0)
    # n = 100: s = sqrt(0.9 x 0.1 / 100) = 0.03
    #   95%:   0.9 -/+ 1.96 x 0.03 = 0.8412 .. 0.9588
    #   99.8%: 0.9 -/+ 3.09 x 0.03 = 0.8073 .. 0.9927
    # n = 400: s = 0.015; 95%: 0.8706 .. 0.9294
    limits = plot.limits([100, 400]).set_index("n")
    assert limits.loc[100, "lower_95"] == pytest.approx(84.12, abs=0.01)
    assert limits.loc[100, "upper_95"] == pytest.approx(95.88, abs=0.01)
    assert limits.loc[100, "lower_99.8"] == pytest.approx(80.73, abs=0.01)
    assert limits.loc[100, "upper_99.8"] == pytest.approx(99.27, abs=0.01)
    assert limits.loc[400, "lower_95"] == pytest.approx(87.06, abs=0.01)
    assert limits.loc[400, "upper_95"] == pytest.approx(92.94, abs=0.01)
    points = plot.points.set_index("area")
    # 82% of 100: below 84.12 (95%) but above 80.73 (99.8%); higher is better, so 'worse' at 95% only.
    assert points.loc["S12000011", "signal_95"] == "worse"
    assert points.loc["S12000011", "signal_99.8"] == ""
    assert points.loc["S12000011", "z"] == pytest.approx((0.82 - 0.9) / 0.03)
    # 92% of 400 is inside 87.06 .. 92.94.
    assert points.loc["S12000042", "signal_95"] == ""


def test_exact_binomial_limits_use_spiegelhalters_interpolation():
    settings = replace(ONE_MONTH, funnel=replace(ONE_MONTH.funnel, proportion_method="exact"))
    plot = funnel(
        month_table("new_claims_within_14_days_pct", PROPORTIONS, 100),
        FRAMEWORK,
        "new_claims_within_14_days_pct",
        settings=settings,
    )
    # Binomial(100, 0.9): the 2.5% quantile is r = 84, with F(84) = 0.03989 and F(83) = 0.02060;
    # alpha = (0.03989 - 0.025) / (0.03989 - 0.02060) = 0.7719; limit = (84 - 0.7719) / 100 = 0.8323.
    # Upper: r = 95, F(95) = 0.97629, F(94) = 0.94242; alpha = 0.0381; limit = (95 - 0.0381) / 100 = 0.9496.
    limits = plot.limits([100]).iloc[0]
    assert limits["lower_95"] == pytest.approx(83.23, abs=0.01)
    assert limits["upper_95"] == pytest.approx(94.96, abs=0.01)
    # For large n the exact and normal limits agree.
    big = plot.limits([100_000]).iloc[0]
    assert big["lower_95"] == pytest.approx(90 - 100 * 1.96 * np.sqrt(0.09 / 100_000), abs=0.01)


def test_average_funnel_limits_match_the_hand_worked_example():
    # Pooled mean (2500 + 7800 + 9700) / (100 + 400 + 500) = 20000 / 1000 = 20 days.
    table = month_table(
        "new_claims_days", {"S12000011": (2500, 100), "S12000042": (7800, 400), "S12000050": (9700, 500)}
    )
    plot = funnel(table, FRAMEWORK, "new_claims_days", settings=ONE_MONTH)
    assert plot.kind == "average" and plot.target == pytest.approx(20.0) and plot.cv == 1.0
    # Per-case SD = cv x mean = 1.0 x 20 = 20 days; n = 100: s = 20 / sqrt(100) = 2.
    #   95%:   20 -/+ 1.96 x 2 = 16.08 .. 23.92;  99.8%: 20 -/+ 3.09 x 2 = 13.82 .. 26.18
    limits = plot.limits([100]).iloc[0]
    assert (limits["lower_95"], limits["upper_95"]) == (pytest.approx(16.08, abs=0.01), pytest.approx(23.92, abs=0.01))
    assert (limits["lower_99.8"], limits["upper_99.8"]) == (
        pytest.approx(13.82, abs=0.01),
        pytest.approx(26.18, abs=0.01),
    )
    points = plot.points.set_index("area")
    assert points.loc["S12000011", "value"] == pytest.approx(25.0)
    assert points.loc["S12000011", "signal_95"] == "worse"  # 25 > 23.92; lower is better
    assert points.loc["S12000011", "signal_99.8"] == ""  # 25 < 26.18


def test_overdispersion_is_estimated_from_winsorised_z_scores():
    table = month_table("new_claims_within_14_days_pct", PROPORTIONS, 100)
    # z = (0.82 - 0.9) / 0.03 = -2.667, (0.92 - 0.9) / 0.015 = 1.333, (0.9 - 0.9) / s = 0.
    # Winsorised at the 10% and 90% quantiles of the three (-2.133 and 1.067):
    # phi = (2.133^2 + 1.067^2 + 0^2) / 3 = (4.551 + 1.138) / 3 = 1.896.
    settings = replace(SETTINGS, funnel=replace(SETTINGS.funnel, months=1, overdispersion="multiplicative"))
    plot = funnel(table, FRAMEWORK, "new_claims_within_14_days_pct", settings=settings)
    assert plot.phi == pytest.approx(1.896, abs=0.001)
    # Limits widen by sqrt(phi): n = 100, 95%: 0.9 - 1.96 x 0.03 x sqrt(1.896) = 0.8190.
    assert plot.limits([100]).iloc[0]["lower_95"] == pytest.approx(81.90, abs=0.01)
    assert plot.points.set_index("area").loc["S12000011", "signal_95"] == ""  # no longer an outlier
    additive = funnel(
        table,
        FRAMEWORK,
        "new_claims_within_14_days_pct",
        settings=replace(SETTINGS, funnel=replace(SETTINGS.funnel, months=1, overdispersion="additive")),
    )
    # tau^2 = (3 x 1.896 - 2) / (sum w - sum w^2 / sum w), w = 1 / s^2 = 1111, 4444, 5556.
    weights = np.array([100, 400, 500]) / 0.09
    expected = (3 * 1.8963 - 2) / (weights.sum() - (weights**2).sum() / weights.sum())
    assert additive.tau2 == pytest.approx(expected, rel=1e-3)


def test_months_are_pooled_before_comparing():
    rows = [
        series_rows(
            "S12000011", "new_claims_days", [30.0, 10.0], "2024-05", numerators=[300, 100], denominators=[10, 10]
        ),
        series_rows(
            "S12000042", "new_claims_days", [20.0, 20.0], "2024-05", numerators=[2000, 2000], denominators=[100, 100]
        ),
        series_rows(
            "S12000050", "new_claims_days", [20.0, 20.0], "2024-05", numerators=[2000, 2000], denominators=[100, 100]
        ),
    ]
    table = pd.concat(rows, ignore_index=True)
    plot = funnel(
        table, FRAMEWORK, "new_claims_days", settings=replace(SETTINGS, funnel=replace(SETTINGS.funnel, months=2))
    )
    assert plot.periods == ("2024-05", "2024-06")
    point = plot.points.set_index("area").loc["S12000011"]
    assert (point["denominator"], point["value"]) == (20, pytest.approx(20.0))


def test_funnels_need_a_definition_and_three_councils():
    table = month_table("new_claims_days", {"S12000011": (2500, 100), "S12000042": (7800, 400)})
    with pytest.raises(InsufficientData, match="2 councils with cases"):
        funnel(table, FRAMEWORK, "new_claims_days", settings=ONE_MONTH)
    with pytest.raises(AnalyticsError, match="no funnel plot is defined"):
        funnel(table, FRAMEWORK, "work_on_hand", settings=ONE_MONTH)


def test_ranks_and_quartiles_follow_the_direction_and_share_ties():
    values = {"S12000011": 15.0, "S12000042": 18.0, "S12000050": 18.0, "S12000008": 30.0}
    table = month_table("new_claims_days", {a: (v * 100, 100) for a, v in values.items()})
    ranked = ranks(table, FRAMEWORK, indicators=["new_claims_days"]).set_index("area")
    assert ranked["rank"].to_dict() == {"S12000011": 1, "S12000042": 2, "S12000050": 2, "S12000008": 4}
    # quartile = ceil(4 x rank / n): ranks 1, 2, 2, 4 of 4 -> 1, 2, 2, 4
    assert ranked["quartile"].to_dict() == {"S12000011": 1, "S12000042": 2, "S12000050": 2, "S12000008": 4}
    assert ranked.loc["S12000008", "rag"] == "red"
    # The consortium figure pools cases: 8100 days / 400 claims = 20.25, not the mean of means.
    assert ranked["consortium_value"].iloc[0] == pytest.approx(20.25)
    peer = ranks(table, FRAMEWORK, areas=["S12000042", "S12000008"], indicators=["new_claims_days"])
    assert list(peer["of"]) == [2, 2] and peer["group_value"].iloc[0] == pytest.approx(24.0)
    assert group_figures(table, FRAMEWORK, ["S12000042", "S12000008"], "new_claims_days").iloc[0] == pytest.approx(24.0)


def test_the_spotlight_picks_sustained_performance_over_one_lucky_month():
    rng = np.random.default_rng(0)
    months = 12
    steady = 16 + 0.3 * rng.standard_normal(months)  # good every month, never the very best
    lucky = np.full(months, 24.0)
    lucky[-1] = 5.0  # one brilliant (latest) month
    table = pd.concat(
        [
            series_rows("S12000011", "new_claims_days", steady, "2024-01"),
            series_rows("S12000042", "new_claims_days", lucky, "2024-01"),
            *[
                series_rows(code, "new_claims_days", 18 + rng.standard_normal(months), "2024-01")
                for code in ("S12000050", "S12000008", "S12000038")
            ],
        ]
    )
    found = spotlight(table, FRAMEWORK, "new_claims_days", settings=SETTINGS, names={"S12000011": "East Renfrewshire"})
    assert found.area == "S12000011"
    assert found.months == 12 and found.top_quarter_share > 0.5
    assert found.sentence.startswith("East Renfrewshire has the best sustained new claims, days: median 16.")
    # The lucky council is best in its lucky month, but not best sustained.
    latest = ranks(table, FRAMEWORK, indicators=["new_claims_days"]).set_index("area")
    assert latest.loc["S12000042", "rank"] == 1


def test_the_spotlight_needs_enough_months():
    table = series_rows("S12000011", "new_claims_days", [15.0] * 3, "2024-10")
    with pytest.raises(InsufficientData, match="no council has 6 months"):
        spotlight(
            table,
            FRAMEWORK,
            "new_claims_days",
            settings=replace(SETTINGS, spotlight=replace(SETTINGS.spotlight, window=12, min_months=6)),
        )


def test_counts_are_not_ranked_unless_asked_for():
    table = pd.concat(
        [
            series_rows(code, "work_on_hand", [value], "2024-06")
            for code, value in (("S12000011", 100.0), ("S12000050", 900.0))
        ]
    )
    assert ranks(table, FRAMEWORK).empty
    assert list(ranks(table, FRAMEWORK, indicators=["work_on_hand"])["area"]) == ["S12000011", "S12000050"]
