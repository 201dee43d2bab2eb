"""Analytics on the indicator table: early warning, benchmarking, interdependencies, impact.

Every function takes the long indicator table of
:func:`perfcore.warehouse.indicators.indicator_table` (columns area, period, indicator,
value, numerator, denominator, framework_version), the
:class:`~perfcore.config.parameters.Framework`, and the analytics settings from
``parameters/thresholds.yaml`` (:func:`perfcore.config.thresholds.load_settings`; ``None`` means the
project's file). Results are frozen dataclasses or DataFrames, ready for
notebooks and the CLI; nothing here draws charts.

Modules:

- :mod:`.spc`: XmR charts, special-cause rules, variation and assurance labels;
- :mod:`.forecast`: chance of a red month soon; leading signals;
- :mod:`.alerts`: everything above as a ranked list of alerts;
- :mod:`.benchmark`: ranks, quartiles, funnel plots, best-practice spotlight;
- :mod:`.interdependence`: lagged within-council correlations, in numbers and words;
- :mod:`.impact`: interrupted time series and difference-in-differences for initiatives;
- :mod:`.synthetic`: tables with known properties for tests and examples.

Names are imported lazily (on first use), so ``import perfcore.analytics``
costs nothing; statsmodels and scipy load only inside the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

# Module (relative to perfcore.analytics, or absolute) -> the names it gives.
# The settings, peer groups and initiatives are read in perfcore.config; they
# are offered here too because every analytics function takes them.
_EXPORTS = {
    "perfcore.config.thresholds": ("AnalyticsSettings", "load_settings"),
    "perfcore.config.peer_groups": ("PeerGroup", "PeerGroups", "load_peer_groups"),
    "perfcore.config.initiatives": ("Initiative", "load_initiatives"),
    "spc": ("SpcChart", "SpcSegment", "SpecialCause", "rules_phrase", "spc_chart", "spc_charts", "xmr"),
    "forecast": ("BreachForecast", "LeadingSignal", "breach_forecast", "breach_forecasts", "leading_signals"),
    "alerts": ("Alert", "alerts", "rule_title"),
    "benchmark": (
        "FunnelPlot",
        "Spotlight",
        "comparable",
        "funnel",
        "group_figures",
        "is_comparable",
        "quartile",
        "rank_values",
        "ranks",
        "spotlight",
        "spotlights",
    ),
    "interdependence": ("correlation_matrix", "describe_pairs", "lagged_correlations", "strongest_pairs"),
    "impact": (
        "DifferenceInDifferences",
        "Estimate",
        "ImpactResult",
        "SegmentedRegression",
        "assess_initiative",
        "assess_initiatives",
        "difference_in_differences",
        "segmented_regression",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'perfcore.analytics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module if "." in module else f"perfcore.analytics.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
