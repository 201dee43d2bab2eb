"""Lagged within-council correlations, pooled across councils."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfcore.analytics.interdependence import correlation_matrix, describe_pairs, lagged_correlations, strongest_pairs
from perfcore.analytics.synthetic import ar1, council_codes, series_rows, story_table
from perfcore.config.thresholds import AnalyticsSettings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def _framework():
    from perfcore.config.parameters import load_framework

    return load_framework(ROOT / "parameters" / "framework.yaml")


def _settings(
    indicators=("work_on_hand_over_30_days", "new_claims_days", "changes_days", "calls_answered_pct"), **kwargs
) -> AnalyticsSettings:
    shipped = load_settings(ROOT / "parameters")
    return replace(shipped, interdependence=replace(shipped.interdependence, indicators=tuple(indicators), **kwargs))


def _panel(
    seed: int, councils: int = 10, months: int = 24, lag_effect: float = 0.0, level_link: float = 0.0
) -> pd.DataFrame:
    """Independent series per council, optionally x(t) -> y(t+1), optionally levels linked across councils."""
    rng = np.random.default_rng(seed)
    frames = []
    for code in council_codes(councils):
        size = rng.uniform(50, 500)  # council effect: big councils have more of everything
        x = size + ar1(rng, months + 1, 0.5, 20)
        y = 18 + level_link * size + lag_effect * (x[:-1] - size) + rng.normal(0, 1.5, months)
        frames += [
            series_rows(code, "work_on_hand_over_30_days", x[1:], "2023-01"),
            series_rows(code, "new_claims_days", y, "2023-01"),
            series_rows(code, "changes_days", 7 + ar1(rng, months, 0.3, 0.8), "2023-01"),
            series_rows(code, "calls_answered_pct", 88 + rng.normal(0, 2, months), "2023-01"),
        ]
    return pd.concat(frames, ignore_index=True)


def test_a_planted_lag_one_relationship_is_recovered_and_ranks_first():
    table = _panel(seed=3, lag_effect=0.05)
    found = lagged_correlations(table, _settings())
    top = strongest_pairs(found).iloc[0]
    assert (top["leader"], top["follower"], top["lag"]) == ("work_on_hand_over_30_days", "new_claims_days", 1)
    # True within-council correlation: 0.05 x 20/sqrt(0.75) / sqrt((0.05 x 23.1)^2 + 1.5^2) = 0.61.
    assert top["ci_low"] < 0.61 < top["ci_high"]
    assert top["significant"] and top["councils"] == 10 and top["council_months"] == 230
    # The same pair the other way round (new claims days leading the backlog) is not what was planted.
    reverse = found[
        (found["leader"] == "new_claims_days")
        & (found["follower"] == "work_on_hand_over_30_days")
        & (found["lag"] == 1)
    ]
    assert abs(reverse["r"].item()) < 0.3


def test_the_council_effect_is_removed():
    # Big councils have both more backlog and slower claims, but within a council the two are unrelated.
    table = _panel(seed=5, level_link=0.03)
    raw = table.pivot_table(index=["area", "period"], columns="indicator", values="value")
    assert raw["work_on_hand_over_30_days"].corr(raw["new_claims_days"]) > 0.8
    found = lagged_correlations(table, _settings())
    same_month = found[
        (found["leader"] == "work_on_hand_over_30_days")
        & (found["follower"] == "new_claims_days")
        & (found["lag"] == 0)
    ]
    assert abs(same_month["r"].item()) < 0.2 and not same_month["significant"].item()


def test_independent_series_rarely_yield_a_significant_pair():
    seeds_with_findings = sum(
        bool(lagged_correlations(_panel(seed), _settings())["significant"].any()) for seed in range(20)
    )
    # Benjamini-Hochberg at 5% bounds the chance of any false finding under the global null at 5%.
    assert seeds_with_findings <= 3


def test_autocorrelation_shrinks_the_effective_sample():
    found = lagged_correlations(_panel(seed=1), _settings())
    row = found[
        (found["leader"] == "work_on_hand_over_30_days") & (found["follower"] == "changes_days") & (found["lag"] == 1)
    ].iloc[0]
    assert row["n_effective"] < row["council_months"] - row["councils"]
    assert np.tanh(np.arctanh(row["r"]) + 1.96 / np.sqrt(row["n_effective"] - 3)) == pytest.approx(
        row["ci_high"], abs=1e-4
    )


def test_lags_and_pairs_are_all_tested_once():
    found = lagged_correlations(_panel(seed=2), _settings())
    # 4 indicators: 6 unordered pairs at lag 0, 12 ordered pairs at each of lags 1-3.
    assert len(found) == 6 + 3 * 12
    assert set(found["lag"]) == {0, 1, 2, 3}
    assert (found["p_adjusted"] >= found["p_value"]).all()


def test_the_matrix_has_leaders_as_rows_and_mirrors_the_same_month():
    found = lagged_correlations(_panel(seed=2, lag_effect=0.05), _settings())
    same_month = correlation_matrix(found, lag=0)
    assert same_month.loc["new_claims_days", "changes_days"] == same_month.loc["changes_days", "new_claims_days"]
    lagged = correlation_matrix(found, lag=1)
    assert lagged.loc["work_on_hand_over_30_days", "new_claims_days"] > 0.5
    best_lag = correlation_matrix(found, value="lag")
    assert best_lag.loc["work_on_hand_over_30_days", "new_claims_days"] == 1
    assert np.isnan(lagged.loc["changes_days", "changes_days"])


def test_pairs_are_described_in_plain_words_without_causal_claims():
    framework = _framework()
    settings = _settings()
    found = lagged_correlations(_panel(seed=3, lag_effect=0.05), settings)
    (sentence,) = describe_pairs(strongest_pairs(found, top=1), framework, settings)
    assert sentence.startswith(
        "When work on hand older than 30 days is higher than usual in a council, "
        "the time to process new claims is higher than usual (worse) the following month (r = 0."
    )
    assert "pooled over 10 councils, 230 council-months" in sentence
    assert sentence.endswith("This is an association, not proof of cause.")
    weak = found[
        (found["leader"] == "changes_days") & (found["follower"] == "calls_answered_pct") & (found["lag"] == 2)
    ]
    assert "could be chance" in describe_pairs(weak, framework, settings)[0]


def test_the_story_tables_backlog_lead_is_the_strongest_lagged_pair():
    story = story_table(seed=11)
    settings = _settings(
        indicators=(
            "work_on_hand_over_30_days",
            "new_claims_days",
            "changes_days",
            "new_claims_within_14_days_pct",
            "calls_answered_pct",
        )
    )
    top = strongest_pairs(lagged_correlations(story.table, settings), top=3)
    leading = top[(top["leader"] == "work_on_hand_over_30_days") & (top["follower"] == "new_claims_days")]
    assert not leading.empty and leading["lag"].item() == 1
