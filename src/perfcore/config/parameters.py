"""The consortium and the indicator framework, read from ``parameters/``.

Both are data the consortium owns: code reads them here, validates them once,
and hands out frozen values. Nothing else opens these YAML files.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from perfcore import settings
from perfcore.config.reader import (
    OPTIONAL,
    Choice,
    Key,
    ListOf,
    Number,
    Table,
    Text,
    Whole,
    read_file,
    rule,
)
from perfcore.exceptions import ConfigError

# A council's GSS code: S12 Scottish council areas; E06, E07, E08, E09 English
# unitary, district, metropolitan and London borough councils; W06 Welsh unitary
# authorities. The one home of the pattern in code: the HBPE schema
# (intake/schema/hbpe-1.0.xsd, type Gss) keeps its own copy as the spec's
# artefact, and tests/test_config.py checks the two agree.
GSS_PATTERN = r"(S12|E06|E07|E08|E09|W06)[0-9]{6}"
GSS_CODE = re.compile(GSS_PATTERN + r"\Z")  # use with .match (ASCII digits only, nothing after)
GSS_ALLOWED = "a 9-character GSS code (S12..., E06..., E07..., E08..., E09..., W06...)"
COUNTRIES = {"S": "Scotland", "E": "England", "W": "Wales"}
CONSORTIUM = "consortium"  # the area code of the pooled consortium figure


@dataclass(frozen=True)
class Council:
    code: str
    name: str
    supplier: str
    system: str
    updater: str | tuple[str, ...] | None = None  # as the file says: one address or a list
    approx_caseload: int | None = None

    @property
    def updaters(self) -> tuple[str, ...]:
        """Every designated updater's address (a shared mailbox, a deputy), lower-cased."""
        if self.updater is None:
            return ()
        listed = (self.updater,) if isinstance(self.updater, str) else self.updater
        return tuple(address.lower() for address in listed)

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
    complete_after_days: int  # a month is complete when every extract is in, or this long after it ends

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.members)

    def council(self, code: str) -> Council:
        for member in self.members:
            if member.code == code:
                return member
        raise ConfigError(f"{code!r} is not a member council; members are listed in parameters/consortium.yaml")

    def is_member(self, code: str) -> bool:
        return code in self.codes

    def council_by_updater(self, address: str) -> Council | None:
        address = address.strip().lower()
        return next((c for c in self.members if address.lower() in c.updaters), None)

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
    framework_version: str = ""  # filled in by its Framework: a download of a figure names the version

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
    indicators: tuple[Indicator, ...]
    source: str = ""  # where the design authority's definitions are written down

    def __post_init__(self) -> None:
        # each indicator knows its framework's version, so whatever is made from one indicator can say it
        stamped = tuple(
            i if i.framework_version == self.version else dataclasses.replace(i, framework_version=self.version)
            for i in self.indicators
        )
        object.__setattr__(self, "indicators", stamped)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise ConfigError(f"unknown indicator {indicator_id!r}; the framework defines {', '.join(self.ids)}")


def is_gss_code(text: object) -> bool:
    return isinstance(text, str) and GSS_CODE.match(text) is not None


def parameters_dir(override: str | None = None) -> Path:
    return settings.resolve_path("parameters", override)


# --------------------------------------------------------------------------- consortium.yaml

GSS = Text(allowed=GSS_ALLOWED, pattern=GSS_PATTERN, numbers=False)
_ADDRESS = Text(allowed="an e-mail address", pattern=r"[^@\s]+@[^@\s]+")

COUNCIL = Table(
    keys=(
        Key("code", GSS, "the council's GSS code"),
        Key("name", Text(), "its name as reports show it"),
        Key("supplier", Text(), "the supplier of its back-office benefits system"),
        Key("system", Text(), "the back-office benefits system"),
        Key(
            "updater",
            ListOf(_ADDRESS, min_items=1, single=True),
            "the designated updater's address, or a list of them: who may send this council's returns by e-mail",
            OPTIONAL,
        ),
        Key("approx_caseload", Whole(minimum=1), "live claims, roughly: sizes demo data", OPTIONAL),
    ),
    build=Council,
)

CONSORTIUM_FILE = Table(
    keys=(
        Key("name", Text(), "the consortium's name on reports"),
        Key("short_name", Text(), "the name of the pooled consortium figure"),
        Key(
            "complete_after_days",
            Whole(minimum=0),
            "a month is complete when every extract is in, or this many days after it ends",
        ),
        Key(
            "members",
            ListOf(COUNCIL, min_items=1, unique=lambda council: council.code, unique_name="code"),
            "the member councils",
        ),
    ),
    build=Consortium,
)


def load_consortium(folder: str | Path | None = None) -> Consortium:
    return read_file(Path(folder or parameters_dir()) / "consortium.yaml", CONSORTIUM_FILE)


# --------------------------------------------------------------------------- framework.yaml


def _thresholds_point_the_right_way(values: dict, at: str) -> None:
    thresholds, better = values.get("thresholds"), values.get("better")
    rule(
        thresholds is None or better is not None,
        at,
        "thresholds",
        "thresholds need a direction",
        "better: lower or better: higher",
    )
    if thresholds is not None and better is not None:
        ordered = thresholds.green <= thresholds.amber if better == "lower" else thresholds.green >= thresholds.amber
        rule(
            ordered,
            at,
            "thresholds",
            f"green {thresholds.green:g} and amber {thresholds.amber:g} point the wrong way",
            f"green {'at most' if better == 'lower' else 'at least'} amber when better is {better}",
        )


def _framework_table() -> Table:
    from perfcore.warehouse.components import COMPONENTS

    component = Choice(tuple(COMPONENTS))
    thresholds = Table(
        keys=(
            Key("green", Number(as_written=True), "green bound"),
            Key("amber", Number(as_written=True), "amber bound"),
        ),
        build=Thresholds,
    )
    indicator = Table(
        keys=(
            Key(
                "id",
                Text(allowed="lower-case letters, digits and _", pattern=r"[a-z][a-z0-9_]*", numbers=False),
                "stable identifier",
            ),
            Key("name", Text(), "full name"),
            Key("short", Text(), "short name for tables and charts"),
            Key("definition", Text(), "the definition in words"),
            Key("unit", Text(), "days, %, count, claims, £, ..."),
            Key("better", Choice((None, "lower", "higher")), "which way is better; null for a context measure"),
            Key("numerator", ListOf(component, min_items=1), "components summed above the line"),
            Key("denominator", ListOf(component), "components summed below the line; none: a count or total", OPTIONAL),
            Key("scale", Number(above=0, as_written=True), "multiplier (100 for a percentage)", OPTIONAL),
            Key("window", Choice(("month", "fytd")), "the month, or the financial year to date", OPTIONAL),
            Key("decimals", Whole(minimum=0, maximum=6), "decimal places shown", OPTIONAL),
            Key("thresholds", thresholds, "green and amber bounds", OPTIONAL),
            Key("basis", Text(), "where the thresholds come from", OPTIONAL),
            Key("source", Text(), "where the data come from", OPTIONAL),
            Key("group", Text(), "the heading the indicator is listed under", OPTIONAL),
        ),
        build=Indicator,
        checks=(_thresholds_point_the_right_way,),
    )
    return Table(
        keys=(
            Key("version", Text(), "the framework's version; every figure carries it"),
            Key("name", Text(), "the framework's name"),
            Key("source", Text(), "where the design authority's definitions are written down", OPTIONAL),
            Key(
                "indicators", ListOf(indicator, min_items=1, unique=lambda i: i.id, unique_name="id"), "the indicators"
            ),
        ),
        build=Framework,
    )


def load_framework(path: str | Path | None = None) -> Framework:
    return read_file(Path(path) if path else parameters_dir() / "framework.yaml", _framework_table())
