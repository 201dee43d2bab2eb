"""Impact of initiatives: segmented regression, difference-in-differences, refusals, verdicts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfcore import periods
from perfcore.analytics.impact import (
    assess_initiative,
    assess_initiatives,
    difference_in_differences,
    peers_for,
    segmented_regression,
)
from perfcore.analytics.synthetic import ar1, council_codes, series_rows
from perfcore.config.initiatives import Initiative
from perfcore.config.parameters import load_framework
from perfcore.config.thresholds import load_settings
from perfcore.exceptions import AnalyticsError, InsufficientData

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = load_framework(ROOT / "parameters" / "framework.yaml")
SETTINGS = load_settings(ROOT / "parameters")  # the shipped thresholds.yaml; tests vary it with replace()
START = "2024-01"
INITIATIVE_START = "2025-01"  # 12 months before, 12 from the start
EFFECT = -3.0


def monthly(values):
    return pd.Series(values, index=[periods.shift(START, i) for i in range(len(values))])


def _treated_series(rng, months=24, effect=EFFECT, phi=0.3):
    values = 8 + ar1(rng, months, phi, 0.8)
    values[12:] += effect
    return values


def _panel(seed: int, effect: float = EFFECT, peers: int = 8) -> tuple[pd.DataFrame, str, list[str]]:
    """A treated council and peers sharing a consortium-wide shock each month, AR(1) noise each."""
    rng = np.random.default_rng(seed)
    common = ar1(rng, 24, 0.5, 0.5)
    codes = council_codes(peers + 1)
    frames = []
    for number, code in enumerate(codes):
        values = 6 + 0.4 * number + common + ar1(rng, 24, 0.3, 0.8)
        if number == 0:
            values[12:] += effect
        frames.append(series_rows(code, "changes_days", values, START))
    return pd.concat(frames, ignore_index=True), codes[0], codes[1:]


def test_segmented_regression_recovers_a_level_shift_within_its_interval_in_most_seeds():
    seeds, covered, detected = 50, 0, 0
    for seed in range(seeds):
        result = segmented_regression(monthly(_treated_series(np.random.default_rng(seed))), INITIATIVE_START)
        level = result.level_change
        covered += level.ci_low <= EFFECT <= level.ci_high
        detected += level.excludes_zero
    # Nominal 95%; with AR(1) noise (rho 0.3) and 12 + 12 months the simulated coverage is about 91%.
    assert covered / seeds >= 0.84
    assert detected / seeds >= 0.8  # and the intervals are not so wide that they say nothing


def test_difference_in_differences_recovers_the_effect_in_most_seeds():
    seeds, covered = 50, 0
    for seed in range(seeds):
        table, treated, peers = _panel(seed)
        effect = difference_in_differences(table, treated, "changes_days", INITIATIVE_START, peers).effect
        covered += effect.ci_low <= EFFECT <= effect.ci_high
    assert covered / seeds >= 0.84


def test_difference_in_differences_equals_the_two_way_fixed_effects_estimate():
    import statsmodels.formula.api as smf

    # With OLS point estimates (errors: hac) the gap regression is exactly two-way fixed effects;
    # errors: ar1 weights the months by GLS, which moves the estimate a little.
    table, treated, peers = _panel(seed=4)
    ours = difference_in_differences(
        table, treated, "changes_days", INITIATIVE_START, peers, replace(SETTINGS.impact, errors="hac")
    )
    panel = table.assign(
        treated_after=((table["area"] == treated) & (table["period"] >= INITIATIVE_START)).astype(float)
    )
    twfe = smf.ols("value ~ treated_after + C(area) + C(period)", data=panel).fit()
    assert ours.effect.estimate == pytest.approx(twfe.params["treated_after"])
    assert ours.peers == tuple(peers)
    assert 0 < ours.placebo_p <= 1


def test_a_series_without_a_change_gives_an_interval_around_zero():
    result = segmented_regression(
        monthly(_treated_series(np.random.default_rng(2), effect=0.0, phi=0.0)), INITIATIVE_START
    )
    assert result.level_change.ci_low < 0 < result.level_change.ci_high


def test_too_few_months_before_or_after_is_refused_with_the_counts():
    series = monthly(np.arange(24, dtype=float))
    with pytest.raises(
        InsufficientData,
        match=r"4 months of data before 2024-05 and 20 from it on; the impact estimate needs at least 6 before and 4",
    ):
        segmented_regression(series, "2024-05")
    with pytest.raises(InsufficientData, match=r"21 months of data before 2025-10 and 3 from it on"):
        segmented_regression(series, "2025-10")
    with pytest.raises(InsufficientData, match="needs at least 6 before"):
        segmented_regression(series, "2023-01")  # started before the data


def test_peers_leave_out_councils_with_their_own_initiative_on_the_indicator():
    ours = Initiative("a", "S12000011", "2025-01", ("changes_days",), "A")
    theirs = Initiative("b", "S12000042", "2025-03", ("changes_days",), "B")
    elsewhere = Initiative("c", "S12000050", "2025-03", ("accuracy_pct",), "C")
    codes = ["S12000011", "S12000042", "S12000050", "S12000008"]
    assert peers_for(ours, "changes_days", [ours, theirs, elsewhere], codes) == ("S12000050", "S12000008")


def test_an_initiative_is_assessed_with_a_plain_words_verdict():
    table, treated, _ = _panel(seed=0)
    initiative = Initiative("auto", treated, INITIATIVE_START, ("changes_days",), "Automated changes")
    result = assess_initiative(table, FRAMEWORK, initiative, "changes_days", SETTINGS)
    assert result.did is not None and len(result.did.peers) == 8
    effect = result.did.effect
    assert effect.ci_low <= EFFECT <= effect.ci_high
    low, high = sorted((-effect.ci_low, -effect.ci_high))
    assert result.verdict.startswith(
        f"The time to process changes fell by {-effect.estimate:.1f} days (95% CI {low:.1f} to {high:.1f}) "
        "from the initiative's start in January 2025, "
        "relative to 8 peer councils without such an initiative; "
        "the interval excludes no effect, so this is an improvement."
    )
    frame = result.its.fitted
    assert list(frame.columns) == ["period", "value", "fitted", "counterfactual"] and len(frame) == 24


def test_verdict_says_when_the_interval_includes_no_effect():
    table, treated, _ = _panel(seed=1, effect=0.0)
    initiative = Initiative("none", treated, INITIATIVE_START, ("changes_days",), "Nothing much")
    result = assess_initiative(table, FRAMEWORK, initiative, "changes_days", SETTINGS)
    assert not result.did.effect.excludes_zero
    assert "the interval includes no effect, so the data cannot tell this change from chance" in result.verdict


def test_without_peers_the_time_series_alone_is_reported():
    table = series_rows("S12000011", "changes_days", _treated_series(np.random.default_rng(0)), START)
    initiative = Initiative("auto", "S12000011", INITIATIVE_START, ("changes_days",), "Automated changes")
    result = assess_initiative(table, FRAMEWORK, initiative, "changes_days", SETTINGS)
    assert result.did is None and "0 peer councils" in result.did_note
    assert "against the council's own trend before it (no peer comparison was possible)" in result.verdict


def test_assessing_all_initiatives_lists_refusals_with_their_reason():
    table, treated, _ = _panel(seed=0)
    good = Initiative("auto", treated, INITIATIVE_START, ("changes_days",), "Automated changes")
    late = Initiative("late", treated, "2025-11", ("changes_days",), "Too recent")
    results, summary = assess_initiatives(table, FRAMEWORK, [good, late], SETTINGS)
    assert [r.initiative for r in results] == ["auto"]
    assert summary.set_index("initiative").loc["late", "verdict"].startswith("Not estimated: ")
    assert "2 from it on" in summary.set_index("initiative").loc["late", "verdict"]
    assert summary.set_index("initiative").loc["auto", "method"] == "difference-in-differences"


def test_an_indicator_the_initiative_does_not_target_is_an_error():
    table, treated, _ = _panel(seed=0)
    initiative = Initiative("auto", treated, INITIATIVE_START, ("changes_days",), "Automated changes")
    with pytest.raises(AnalyticsError, match="does not target new_claims_days"):
        assess_initiative(table, FRAMEWORK, initiative, "new_claims_days", SETTINGS)


def test_newey_west_errors_remain_available():
    result = segmented_regression(
        monthly(_treated_series(np.random.default_rng(0))), INITIATIVE_START, replace(SETTINGS.impact, errors="hac")
    )
    assert "Newey-West" in result.method
