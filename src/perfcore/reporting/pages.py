"""What a page shows from beyond its own council's data: declared once, drawn and fingerprinted from the same object.

A council's monthly report shows its own submissions in depth and, from the
other councils, only what ``from_other_councils`` returns: its positions among
the members (the library's ranks and quartiles), the consortium's pooled
series beside each trend it draws, and its initiatives' estimates against peer
councils with the peers' series. council.ipynb takes exactly these parts from
the returned object (asking it for a trend it does not declare is an error),
and the runner hashes ``digest()`` of the same object into the page's
fingerprint (``Report.shows`` in ``build.runner.REPORTS`` names this
function). So another council's new data re-runs the page when, and only
when, something the page prints changes, and nothing is kept in step by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perfcore.config.parameters import CONSORTIUM
from perfcore.reporting import analysis, tables
from perfcore.reporting.data import ReportData, series

if TYPE_CHECKING:
    import pandas as pd

# The trend charts of the council page (and the consortium page's league tables).
TREND_INDICATORS = (
    "new_claims_days",
    "changes_days",
    "new_claims_within_14_days_pct",
    "accuracy_pct",
    "calls_answered_pct",
)
SUBSIDY_INDICATOR = "la_error_overpayment_pct"  # the subsidy section draws its trend too
COUNCIL_TRENDS = (*TREND_INDICATORS, SUBSIDY_INDICATOR)


@dataclass(frozen=True)
class FromOtherCouncils:
    """Everything a council's page shows that other councils' data can change."""

    area: str
    positions: tuple[tables.Position, ...]  # rank, quartile and consortium figure per ranked indicator
    consortium: Mapping[str, pd.DataFrame]  # indicator -> period, value: the pooled series beside each trend
    initiatives: tuple[Any, ...]  # analytics.ImpactResult of the council's initiatives (estimated against peers)
    impact: pd.DataFrame | None  # their summary, None without initiatives
    peers: Mapping[tuple[str, str], pd.DataFrame]  # (initiative, indicator) -> the peer councils' pooled series

    def trend(self, data: ReportData, indicator_id: str) -> pd.DataFrame:
        """period, value, consortium: the council's own series beside the declared consortium series."""
        if indicator_id not in self.consortium:
            raise KeyError(
                f"{indicator_id}: the council page declares the consortium series it draws in "
                f"reporting.pages.COUNCIL_TRENDS ({', '.join(COUNCIL_TRENDS)}); add it there"
            )
        pooled = self.consortium[indicator_id].rename(columns={"value": "consortium"})
        return series(data, self.area, indicator_id).merge(pooled, on="period")

    def peer_average(self, result: Any) -> pd.DataFrame | None:
        """The peers' pooled series an initiative's chart draws beside the council, or None without peers."""
        return self.peers.get((result.initiative, result.indicator))

    def digest(self, data: ReportData) -> dict[str, Any]:
        """What the page prints from these parts, formatted as printed, and what its tables' and charts'
        CSVs hold, unrounded (``downloads``): the build fingerprints this."""
        framework = data.framework
        return {
            "downloads": {
                "positions": [
                    (p.indicator.id, p.rank, p.of, p.quartile, _figure(p.consortium)) for p in self.positions
                ],
                "consortium": {i: [_figure(v) for v in frame["value"]] for i, frame in self.consortium.items()},
            },
            "positions": tables.position_table(self.positions).to_dict("records"),
            "consortium": {
                i: [framework.indicator(i).format(v) for v in frame["value"]] for i, frame in self.consortium.items()
            },
            "impact": [] if self.impact is None else tables.impact_table(data, self.impact).to_dict("records"),
            "peers": {
                f"{initiative} {indicator}": [framework.indicator(indicator).format(v) for v in frame["value"]]
                for (initiative, indicator), frame in self.peers.items()
            },
        }


def _figure(value: Any) -> float | None:
    """An unrounded figure as JSON can hold it (NaN is no figure)."""
    return None if value is None or value != value else float(value)


def from_other_councils(data: ReportData, area: str) -> FromOtherCouncils:
    """What council ``area``'s page shows from beyond its own data (see the module's docstring)."""
    results, summary = analysis.initiative_results(data, area)
    peers = {}
    for result in results:
        if result.did and result.did.peers:
            peers[(result.initiative, result.indicator)] = analysis.peer_average(
                data, area, result.indicator, result.did.peers
            )
    return FromOtherCouncils(
        area=area,
        positions=tuple(tables.positions(data, area)),
        consortium={i: series(data, CONSORTIUM, i) for i in COUNCIL_TRENDS},
        initiatives=tuple(results),
        impact=summary,
        peers=peers,
    )
