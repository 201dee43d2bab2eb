"""Indicator tables generated with known properties, for tests and worked examples.

The analytics methods are tested on data whose truth is known: stable noise,
a planted shift, a planted lag. These builders produce tables of the same
shape as :func:`perfcore.warehouse.indicators.indicator_table` (area, period,
indicator, value, numerator, denominator, framework_version), including the
pooled 'consortium' rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcore import periods

CONSORTIUM = "consortium"


def council_codes(count: int) -> list[str]:
    """Made-up Scottish GSS codes, S12900001 upwards (no real council has them)."""
    return [f"S129{n:05d}" for n in range(1, count + 1)]


def ar1(rng: np.random.Generator, length: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise: each month keeps ``phi`` of the last month's deviation."""
    out = np.empty(length)
    out[0] = rng.standard_normal() * sd / np.sqrt(1 - phi**2)
    for i in range(1, length):
        out[i] = phi * out[i - 1] + sd * rng.standard_normal()
    return out


def series_rows(
    area: str,
    indicator: str,
    values: Sequence[float],
    start: str,
    *,
    numerators: Sequence[float] | None = None,
    denominators: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Long rows for one area and indicator, monthly from ``start``."""
    months = [periods.shift(start, i) for i in range(len(values))]
    values = np.asarray(values, dtype=float)
    return pd.DataFrame(
        {
            "area": area,
            "period": months,
            "indicator": indicator,
            "value": values,
            "numerator": values if numerators is None else np.asarray(numerators, dtype=float),
            "denominator": np.nan if denominators is None else np.asarray(denominators, dtype=float),
            "framework_version": "synthetic",
        }
    )


def with_consortium(table: pd.DataFrame, scales: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Add pooled 'consortium' rows: sum of numerators over sum of denominators (counts: the sum)."""
    scales = scales or {}
    councils = table[table["area"] != CONSORTIUM]
    pooled = councils.groupby(["indicator", "period"], as_index=False)[["numerator", "denominator"]].sum(min_count=1)
    scale = pooled["indicator"].map(lambda i: scales.get(i, 1.0))
    ratio = pooled["denominator"].notna() & (pooled["denominator"] > 0)
    pooled["value"] = np.where(
        ratio, scale * pooled["numerator"] / pooled["denominator"].where(ratio, 1.0), pooled["numerator"]
    )
    pooled["area"], pooled["framework_version"] = CONSORTIUM, "synthetic"
    return pd.concat([councils, pooled[list(councils.columns)]], ignore_index=True)


@dataclass(frozen=True)
class Story:
    """What was planted in a :func:`story_table`, to check the methods find it."""

    table: pd.DataFrame
    councils: tuple[str, ...]
    start: str
    end: str
    deteriorating: str  # its new_claims_days rise over the last months
    deterioration: tuple[float, ...]  # days added, last months
    initiative_council: str
    initiative_start: str
    initiative_effect: float  # change in changes_days from the start on
    lag_coefficient: float  # extra new-claims days per extra item over 30 days, the month after


def story_table(
    seed: int = 0,
    *,
    councils: int = 10,
    months: int = 24,
    start: str = "2023-01",
    deterioration: Sequence[float] = (4.0, 8.0, 12.0, 16.0),
    initiative_effect: float = -3.0,
    initiative_months_after: int = 12,
    lag_coefficient: float = 0.05,
) -> Story:
    """A consortium with the demo's three stories planted, sized like real councils.

    - every council: work on hand over 30 days (AR(1) around its own level)
      drives new-claims days the *following* month, ``lag_coefficient`` days per item;
    - the second council's new-claims days rise by ``deterioration`` over the last months;
    - the third council's change days shift by ``initiative_effect`` from
      ``initiative_months_after`` months before the end.
    """
    rng = np.random.default_rng(seed)
    codes = council_codes(councils)
    end = periods.shift(start, months - 1)
    initiative_start = periods.shift(end, -(initiative_months_after - 1))
    frames = []
    for number, code in enumerate(codes):
        size = rng.uniform(0.5, 2.0)  # caseload relative to a middling council
        frames += _council(
            rng,
            code,
            number,
            size,
            months,
            start,
            deterioration,
            initiative_effect,
            initiative_months_after,
            lag_coefficient,
        )
    table = with_consortium(
        pd.concat(frames, ignore_index=True), {"new_claims_within_14_days_pct": 100.0, "calls_answered_pct": 100.0}
    )
    return Story(
        table=table,
        councils=tuple(codes),
        start=start,
        end=end,
        deteriorating=codes[1],
        deterioration=tuple(deterioration),
        initiative_council=codes[2],
        initiative_start=initiative_start,
        initiative_effect=initiative_effect,
        lag_coefficient=lag_coefficient,
    )


def _council(rng, code, number, size, months, start, deterioration, effect, months_after, lag) -> list[pd.DataFrame]:
    backlog_level = 120 * size
    backlog = np.maximum(backlog_level + ar1(rng, months + 1, 0.5, 25 * size), 0)  # one month before the start too
    decided = np.round(200 * size * (1 + 0.05 * rng.standard_normal(months)))
    days = 18 + rng.normal(0, 1) + lag * (backlog[:-1] - backlog_level) / size + rng.normal(0, 1.0, months)
    if number == 1:
        days[-len(deterioration) :] += deterioration
    changes = np.round(900 * size * (1 + 0.05 * rng.standard_normal(months)))
    change_days = 7 + rng.normal(0, 0.8) + ar1(rng, months, 0.2, 0.6)
    if number == 2:
        change_days[-months_after:] += effect
    within = np.round(decided * np.clip(0.9 - 0.01 * (days - 18) + rng.normal(0, 0.02, months), 0, 1))
    offered = np.round(3000 * size * (1 + 0.05 * rng.standard_normal(months)))
    answered = np.round(offered * np.clip(0.88 + rng.normal(0, 0.02, months), 0, 1))
    return [
        series_rows(code, "work_on_hand_over_30_days", np.round(backlog[1:]), start),
        series_rows(code, "new_claims_days", days, start, numerators=days * decided, denominators=decided),
        series_rows(code, "changes_days", change_days, start, numerators=change_days * changes, denominators=changes),
        series_rows(
            code,
            "new_claims_within_14_days_pct",
            100 * within / decided,
            start,
            numerators=within,
            denominators=decided,
        ),
        series_rows(
            code, "calls_answered_pct", 100 * answered / offered, start, numerators=answered, denominators=offered
        ),
    ]
