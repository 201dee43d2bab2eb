"""The consortium and the indicator framework, read from ``parameters/``.

Both are data the consortium owns: code reads them here, validates them once,
and hands out frozen values. Nothing else opens these YAML files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfcore.exceptions import ConfigError
from perfcore import settings

_GSS = re.compile(r"^(S12|E06|E07|E08|E09|W06)\d{6}$")
COUNTRIES = {"S": "Scotland", "E": "England", "W": "Wales"}
CONSORTIUM = "consortium"  # the area code of the pooled consortium figure


@dataclass(frozen=True)
class Council:
    code: str
    name: str
    supplier: str
    system: str
    updater: str | None = None
    approx_caseload: int | None = None

    @property
    def country(self) -> str:
        return COUNTRIES[self.code[0]]

    @property
    def slug(self) -> str:
        """Folder-safe name, e.g. 'dundee-city'."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


@dataclass(frozen=True)
class Consortium:
    name: str
    short_name: str
    members: tuple[Council, ...]
    complete_after_days: int = 15  # a month is complete when every extract is in, or this long after it ends

    def __post_init__(self) -> None:
        if isinstance(self.complete_after_days, bool) or not isinstance(self.complete_after_days, int) \
                or self.complete_after_days < 0:
            raise ConfigError(f"consortium.yaml: complete_after_days must be a whole number of days, not {self.complete_after_days!r}")
        codes = [c.code for c in self.members]
        duplicates = {c for c in codes if codes.count(c) > 1}
        if duplicates:
            raise ConfigError(f"consortium.yaml: council codes listed twice: {sorted(duplicates)}")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.members)

    def council(self, code: str) -> Council:
        for member in self.members:
            if member.code == code:
                return member
        raise ConfigError(
            f"{code!r} is not a member council; members are listed in parameters/consortium.yaml"
        )

    def is_member(self, code: str) -> bool:
        return code in self.codes

    def council_by_updater(self, address: str) -> Council | None:
        address = address.strip().lower()
        return next((c for c in self.members if (c.updater or "").lower() == address), None)

    def area_name(self, area: str) -> str:
        return self.short_name if area == CONSORTIUM else self.council(area).name


@dataclass(frozen=True)
class Thresholds:
    green: float
    amber: float


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    short: str
    definition: str
    unit: str
    better: str | None  # "lower", "higher" or None (context measure)
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()
    scale: float = 1.0
    window: str = "month"  # "month" or "fytd"
    decimals: int = 1
    thresholds: Thresholds | None = None
    basis: str | None = None
    source: str = ""
    group: str = ""

    @property
    def is_ratio(self) -> bool:
        return bool(self.denominator)

    def rag(self, value: float | None) -> str | None:
        """'green', 'amber', 'red', or None where there is no threshold or no value."""
        if self.thresholds is None or value is None or value != value:
            return None
        green, amber = self.thresholds.green, self.thresholds.amber
        if self.better == "lower":
            return "green" if value <= green else "amber" if value <= amber else "red"
        return "green" if value >= green else "amber" if value >= amber else "red"

    def is_better(self, new: float, old: float) -> bool | None:
        """Whether ``new`` is better than ``old``; None for context measures or no change."""
        if self.better is None or new == old:
            return None
        return (new < old) if self.better == "lower" else (new > old)

    def format(self, value: float | None) -> str:
        """How pages show a value: days and percentages to one decimal place."""
        if value is None or value != value:
            return "no data"
        if self.unit in ("count", "claims"):
            return f"{value:,.0f}"
        if self.unit == "£":
            return f"£{value:,.{self.decimals if self.is_ratio else 0}f}"
        text = f"{value:,.{self.decimals}f}"
        return text + ("%" if self.unit.startswith("%") else f" {self.unit}")


@dataclass(frozen=True)
class Framework:
    version: str
    name: str
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise ConfigError(f"unknown indicator {indicator_id!r}; the framework defines {', '.join(self.ids)}")


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (run perfcore from the project folder or set PERFCORE_PARAMETERS)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def parameters_dir(override: str | None = None) -> Path:
    return settings.resolve_path("parameters", override)


def load_consortium(folder: str | Path | None = None) -> Consortium:
    path = Path(folder or parameters_dir()) / "consortium.yaml"
    raw = _read_yaml(path)
    members = []
    for number, entry in enumerate(raw.get("members") or [], start=1):
        try:
            council = Council(**entry)
        except TypeError as exc:
            raise ConfigError(f"{path}: member {number}: {exc}; expected code, name, supplier, system") from exc
        if not _GSS.match(council.code):
            raise ConfigError(f"{path}: member {number}: {council.code!r} is not a 9-character GSS code (S12…, E06…, W06…)")
        members.append(council)
    if not members:
        raise ConfigError(f"{path}: no members listed")
    return Consortium(name=raw.get("name", "Consortium"), short_name=raw.get("short_name", "Consortium"), members=tuple(members),
                      complete_after_days=raw.get("complete_after_days", Consortium.complete_after_days))


def load_framework(path: str | Path | None = None) -> Framework:
    from perfcore.warehouse.components import COMPONENTS

    path = Path(path) if path else parameters_dir() / "framework.yaml"
    raw = _read_yaml(path)
    indicators = []
    for entry in raw.get("indicators") or []:
        entry = dict(entry)
        where = f"{path}: indicator {entry.get('id', '?')}"
        thresholds = entry.pop("thresholds", None)
        for key in ("numerator", "denominator"):
            entry[key] = tuple(entry.get(key) or ())
            unknown = [c for c in entry[key] if c not in COMPONENTS]
            if unknown:
                raise ConfigError(f"{where}: unknown component(s) {unknown}; known: {', '.join(COMPONENTS)}")
        try:
            indicator = Indicator(**entry, thresholds=Thresholds(**thresholds) if thresholds else None)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if indicator.window not in ("month", "fytd"):
            raise ConfigError(f"{where}: window must be 'month' or 'fytd'")
        if indicator.better not in (None, "lower", "higher"):
            raise ConfigError(f"{where}: better must be lower, higher or empty")
        if indicator.thresholds and indicator.better is None:
            raise ConfigError(f"{where}: thresholds need a direction (better: lower|higher)")
        indicators.append(indicator)
    if "version" not in raw:
        raise ConfigError(f"{path}: the framework needs a version")
    return Framework(version=str(raw["version"]), name=raw.get("name", "framework"), indicators=tuple(indicators))
