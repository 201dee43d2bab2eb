"""Analytics settings, peer groups and initiatives, read from ``parameters/``.

Three files the consortium owns:

- ``thresholds.yaml``: how the methods are tuned (SPC baseline, rules, forecast
  horizon, funnel limits, minimum months for impact, alert severities);
- ``peer_groups.yaml``: which councils are compared with which;
- ``initiatives.yaml``: improvement initiatives whose impact is estimated.

Each loader takes the parameters folder (default
:func:`perfcore.config.parameters.parameters_dir`), validates once and returns frozen
dataclasses. Bad content raises :class:`~perfcore.exceptions.ConfigError`
naming the file and the field. The dataclass defaults are only fallbacks for a
field ``thresholds.yaml`` leaves out; a field it does not know is an error, so a
misspelling cannot be silently ignored.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from perfcore import periods
from perfcore.exceptions import ConfigError

_GSS = re.compile(r"^(S12|E06|E07|E08|E09|W06)\d{6}$")
_SEVERITIES = ("high", "medium", "low")


# --------------------------------------------------------------------------- settings


class _Invalid(ValueError):
    """A field's value is wrong; the loader adds the file and section."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise _Invalid(field, message)



@dataclass(frozen=True)
class SpcSettings:
    baseline_points: int = 12
    min_points: int = 8
    limit_multiplier: float = 2.66
    sigma_divisor: float = 1.128
    run_length: int = 7
    trend_length: int = 7
    two_of_three: bool = True
    beyond_limits: bool = True

    def __post_init__(self) -> None:
        _require(self.baseline_points >= 2, "baseline_points", "must be at least 2 (a moving range needs two points)")
        _require(self.min_points >= 2, "min_points", "must be at least 2")
        _require(self.limit_multiplier > 0, "limit_multiplier", "must be positive")
        _require(self.sigma_divisor > 0, "sigma_divisor", "must be positive")
        _require(self.run_length >= 2, "run_length", "must be at least 2")
        _require(self.trend_length >= 3, "trend_length", "must be at least 3")


@dataclass(frozen=True)
class ForecastSettings:
    window: int = 12
    min_points: int = 6
    horizon: int = 3
    simulations: int = 4000
    seed: int = 20240401

    def __post_init__(self) -> None:
        _require(self.min_points >= 4, "min_points", "must be at least 4 (a trend and its uncertainty need them)")
        _require(self.window >= self.min_points, "window", "must be at least min_points")
        _require(self.horizon >= 1, "horizon", "must be at least 1")
        _require(self.simulations >= 100, "simulations", "must be at least 100")


@dataclass(frozen=True)
class LeadingPair:
    leader: str
    follower: str


@dataclass(frozen=True)
class LeadingSettings:
    pairs: tuple[LeadingPair, ...] = (LeadingPair("work_on_hand_over_30_days", "new_claims_days"),)
    rises: int = 3
    min_change_pct: float = 10.0

    def __post_init__(self) -> None:
        _require(self.rises >= 1, "rises", "must be at least 1")
        _require(self.min_change_pct >= 0, "min_change_pct", "must not be negative")


@dataclass(frozen=True)
class FunnelSettings:
    levels: tuple[float, ...] = (0.95, 0.998)
    months: int = 3
    proportion_method: str = "normal"
    overdispersion: str = "none"
    winsorise: float = 0.1
    proportions: tuple[str, ...] = ("new_claims_within_14_days_pct", "accuracy_pct", "calls_answered_pct")
    averages: tuple[tuple[str, float], ...] = (("new_claims_days", 1.0), ("changes_days", 1.5), ("rti_days", 1.3))

    def __post_init__(self) -> None:
        _require(all(0 < level < 1 for level in self.levels) and self.levels, "levels", "must be coverages between 0 and 1, e.g. [0.95, 0.998]")
        _require(self.months >= 1, "months", "must be at least 1")
        _require(self.proportion_method in ("normal", "exact"), "proportion_method", "must be normal or exact")
        _require(self.overdispersion in ("none", "multiplicative", "additive"), "overdispersion", "must be none, multiplicative or additive")
        _require(0 <= self.winsorise < 0.5, "winsorise", "must be a share from 0 to below 0.5")
        _require(all(cv > 0 for _, cv in self.averages), "averages", "coefficients of variation must be positive")

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
    window: int = 12
    min_months: int = 6

    def __post_init__(self) -> None:
        _require(1 <= self.min_months <= self.window, "min_months", "must be between 1 and window")


@dataclass(frozen=True)
class InterdependenceSettings:
    indicators: tuple[str, ...] = (
        "work_on_hand",
        "work_on_hand_over_30_days",
        "new_claims_days",
        "new_claims_within_14_days_pct",
        "changes_days",
        "accuracy_pct",
        "calls_answered_pct",
        "cost_per_case",
    )
    max_lag: int = 3
    min_council_months: int = 24
    alpha: float = 0.05
    shared_data: tuple[tuple[str, str], ...] = ()
    phrases: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _require(0 <= self.max_lag <= 12, "max_lag", "must be from 0 to 12")
        _require(self.min_council_months >= 5, "min_council_months", "must be at least 5")
        _require(0 < self.alpha < 1, "alpha", "must be between 0 and 1")

    def shares_data(self, a: str, b: str) -> bool:
        return any({a, b} == set(pair) for pair in self.shared_data)

    def phrase(self, indicator_id: str, fallback: str) -> str:
        return dict(self.phrases).get(indicator_id, fallback)


@dataclass(frozen=True)
class ImpactSettings:
    min_months_before: int = 6
    min_months_after: int = 4
    min_peers: int = 2
    errors: str = "ar1"
    hac_maxlags: int = 2
    alpha: float = 0.05

    def __post_init__(self) -> None:
        _require(self.min_months_before >= 3, "min_months_before", "must be at least 3 (a level and a slope before need them)")
        _require(self.min_months_after >= 2, "min_months_after", "must be at least 2")
        _require(self.min_peers >= 1, "min_peers", "must be at least 1")
        _require(self.errors in ("ar1", "hac"), "errors", "must be ar1 or hac")
        _require(self.hac_maxlags >= 0, "hac_maxlags", "must not be negative")
        _require(0 < self.alpha < 1, "alpha", "must be between 0 and 1")


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
class AlertSettings:
    recent_months: int = 3
    forecast_probability: float = 0.5
    severity: tuple[tuple[str, str], ...] = (
        ("red", "high"),
        ("spc_beyond_limits", "high"),
        ("spc_run", "medium"),
        ("spc_trend", "medium"),
        ("spc_two_of_three", "medium"),
        ("forecast_breach", "medium"),
        ("leading_signal", "low"),
    )

    def __post_init__(self) -> None:
        _require(self.recent_months >= 1, "recent_months", "must be at least 1")
        _require(0 < self.forecast_probability <= 1, "forecast_probability", "must be above 0 and at most 1")
        unknown = [rule for rule, _ in self.severity if rule not in ALERT_RULES]
        _require(not unknown, "severity", f"unknown rule(s) {unknown}; rules are {', '.join(ALERT_RULES)}")
        bad = [level for _, level in self.severity if level not in _SEVERITIES]
        _require(not bad, "severity", f"levels must be high, medium or low, not {bad}")

    def severity_of(self, rule: str) -> str:
        return dict(self.severity).get(rule, "medium")


@dataclass(frozen=True)
class AnalyticsSettings:
    version: str = "default"
    spc: SpcSettings = SpcSettings()
    forecast: ForecastSettings = ForecastSettings()
    leading: LeadingSettings = LeadingSettings()
    funnel: FunnelSettings = FunnelSettings()
    spotlight: SpotlightSettings = SpotlightSettings()
    interdependence: InterdependenceSettings = InterdependenceSettings()
    impact: ImpactSettings = ImpactSettings()
    alerts: AlertSettings = AlertSettings()


# Readers turn a YAML value into a field's type, or raise _Invalid.


def _as_int(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(field, f"must be a whole number, not {value!r}")
    return value


def _as_float(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(field, f"must be a number, not {value!r}")
    return float(value)


def _as_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(field, f"must be true or false, not {value!r}")
    return value


def _as_str(field: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _Invalid(field, f"must be text, not {value!r}")
    return str(value)


def _as_list(field: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(field, f"must be a list, not {value!r}")
    return value


def _as_mapping(field: str, value: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise _Invalid(field, f"must be a mapping (key: value lines), not {value!r}")
    return value


def _strs(field: str, value: Any) -> tuple[str, ...]:
    return tuple(_as_str(field, item) for item in _as_list(field, value))


def _floats(field: str, value: Any) -> tuple[float, ...]:
    return tuple(_as_float(field, item) for item in _as_list(field, value))


def _str_pairs(field: str, value: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in _as_list(field, value):
        items = _strs(field, item)
        if len(items) != 2:
            raise _Invalid(field, f"each entry must be a pair [a, b], not {item!r}")
        pairs.append((items[0], items[1]))
    return tuple(pairs)


def _str_to_float(field: str, value: Any) -> tuple[tuple[str, float], ...]:
    return tuple((str(key), _as_float(f"{field}.{key}", item)) for key, item in _as_mapping(field, value).items())


def _str_to_str(field: str, value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(key), _as_str(f"{field}.{key}", item)) for key, item in _as_mapping(field, value).items())


def _leading_pairs(field: str, value: Any) -> tuple[LeadingPair, ...]:
    pairs = []
    for number, item in enumerate(_as_list(field, value), start=1):
        entry = _as_mapping(f"{field}[{number}]", item)
        if set(entry) != {"leader", "follower"}:
            raise _Invalid(f"{field}[{number}]", "needs exactly leader and follower")
        pairs.append(LeadingPair(_as_str(field, entry["leader"]), _as_str(field, entry["follower"])))
    return tuple(pairs)


_READERS: dict[str, Callable[[str, Any], Any]] = {
    "int": _as_int,
    "float": _as_float,
    "bool": _as_bool,
    "str": _as_str,
    "tuple[str, ...]": _strs,
    "tuple[float, ...]": _floats,
    "tuple[tuple[str, str], ...]": _str_pairs,
    "tuple[tuple[str, float], ...]": _str_to_float,
    "tuple[LeadingPair, ...]": _leading_pairs,
}
# Mappings in YAML that the dataclass keeps as tuples of pairs (hashable, ordered).
_MAPPING_FIELDS = {("interdependence", "phrases"), ("alerts", "severity")}


def _read_section(cls: type, raw: Any, section: str) -> Any:
    """Build a settings dataclass from one YAML section, field by field."""
    if raw is None:
        return cls()
    entries = _as_mapping(section, raw)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(entries) - set(known))
    if unknown:
        raise _Invalid(", ".join(unknown), f"unknown field; {section} knows {', '.join(known)}")
    values = {}
    for name, value in entries.items():
        reader = _str_to_str if (section, name) in _MAPPING_FIELDS else _READERS[str(known[name].type)]
        values[name] = reader(name, value)
    return cls(**values)


_SECTIONS: dict[str, type] = {
    "spc": SpcSettings,
    "forecast": ForecastSettings,
    "leading": LeadingSettings,
    "funnel": FunnelSettings,
    "spotlight": SpotlightSettings,
    "interdependence": InterdependenceSettings,
    "impact": ImpactSettings,
    "alerts": AlertSettings,
}


def _folder(folder: str | Path | None) -> Path:
    from perfcore.config.parameters import parameters_dir

    return Path(folder) if folder else parameters_dir()


def _load_yaml(path: Path) -> Any:
    from perfcore.config.parameters import _read_yaml

    return _read_yaml(path)


def resolve_settings(settings: AnalyticsSettings | None) -> AnalyticsSettings:
    """The settings given, or else those in the project's ``thresholds.yaml``."""
    return settings if settings is not None else load_settings()


def load_settings(folder: str | Path | None = None) -> AnalyticsSettings:
    """Read ``thresholds.yaml`` from the parameters folder."""
    path = _folder(folder) / "thresholds.yaml"
    raw = _load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected sections spc, forecast, ... at the top level")
    unknown = sorted(set(raw) - set(_SECTIONS) - {"version"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; sections are {', '.join(_SECTIONS)}")
    sections = {}
    for section, cls in _SECTIONS.items():
        try:
            sections[section] = _read_section(cls, raw.get(section), section)
        except _Invalid as exc:
            raise ConfigError(f"{path}: {section}.{exc}") from exc
    return AnalyticsSettings(version=str(raw.get("version", "unversioned")), **sections)


