"""XmR charts: limits, the four special-cause rules, re-basing, variation and assurance labels."""

from __future__ import annotations

from dataclasses import replace
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from perfcore import periods
from perfcore.analytics.spc import rule_counted, rule_title, rules_phrase, spc_chart, spc_charts, xmr
from perfcore.analytics.synthetic import series_rows
from perfcore.config.parameters import load_framework
from perfcore.config.thresholds import SpcSettings, load_settings
from perfcore.exceptions import InsufficientData

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = load_settings(ROOT / "parameters")  # the shipped thresholds.yaml; tests vary it with replace()
START = "2024-01"

# A baseline of 12 points alternating 10, 12: mean 11, every moving range 2, so
# limits 11 +/- 2.66 x 2 = [5.68, 16.32], sigma 2 / 1.128 = 1.773, 2 sigma line 14.546.
# No point sits on the mean, no two neighbours move the same way: nothing can fire in it.
BASELINE = [10.0, 12.0] * 6


def chart(values, **kwargs):
    series = pd.Series(values, index=[periods.shift(START, i) for i in range(len(values))])
    return xmr(series, **kwargs)


def rules(result):
    return sorted({c.rule for c in result.special_causes})


def test_limits_follow_making_data_count():
    result = chart(BASELINE + [10.0, 12.0] * 4)
    segment = result.latest
    assert segment.mean == pytest.approx(11.0)
    assert segment.mean_moving_range == pytest.approx(2.0)
    assert segment.upper == pytest.approx(11 + 2.66 * 2)
    assert segment.lower == pytest.approx(11 - 2.66 * 2)
    assert segment.sigma == pytest.approx(2 / 1.128)
    assert (segment.baseline_start, segment.baseline_end, segment.baseline_points) == ("2024-01", "2024-12", 12)
    assert result.special_causes == ()
    assert result.variation == "common_cause"


def test_a_point_beyond_the_limits_fires_and_a_near_miss_does_not():
    fired = chart(BASELINE + [10.0, 12.0, 10.0, 16.4, 10.0, 12.0])
    assert rules(fired) == ["beyond_limits"]
    (cause,) = fired.special_causes
    assert cause.periods == ("2025-04",) and cause.direction == "up"
    assert cause.deviation == pytest.approx((16.4 - 11) / (2 / 1.128))
    assert chart(BASELINE + [10.0, 12.0, 10.0, 16.3, 10.0, 12.0]).special_causes == ()


def test_a_run_of_seven_on_one_side_fires_and_six_do_not():
    # The baseline ends above the mean (12), so the run below it starts in 2025-01.
    fired = chart(BASELINE + [10.5] * 7 + [12.0])
    assert rules(fired) == ["run"]
    assert fired.special_causes[0].periods == tuple(periods.span("2025-01", "2025-07"))
    assert fired.special_causes[0].direction == "down"
    assert chart(BASELINE + [10.5] * 6 + [12.0, 10.0]).special_causes == ()


def test_a_point_on_the_mean_breaks_a_run():
    assert chart(BASELINE + [10.5] * 3 + [11.0] + [10.5] * 4).special_causes == ()


def test_a_trend_of_seven_fires_and_six_do_not():
    rising = [10.0, 10.3, 10.6, 10.9, 11.2, 11.5, 11.8]
    fired = chart(BASELINE + rising + [10.0])
    assert rules(fired) == ["trend"]
    assert fired.special_causes[0].periods == tuple(periods.span("2025-01", "2025-07"))
    assert chart(BASELINE + rising[:6] + [10.0, 12.0]).special_causes == ()
    falling = chart(BASELINE + [12.0, 11.8, 11.5, 11.2, 10.9, 10.6, 10.3, 12.0])
    assert [(c.rule, c.direction) for c in falling.special_causes] == [("trend", "down")]


def test_two_of_three_beyond_two_sigma_fires_and_two_of_four_do_not():
    fired = chart(BASELINE + [15.0, 11.5, 15.0, 10.0, 12.0])
    assert rules(fired) == ["two_of_three"]
    assert fired.special_causes[0].periods == ("2025-01", "2025-03")
    assert chart(BASELINE + [15.0, 10.0, 12.0, 15.0, 10.0, 12.0]).special_causes == ()


def test_improving_or_concerning_comes_from_the_direction():
    up = BASELINE + [10.0, 12.0, 17.0]
    assert chart(up, better="lower").special_causes[0].nature == "concerning"
    assert chart(up, better="higher").special_causes[0].nature == "improving"
    assert chart(up).special_causes[0].nature == "neither"
    assert chart(up, better="lower").variation == "special_cause_concerning"
    assert chart(up, better="higher").variation == "special_cause_improving"
    # The variation label reads the latest point: an old special cause is history.
    assert chart(up + [10.0, 12.0], better="lower").variation == "common_cause"


@pytest.mark.parametrize(
    ("centre", "better", "expected"),
    [
        (10.0, "lower", "consistently_met"),  # limits 4.68-15.32, all below the target 20
        (30.0, "lower", "consistently_missed"),  # limits 24.68-35.32, all above it
        (19.0, "lower", "hit_and_miss"),  # the target 20 lies between the limits
        (30.0, "higher", "consistently_met"),
        (10.0, "higher", "consistently_missed"),
    ],
)
def test_assurance_compares_the_target_with_the_limits(centre, better, expected):
    values = [centre - 1, centre + 1] * 8
    assert chart(values, better=better, target=20.0).assurance == expected


def test_no_target_no_assurance():
    assert chart(BASELINE, better="lower").assurance is None


def test_rebasing_gives_each_segment_its_own_limits():
    step = BASELINE + [20.0, 22.0] * 6
    plain = chart(step, better="lower")
    assert {"beyond_limits", "run"} <= set(rules(plain))
    rebased = chart(step, better="lower", rebase_at=["2025-01"])
    assert [s.mean for s in rebased.segments] == pytest.approx([11.0, 21.0])
    assert [s.start for s in rebased.segments] == ["2024-01", "2025-01"]
    assert rebased.special_causes == ()
    frame = rebased.frame()
    assert frame.loc[frame["period"] == "2025-03", "mean"].item() == pytest.approx(21.0)


def test_rebase_refuses_a_segment_too_short_for_limits():
    with pytest.raises(InsufficientData, match=r"segment 2025-01 to 2025-04 has 4 months; re-basing needs at least 8"):
        chart(BASELINE + [20.0, 22.0, 20.0, 22.0], rebase_at=["2025-01"])


def test_the_baseline_can_be_fixed_to_fewer_points():
    values = [10.0, 12.0] * 3 + [15.0, 17.0] * 5  # 17 is beyond the upper limit 16.32 of the first six
    fixed = chart(values, baseline_points=6)
    assert fixed.latest.mean == pytest.approx(11.0)
    assert fixed.latest.baseline_end == "2024-06"
    assert "beyond_limits" in rules(fixed)
    short = chart(BASELINE[:9])  # fewer points than the baseline length: all of them
    assert short.latest.baseline_points == 9


def test_too_few_points_is_refused():
    with pytest.raises(InsufficientData, match="7 months of data; an SPC chart needs at least 8"):
        chart(BASELINE[:7])


def _union_bound(points: int, settings: SpcSettings) -> float:
    """Chance of at least one special cause on stable normal noise with known limits, bounded by the sum over rules.

    beyond the limits: points x P(|Z| > 3)
    run of r:          (points - r + 1) starts x 2 sides x 0.5^r
    trend of t:        (points - t + 1) starts x 2 directions / t!
    2 of 3 beyond 2s:  (points - 2) windows x 2 sides x (3 p^2 (1 - p) + p^3), p = P(Z > 2)
    """
    p2 = stats.norm.sf(2)
    beyond = points * 2 * stats.norm.sf(3)
    run = (points - settings.run_length + 1) * 2 * 0.5**settings.run_length
    trend = (points - settings.trend_length + 1) * 2 / factorial(settings.trend_length)
    two_of_three = (points - 2) * 2 * (3 * p2**2 * (1 - p2) + p2**3)
    return beyond + run + trend + two_of_three  # 0.065 + 0.281 + 0.007 + 0.067 = 0.420 for 24 points


def test_stable_noise_raises_false_alarms_no_more_often_than_expected():
    settings, seeds, points = SETTINGS.spc, 200, 24
    flagged, beyond_points, trends = 0, 0, 0
    for seed in range(seeds):
        noise = 20 + 2 * np.random.default_rng(seed).standard_normal(points)
        result = chart(noise, better="lower")
        flagged += bool(result.special_causes)
        beyond_points += sum(len(c.periods) for c in result.special_causes if c.rule == "beyond_limits")
        trends += any(c.rule == "trend" for c in result.special_causes)
    bound = _union_bound(points, settings)
    assert bound == pytest.approx(0.420, abs=0.002)
    rate = flagged / seeds
    assert rate <= bound + 3 * np.sqrt(bound * (1 - bound) / seeds)
    assert rate >= 0.10  # the rules do fire on noise at about the known rate: they are switched on
    # Per point, beyond 3 sigma is 0.27% with known limits; limits estimated from 12 points roughly triple it.
    assert beyond_points / (seeds * points) < 0.02
    assert trends / seeds < 0.03


def test_charts_from_the_indicator_table_use_the_framework():
    framework = load_framework(ROOT / "parameters" / "framework.yaml")
    table = pd.concat(
        [
            series_rows("S12000042", "new_claims_days", BASELINE + [10.0, 30.0], START),
            series_rows("S12000042", "new_claims_decided", BASELINE + [10.0, 30.0], START),  # no direction: no chart
            series_rows("S12000008", "new_claims_days", BASELINE[:5], START),  # too short: left out
        ]
    )
    one = spc_chart(table, framework, "S12000042", "new_claims_days", SETTINGS)
    assert one.target == 20 and one.better == "lower"
    assert one.variation == "special_cause_concerning"
    charts = spc_charts(table, framework, SETTINGS)
    assert [(c.area, c.indicator) for c in charts] == [("S12000042", "new_claims_days")]
    latest = charts[0].periods[-1]
    assert {c.rule for c in charts[0].special_causes if latest in c.periods} == {"beyond_limits"}
    assert charts[0].assurance == "consistently_met"


def test_rules_are_worded_with_the_lengths_thresholds_yaml_sets():
    settings = replace(SETTINGS.spc, run_length=8, trend_length=6)
    assert rule_title("run", settings) == "Run of 8 on one side of the mean"
    assert rule_title("trend", settings) == "Trend of 6 rising or falling"
    assert rules_phrase(settings) == (
        "a point beyond the limits, 8 on one side of the mean, 6 rising or falling, or 2 of 3 beyond two sigma"
    )
    assert rule_counted("trend", 9) == "a trend of 9 months"
