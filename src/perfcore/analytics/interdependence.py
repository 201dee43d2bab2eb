"""How indicators move together: lagged correlations within councils, pooled across them.

For a pair (leader x, follower y) and a lag k (0 to ``interdependence.max_lag``
months), each council's x at month t is paired with its y at month t + k.
Each council's pairs are centred on that council's own means (the fixed-effects
or *within* transformation), so a council that is large or slow on both does
not create a correlation; what is left is "higher than usual for this
council". The centred pairs of all councils are pooled and correlated.

Honest uncertainty: monthly series are autocorrelated, so neighbouring months
are not independent evidence. The effective number of observations is
(n - councils) x (1 - a_x a_y) / (1 + a_x a_y), with a_x and a_y the pooled
within-council lag-1 autocorrelations (Bretherton et al. 1999; never more than
n - councils). The 95% interval is Fisher's z with that effective n, the
p-value a t-test with it, and p-values are adjusted for the many pairs and lags
tested by Benjamini-Hochberg (statsmodels). These are associations: months
when two things happen together say nothing about which causes which without a
design (see ``impact`` for initiatives).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from perfcore import periods
from perfcore.analytics import _table
from perfcore.config.thresholds import AnalyticsSettings, InterdependenceSettings, resolve_settings
from perfcore.exceptions import InsufficientData

COLUMNS = [
    "leader",
    "follower",
    "lag",
    "r",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "significant",
    "council_months",
    "councils",
    "n_effective",
    "shared_data",
]


def lagged_correlations(
    table: pd.DataFrame,
    settings: AnalyticsSettings | None = None,
    *,
    indicators: Iterable[str] | None = None,
    areas: Iterable[str] | None = None,
    period: str | None = None,
) -> pd.DataFrame:
    """Pooled within-council correlations of every pair of indicators at lags 0..max_lag.

    One row per (leader, follower, lag); lag 0 has each unordered pair once.
    Columns: see ``COLUMNS``. Pairs with fewer than
    ``interdependence.min_council_months`` council-months are left out.
    """
    settings = resolve_settings(settings)
    config = settings.interdependence
    table = _table.up_to(_table.check(table), period)
    names = list(indicators) if indicators is not None else list(config.indicators)
    grids = _aligned_grids(table, names, areas)
    if len(grids) < 2:
        raise InsufficientData(f"lagged correlations need at least two indicators with data; found {sorted(grids)}")
    persistence = {name: _lag1_autocorrelation(grid) for name, grid in grids.items()}
    rows = []
    for lag in range(config.max_lag + 1):
        for i, leader in enumerate(grids):
            for j, follower in enumerate(grids):
                if leader == follower or (lag == 0 and j < i):
                    continue
                row = _pair(grids[leader], grids[follower], lag, persistence[leader], persistence[follower], config)
                if row is not None:
                    rows.append(
                        {
                            "leader": leader,
                            "follower": follower,
                            "lag": lag,
                            **row,
                            "shared_data": config.shares_data(leader, follower),
                        }
                    )
    return _adjust(
        pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_adjusted", "significant")]), config.alpha
    )


def _aligned_grids(table: pd.DataFrame, names: list[str], areas: Iterable[str] | None) -> dict[str, np.ndarray]:
    """Each indicator as a months x councils array on one shared calendar and council order."""
    wides = {name: _table.wide(table, name, areas=areas) for name in names}
    wides = {name: w for name, w in wides.items() if not w.empty}
    if not wides:
        return {}
    months = sorted(set().union(*(w.index for w in wides.values())))
    calendar = periods.span(months[0], months[-1])
    councils = sorted(set().union(*(w.columns for w in wides.values())))
    return {name: w.reindex(index=calendar, columns=councils).to_numpy(dtype=float) for name, w in wides.items()}


def _centre(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Subtract each council's (column's) mean over the masked months; elsewhere NaN."""
    kept = np.where(mask, values, np.nan)
    with np.errstate(invalid="ignore"):
        return kept - np.nanmean(kept, axis=0, keepdims=True)


def _lag1_autocorrelation(grid: np.ndarray) -> float:
    """Pooled within-council correlation of each month with the one before."""
    now, before = grid[1:], grid[:-1]
    mask = ~np.isnan(now) & ~np.isnan(before)
    a, b = _centre(now, mask)[mask], _centre(before, mask)[mask]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _pair(x: np.ndarray, y: np.ndarray, lag: int, ax: float, ay: float, config: InterdependenceSettings) -> dict | None:
    from scipy import stats

    leader = x[: len(x) - lag] if lag else x
    follower = y[lag:]
    mask = ~np.isnan(leader) & ~np.isnan(follower)
    usable = mask.sum(axis=0) >= 3  # a council needs a few pairs for its own mean to mean anything
    mask &= usable[None, :]
    n, councils = int(mask.sum()), int(usable.sum())
    if n < config.min_council_months:
        return None
    a, b = _centre(leader, mask)[mask], _centre(follower, mask)[mask]
    if a.std() == 0 or b.std() == 0:
        return None
    r = float(np.clip(np.corrcoef(a, b)[0, 1], -0.999999, 0.999999))
    n_eff = _effective_n(n, councils, ax, ay)
    if n_eff <= 3:
        return None
    half = stats.norm.ppf(0.975) / math.sqrt(n_eff - 3)
    t = r * math.sqrt((n_eff - 2) / (1 - r**2))
    return {
        "r": r,
        "ci_low": math.tanh(math.atanh(r) - half),
        "ci_high": math.tanh(math.atanh(r) + half),
        "p_value": float(2 * stats.t.sf(abs(t), df=n_eff - 2)),
        "council_months": n,
        "councils": councils,
        "n_effective": n_eff,
    }


def _effective_n(n: int, councils: int, ax: float, ay: float) -> float:
    """Observations left after council means, discounted for autocorrelation (never inflated)."""
    product = ax * ay
    factor = min(1.0, (1 - product) / (1 + product)) if product > -1 else 1.0
    return (n - councils) * factor


def _adjust(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Benjamini-Hochberg adjusted p-values over every pair and lag tested."""
    from statsmodels.stats.multitest import multipletests

    if frame.empty:
        return frame.assign(p_adjusted=pd.Series(dtype=float), significant=pd.Series(dtype=bool))[COLUMNS]
    reject, adjusted, _, _ = multipletests(frame["p_value"].to_numpy(), alpha=alpha, method="fdr_bh")
    return frame.assign(p_adjusted=adjusted, significant=reject)[COLUMNS]


def correlation_matrix(correlations: pd.DataFrame, lag: int | None = None, value: str = "r") -> pd.DataFrame:
    """Leaders (rows) by followers (columns).

    With ``lag``: that lag's ``value`` column ('r', 'p_adjusted', ...); lag 0
    is filled in both triangles. Without: for each ordered pair, the ``value``
    at the lag with the largest absolute r (``value='lag'`` gives that lag).
    """
    rows = _both_ways_at_lag_zero(correlations)
    if lag is not None:
        rows = rows[rows["lag"] == lag]
    else:
        rows = rows.loc[rows.assign(size=rows["r"].abs()).groupby(["leader", "follower"])["size"].idxmax()]
    names = list(dict.fromkeys([*correlations["leader"], *correlations["follower"]]))
    matrix = rows.pivot(index="leader", columns="follower", values=value)
    return matrix.reindex(index=names, columns=names)


def _both_ways_at_lag_zero(correlations: pd.DataFrame) -> pd.DataFrame:
    same_month = correlations[correlations["lag"] == 0]
    mirrored = same_month.rename(columns={"leader": "follower", "follower": "leader"})
    return pd.concat([correlations, mirrored], ignore_index=True)


def strongest_pairs(
    correlations: pd.DataFrame,
    top: int = 5,
    *,
    min_lag: int = 1,
    significant_only: bool = True,
    one_lag_per_pair: bool = True,
) -> pd.DataFrame:
    """The strongest relationships, by absolute r: lagged ones by default, significant after BH.

    Same-month pairs computed from the same records are left out: their
    correlation is arithmetic, not behaviour.
    """
    rows = correlations[(correlations["lag"] >= min_lag) & ~((correlations["lag"] == 0) & correlations["shared_data"])]
    if significant_only:
        rows = rows[rows["significant"]]
    rows = rows.assign(size=rows["r"].abs()).sort_values("size", ascending=False)
    if one_lag_per_pair:
        rows = rows.drop_duplicates(["leader", "follower"])
    return rows.drop(columns="size").head(top).reset_index(drop=True)


def describe_pairs(pairs: pd.DataFrame, framework, settings: AnalyticsSettings | None = None) -> list[str]:
    """A plain-English sentence per row of a correlations frame (e.g. from ``strongest_pairs``)."""
    settings = resolve_settings(settings)
    return [_sentence(row, framework, settings.interdependence) for row in pairs.itertuples(index=False)]


def _sentence(row, framework, config: InterdependenceSettings) -> str:
    leader, follower = framework.indicator(row.leader), framework.indicator(row.follower)
    x = config.phrase(leader.id, leader.short.lower())
    y = config.phrase(follower.id, follower.short.lower())
    moves = "higher" if row.r > 0 else "lower"
    judgement = ""
    if follower.better is not None:
        judgement = " (worse)" if (moves == "higher") == (follower.better == "lower") else " (better)"
    when = {0: "in the same month", 1: "the following month"}.get(row.lag, f"{row.lag} months later")
    text = (
        f"When {x} is higher than usual in a council, {y} is {moves} than usual{judgement} {when} "
        f"(r = {row.r:.2f}, 95% CI {row.ci_low:.2f} to {row.ci_high:.2f}, pooled over {row.councils} councils, "
        f"{row.council_months} council-months)."
    )
    if not row.significant:
        text += f" After allowing for the many pairs tested this could be chance (adjusted p = {row.p_adjusted:.2f})."
    if row.lag == 0 and row.shared_data:
        text += " Both are computed from the same records, so part of this is arithmetic."
    return text + " This is an association, not proof of cause."
