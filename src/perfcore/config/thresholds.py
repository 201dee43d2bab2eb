"""How the analytics are tuned, read from ``parameters/thresholds.yaml``.

The file is the one home of every number here: the dataclasses have no
defaults, every key is required, and a key the table does not declare is an
error, so a misspelling cannot be silently ignored (``THRESHOLDS`` below is
the file's declaration). Tests load the shipped file and vary it with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perfcore.config.reader import Choice, Flag, Key, ListOf, MappingOf, Number, Table, Text, Whole, read_file, rule

SEVERITIES = ("high", "medium", "low")
ALERT_RULES = (
    "red",
    "spc_beyond_limits",
    "spc_run",
    "spc_trend",
    "spc_two_of_three",
    "forecast_breach",
    "leading_signal",
)


@dataclass(frozen=True)
class SpcSettings:
    baseline_points: int
    min_points: int
    limit_multiplier: float
    sigma_divisor: float
    run_length: int
    trend_length: int
    two_of_three: bool
    beyond_limits: bool


@dataclass(frozen=True)
class ForecastSettings:
    window: int
    min_points: int
    horizon: int
    simulations: int
    seed: int


@dataclass(frozen=True)
class LeadingPair:
    leader: str
    follower: str


@dataclass(frozen=True)
class LeadingSettings:
    pairs: tuple[LeadingPair, ...]
    rises: int
    min_change_pct: float


@dataclass(frozen=True)
class FunnelSettings:
    levels: tuple[float, ...]
    months: int
    proportion_method: str
    overdispersion: str
    winsorise: float
    proportions: tuple[str, ...]
    averages: tuple[tuple[str, float], ...]

    def kind(self, indicator_id: str) -> str | None:
        """'proportion', 'average', or None where no funnel is defined for the indicator."""
        if indicator_id in self.proportions:
            return "proportion"
        if indicator_id in dict(self.averages):
            return "average"
        return None

    def cv(self, indicator_id: str) -> float:
        return dict(self.averages)[indicator_id]


@dataclass(frozen=True)
class SpotlightSettings:
    window: int
    min_months: int


@dataclass(frozen=True)
class InterdependenceSettings:
    indicators: tuple[str, ...]
    max_lag: int
    min_council_months: int
    alpha: float
    shared_data: tuple[tuple[str, str], ...]
    phrases: tuple[tuple[str, str], ...]

    def shares_data(self, a: str, b: str) -> bool:
        return any({a, b} == set(pair) for pair in self.shared_data)

    def phrase(self, indicator_id: str, fallback: str) -> str:
        return dict(self.phrases).get(indicator_id, fallback)


@dataclass(frozen=True)
class ImpactSettings:
    min_months_before: int
    min_months_after: int
    min_peers: int
    errors: str
    hac_maxlags: int
    alpha: float


@dataclass(frozen=True)
class AlertSettings:
    recent_months: int
    forecast_probability: float
    severity: tuple[tuple[str, str], ...]  # every rule in ALERT_RULES, with its level

    def severity_of(self, rule: str) -> str:
        return dict(self.severity)[rule]


@dataclass(frozen=True)
class AnalyticsSettings:
    version: str
    spc: SpcSettings
    forecast: ForecastSettings
    leading: LeadingSettings
    funnel: FunnelSettings
    spotlight: SpotlightSettings
    interdependence: InterdependenceSettings
    impact: ImpactSettings
    alerts: AlertSettings


# --------------------------------------------------------------------------- the file's declaration

_SHARE = Number(above=0, below=1)
_INDICATOR = Text(allowed="an indicator id of framework.yaml")


def _window_covers_min_points(values: dict, at: str) -> None:
    rule(
        values["window"] >= values["min_points"],
        at,
        "window",
        f"{values['window']} is shorter than min_points ({values['min_points']})",
        "at least min_points",
    )


def _min_months_within_window(values: dict, at: str) -> None:
    rule(
        values["min_months"] <= values["window"],
        at,
        "min_months",
        f"{values['min_months']} is more than window ({values['window']})",
        "at most window",
    )


SPC = Table(
    keys=(
        Key(
            "baseline_points",
            Whole(minimum=2),
            "limits from the first this many points of a segment (a moving range needs two)",
        ),
        Key("min_points", Whole(minimum=2), "fewer points in a series or segment: no chart"),
        Key("limit_multiplier", Number(above=0), "process limits: mean +/- this x mean moving range"),
        Key("sigma_divisor", Number(above=0), "sigma = mean moving range / d2 (1.128 for ranges of two)"),
        Key("run_length", Whole(minimum=2), "a shift: this many points in a row on one side of the mean"),
        Key("trend_length", Whole(minimum=3), "a trend: this many points in a row each rising or each falling"),
        Key("two_of_three", Flag(), "the 2-of-3-beyond-2-sigma rule is on"),
        Key("beyond_limits", Flag(), "the point-beyond-a-limit rule is on"),
    ),
    build=SpcSettings,
)

FORECAST = Table(
    keys=(
        Key("window", Whole(minimum=1), "fit a straight line to the last this many months"),
        Key("min_points", Whole(minimum=4), "fewer months: no forecast (a trend and its uncertainty need four)"),
        Key("horizon", Whole(minimum=1), "months ahead"),
        Key("simulations", Whole(minimum=100), "draws from the predictive distribution"),
        Key("seed", Whole(minimum=0), "random seed (reproducible forecasts)"),
    ),
    build=ForecastSettings,
    checks=(_window_covers_min_points,),
)

LEADING = Table(
    keys=(
        Key(
            "pairs",
            ListOf(
                Table(
                    keys=(
                        Key("leader", _INDICATOR, "the leading measure"),
                        Key("follower", _INDICATOR, "the lagging measure"),
                    ),
                    build=LeadingPair,
                )
            ),
            "leading measure, lagging measure",
        ),
        Key("rises", Whole(minimum=1), "consecutive month-on-month worsenings of the leader"),
        Key("min_change_pct", Number(minimum=0), "and at least this much worse overall (% of the starting value)"),
    ),
    build=LeadingSettings,
)

FUNNEL = Table(
    keys=(
        Key("levels", ListOf(_SHARE, min_items=1), "two-sided coverage of the limits, e.g. [0.95, 0.998]"),
        Key("months", Whole(minimum=1), "pool the last this many months per council"),
        Key("proportion_method", Choice(("normal", "exact")), "normal approximation or exact binomial limits"),
        Key("overdispersion", Choice(("none", "multiplicative", "additive")), "allowance for overdispersion"),
        Key("winsorise", Number(minimum=0, below=0.5), "share of z-scores winsorised at each end when estimating it"),
        Key("proportions", ListOf(_INDICATOR), "indicators whose denominator counts cases (binomial)"),
        Key("averages", MappingOf(_INDICATOR, Number(above=0)), "averages of days: per-case coefficient of variation"),
    ),
    build=FunnelSettings,
)

SPOTLIGHT = Table(
    keys=(
        Key("window", Whole(minimum=1), "months looked at"),
        Key("min_months", Whole(minimum=1), "a council needs values in at least this many of them"),
    ),
    build=SpotlightSettings,
    checks=(_min_months_within_window,),
)

INTERDEPENDENCE = Table(
    keys=(
        Key("indicators", ListOf(_INDICATOR, min_items=2), "indicators whose pairs are correlated"),
        Key("max_lag", Whole(minimum=0, maximum=12), "months of lag tried"),
        Key("min_council_months", Whole(minimum=5), "fewer pooled council-months for a pair: not estimated"),
        Key("alpha", _SHARE, "family-wide false discovery rate"),
        Key("shared_data", ListOf(ListOf(_INDICATOR, length=2)), "pairs computed from the same records"),
        Key("phrases", MappingOf(_INDICATOR, Text()), "how sentences name an indicator"),
    ),
    build=InterdependenceSettings,
)

IMPACT = Table(
    keys=(
        Key(
            "min_months_before",
            Whole(minimum=3),
            "months before the start an interrupted time series needs (a level and a slope)",
        ),
        Key("min_months_after", Whole(minimum=2), "months from the start on it needs"),
        Key("min_peers", Whole(minimum=1), "comparison councils difference-in-differences needs"),
        Key("errors", Choice(("ar1", "hac")), "autocorrelated errors: AR(1) GLS or Newey-West"),
        Key("hac_maxlags", Whole(minimum=0), "Newey-West lags when errors: hac"),
        Key("alpha", _SHARE, "1 - confidence level of the intervals"),
    ),
    build=ImpactSettings,
)

ALERTS = Table(
    keys=(
        Key("recent_months", Whole(minimum=1), "a special cause must touch one of the last this many months"),
        Key(
            "forecast_probability", Number(above=0, maximum=1), "alert when the chance of a red month is at least this"
        ),
        Key("severity", MappingOf(Choice(ALERT_RULES), Choice(SEVERITIES), every=ALERT_RULES), "each rule's severity"),
    ),
    build=AlertSettings,
)

THRESHOLDS = Table(
    keys=(
        Key("version", Text(), "the settings' version"),
        Key("spc", SPC, "statistical process control (XmR charts)"),
        Key("forecast", FORECAST, "chance of breaching the red threshold soon"),
        Key("leading", LEADING, "leading signals"),
        Key("funnel", FUNNEL, "funnel plots comparing councils"),
        Key("spotlight", SPOTLIGHT, "best-practice spotlight"),
        Key("interdependence", INTERDEPENDENCE, "lagged correlations between indicators"),
        Key("impact", IMPACT, "impact of initiatives"),
        Key("alerts", ALERTS, "which rules alert, how severe, how recent"),
    ),
    build=AnalyticsSettings,
)


def load_settings(folder: str | Path | None = None) -> AnalyticsSettings:
    """Read ``thresholds.yaml`` from the parameters folder (default: the project's)."""
    from perfcore.config.parameters import parameters_dir

    return read_file(Path(folder or parameters_dir()) / "thresholds.yaml", THRESHOLDS)


def resolve_settings(settings: AnalyticsSettings | None) -> AnalyticsSettings:
    """The settings given, or else those in the project's ``thresholds.yaml``."""
    return settings if settings is not None else load_settings()
