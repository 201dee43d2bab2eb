"""Analytics speed for a large consortium, against a plain pandas pass over the same table.

Not a test: run it by hand (``python bench/bench_analytics.py [--councils 27 54] [--repeat R]``).
For each size it builds a synthetic indicator table (every framework indicator,
every council, 24 months, pooled consortium rows) and measures, in the same run,

* pandas:   one groupby over (area, indicator) computing each series' mean and
            mean moving range, the XmR limits' inputs: the floor anything
            that looks at every series pays;
* perfcore: what a consortium build asks of the analytics: ``alerts`` (SPC
            rules, red stretches, forecasts, leading signals),
            ``lagged_correlations``, ``ranks``, ``spotlights`` and four
            ``funnel`` plots, with the project's ``thresholds.yaml``.

scipy and statsmodels are imported before timing (a build pays that once). It
prints medians over ``--repeat`` runs and the ratio perfcore / pandas. The
fast suite once asserted "under 10 s for 27 councils"; that figure lives here
now, where a busy machine cannot fail a build over it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNNELS = ("new_claims_days", "changes_days", "accuracy_pct", "calls_answered_pct")


def full_table(framework, councils: int, months: int = 24, seed: int = 0):
    """Every framework indicator for every council and month, plausible magnitudes, pooled rows included."""
    import numpy as np
    import pandas as pd

    from perfcore.analytics.synthetic import council_codes, series_rows, with_consortium

    rng = np.random.default_rng(seed)
    frames = []
    for code in council_codes(councils):
        for indicator in framework.indicators:
            level = indicator.thresholds.green if indicator.thresholds else 100.0
            values = level * (1 + 0.05 * rng.standard_normal(months))
            if indicator.is_ratio:
                denominators = np.round(rng.uniform(100, 1000) * (1 + 0.05 * rng.standard_normal(months)))
                numerators = values * denominators / indicator.scale
                frames.append(
                    series_rows(code, indicator.id, values, "2023-01", numerators=numerators, denominators=denominators)
                )
            else:
                frames.append(series_rows(code, indicator.id, values, "2023-01"))
    return with_consortium(pd.concat(frames, ignore_index=True), {i.id: i.scale for i in framework.indicators})


def time_pandas(table) -> float:
    start = time.perf_counter()
    ordered = table.sort_values(["area", "indicator", "period"])
    ordered = ordered.assign(moving_range=ordered.groupby(["area", "indicator"])["value"].diff().abs())
    summary = ordered.groupby(["area", "indicator"]).agg(mean=("value", "mean"), mr=("moving_range", "mean"))
    elapsed = time.perf_counter() - start
    assert len(summary) == table.groupby(["area", "indicator"]).ngroups
    return elapsed


def time_perfcore(table, framework, settings) -> float:
    from perfcore.analytics.alerts import alerts
    from perfcore.analytics.benchmark import funnel, ranks, spotlights
    from perfcore.analytics.interdependence import lagged_correlations

    start = time.perf_counter()
    alerts(table, framework, settings=settings)
    lagged_correlations(table, settings)
    ranks(table, framework)
    spotlights(table, framework, settings=settings)
    for indicator in FUNNELS:
        funnel(table, framework, indicator, settings=settings)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, nargs="+", default=[27, 54])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from perfcore.config.parameters import load_framework
    from perfcore.config.thresholds import load_settings

    framework = load_framework(ROOT / "parameters" / "framework.yaml")
    settings = load_settings(ROOT / "parameters")
    time_perfcore(full_table(framework, 3), framework, settings)  # imports scipy and statsmodels once
    print(f"{'councils':>8} {'rows':>8} {'pandas s':>9} {'perfcore s':>11} {'ratio':>7}")
    for councils in args.councils:
        table = full_table(framework, councils)
        bare, ours = [], []
        for _ in range(args.repeat):  # interleaved, so drift on a shared machine hits both
            bare.append(time_pandas(table))
            ours.append(time_perfcore(table, framework, settings))
        pandas_s, perfcore_s = statistics.median(bare), statistics.median(ours)
        print(f"{councils:>8} {len(table):>8,} {pandas_s:>9.4f} {perfcore_s:>11.3f} {perfcore_s / pandas_s:>7.0f}")


if __name__ == "__main__":
    main()
