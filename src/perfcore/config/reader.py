"""One reader for every YAML file perfcore reads, and one way of saying what is wrong.

Each file is declared as a :class:`Table` of :class:`Key` rows (name, kind,
help, default), in the spirit of datasette's settings: the table is the only
place that says which keys a file has, what each may hold and which may be
left out. :func:`read_file` reads a file against its table and returns what
the table builds (frozen dataclasses); anything wrong is one
:class:`~perfcore.exceptions.ConfigError` naming the file, the key as a dotted
path (``spc.baseline_points``, ``members[3].code``) and what is allowed::

    /srv/hb/parameters/thresholds.yaml: spc.baseline_points: 1 is too small; allowed: a whole number, at least 2

A key is required unless the table gives a default. ``OPTIONAL`` means "the
built value's own default": the dataclass field's default is then the one
place that default lives, instead of being repeated here. An optional key
written with nothing after it (YAML null) counts as left out.

Rules between keys (a window at least as long as its minimum) are ``checks``
on the table; rules that need another file (a peer group's codes must be
members in consortium.yaml) are made by the loader with :func:`config_error`,
so they read the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfcore.exceptions import ConfigError


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")  # the key must be in the file
OPTIONAL = _Marker("OPTIONAL")  # absent: the built value's own default applies


class Invalid(Exception):
    """A value is wrong: where (dotted key), what is wrong, and what would be allowed."""

    def __init__(self, at: str, problem: str, allowed: str = "") -> None:
        self.at, self.problem, self.allowed = at, problem, allowed
        super().__init__(f"{at}: {problem}")

    @property
    def message(self) -> str:
        return f"{self.problem}; allowed: {self.allowed}" if self.allowed else self.problem


def config_error(path: str | Path, key: str, problem: str, allowed: str = "") -> ConfigError:
    """The ConfigError every configuration problem becomes: file, dotted key, problem, what is allowed."""
    return ConfigError(Invalid(key, problem, allowed).message, file=path, key=key)


def child(at: str, name: str | int) -> str:
    """The dotted path of a key below ``at``: ``spc`` + ``min_points``, ``members`` + 3 → ``members[3]``."""
    if isinstance(name, int):
        return f"{at}[{name}]"
    return f"{at}.{name}" if at else str(name)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- kinds
# A kind reads one YAML value: it returns the value perfcore keeps, or raises
# Invalid. ``allowed`` says in words what it accepts (for errors and help).


class Kind:
    allowed: str = ""

    def read(self, value: Any, at: str) -> Any:
        raise NotImplementedError

    def _refuse(self, value: Any, at: str, problem: str = "") -> Invalid:
        return Invalid(at, problem or f"{_shown(value)} is not allowed", self.allowed)


def _item_words(kind: Kind) -> str:
    return kind.describe() if isinstance(kind, Table) else kind.allowed


def _bounds(minimum: float | None, maximum: float | None, above: float | None, below: float | None) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"at least {minimum:g}")
    if above is not None:
        parts.append(f"above {above:g}")
    if maximum is not None:
        parts.append(f"at most {maximum:g}")
    if below is not None:
        parts.append(f"below {below:g}")
    return ", " + " and ".join(parts) if parts else ""


@dataclass(frozen=True)
class Number(Kind):
    """A number (int or float in YAML); kept as a float, an int when ``whole``, or as written when ``as_written``."""

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # exclusive lower bound
    below: float | None = None  # exclusive upper bound
    whole: bool = False
    as_written: bool = False  # 20 stays 20, not 20.0 (pages print thresholds as the file writes them)

    @property
    def allowed(self) -> str:  # type: ignore[override]
        noun = "a whole number" if self.whole else "a number"
        return noun + _bounds(self.minimum, self.maximum, self.above, self.below)

    def read(self, value: Any, at: str) -> Any:
        wanted = int if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise self._refuse(value, at, f"{_shown(value)} is not {'a whole number' if self.whole else 'a number'}")
        too_small = (self.minimum is not None and value < self.minimum) or (
            self.above is not None and value <= self.above
        )
        too_big = (self.maximum is not None and value > self.maximum) or (
            self.below is not None and value >= self.below
        )
        if too_small or too_big:
            raise self._refuse(value, at, f"{value!r} is too {'small' if too_small else 'big'}")
        return value if self.whole or self.as_written else float(value)


def Whole(minimum: int | None = None, maximum: int | None = None) -> Number:  # noqa: N802 (reads as a kind)
    return Number(minimum=minimum, maximum=maximum, whole=True)


@dataclass(frozen=True)
class Flag(Kind):
    allowed: str = "true or false"

    def read(self, value: Any, at: str) -> bool:
        if not isinstance(value, bool):
            raise self._refuse(value, at)
        return value


@dataclass(frozen=True)
class Text(Kind):
    """Text; a number written without quotes is taken as its text (a version ``1.0``).

    ``pattern`` must match the whole text; ``check`` returns a problem in words, or None.
    """

    allowed: str = "text"
    pattern: str | None = None
    check: Callable[[str], str | None] | None = None
    numbers: bool = True

    def read(self, value: Any, at: str) -> str:
        numeric = self.numbers and isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (isinstance(value, str) or numeric):
            raise self._refuse(value, at, f"{_shown(value)} is not text")
        text = str(value)
        if not text.strip():
            raise self._refuse(value, at, "is empty")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise self._refuse(value, at)
        problem = self.check(text) if self.check else None
        if problem:
            raise self._refuse(value, at, f"{_shown(value)} {problem}")
        return text


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed set of values (None stands for YAML's null)."""

    options: tuple[Any, ...]

    @property
    def allowed(self) -> str:  # type: ignore[override]
        names = ["null" if option is None else str(option) for option in self.options]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]

    def read(self, value: Any, at: str) -> Any:
        if isinstance(value, bool) or value not in self.options:
            raise self._refuse(value, at)
        return value


@dataclass(frozen=True)
class ListOf(Kind):
    """A YAML list, kept as a tuple. ``unique`` names what must not repeat (``key`` of an item)."""

    item: Kind
    min_items: int = 0
    length: int | None = None
    unique: Callable[[Any], Any] | None = None
    unique_name: str = ""
    single: bool = False  # a lone item may be written without the list

    @property
    def allowed(self) -> str:  # type: ignore[override]
        size = (
            f"a list of exactly {self.length}"
            if self.length is not None
            else "a non-empty list"
            if self.min_items == 1
            else f"a list of at least {self.min_items}"
            if self.min_items
            else "a list"
        )
        lone = " (or one alone)" if self.single else ""
        return f"{size} of {_item_words(self.item)}{lone}"

    def read(self, value: Any, at: str) -> tuple[Any, ...]:
        if self.single and not isinstance(value, list):
            value = [value]
        if not isinstance(value, list):
            raise self._refuse(value, at, f"{_shown(value)} is not a list")
        if len(value) < self.min_items or (self.length is not None and len(value) != self.length):
            raise self._refuse(value, at, f"has {len(value)} item{'s' if len(value) != 1 else ''}")
        items = tuple(self.item.read(item, child(at, number)) for number, item in enumerate(value, start=1))
        self._check_unique(items, at)
        return items

    def _check_unique(self, items: tuple[Any, ...], at: str) -> None:
        if self.unique is None:
            return
        seen: set[Any] = set()
        for number, item in enumerate(items, start=1):
            key = self.unique(item)
            if key in seen:
                where = child(child(at, number), self.unique_name) if self.unique_name else child(at, number)
                raise Invalid(where, f"{key!r} is listed twice", "each once")
            seen.add(key)


@dataclass(frozen=True)
class MappingOf(Kind):
    """``key: value`` lines, kept as a tuple of pairs in the file's order (hashable, ordered)."""

    key: Kind
    value: Kind
    min_items: int = 0
    every: tuple[str, ...] = ()  # keys that must all be present

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"key: value lines, each key {self.key.allowed} and each value {_item_words(self.value)}"

    def read(self, value: Any, at: str) -> tuple[tuple[Any, Any], ...]:
        if not isinstance(value, dict):
            raise self._refuse(value, at, f"{_shown(value)} is not a mapping")
        if len(value) < self.min_items:
            raise self._refuse(value, at, "is empty")
        pairs = tuple(
            (self.key.read(name, child(at, str(name))), self.value.read(item, child(at, str(name))))
            for name, item in value.items()
        )
        missing = [name for name in self.every if name not in value]
        if missing:
            raise Invalid(child(at, missing[0]), "missing", _item_words(self.value))
        return pairs


@dataclass(frozen=True)
class Either(Kind):
    """The first of several kinds that accepts the value ('all', or a list of codes)."""

    kinds: tuple[Kind, ...]

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return " or ".join(kind.allowed for kind in self.kinds)

    def read(self, value: Any, at: str) -> Any:
        for kind in self.kinds:
            try:
                return kind.read(value, at)
            except Invalid as refused:
                if refused.at != at:  # the value had the kind's shape but a part of it is wrong: say that
                    raise
        raise self._refuse(value, at)


@dataclass(frozen=True)
class Key:
    """One key of a file: its name there, what it may hold, what it means, its default."""

    name: str
    kind: Kind
    help: str = ""
    default: Any = REQUIRED
    field: str = ""  # the built value's argument; default: the name with '-' as '_'

    @property
    def argument(self) -> str:
        return self.field or self.name.replace("-", "_")


Check = Callable[[dict[str, Any], str], None]


@dataclass(frozen=True)
class Table(Kind):
    """A mapping with declared keys, built into a value (a dataclass) by ``build``.

    ``open``: keys not declared are left alone rather than refused (Quarto's
    schema is far larger than what perfcore reads). ``checks`` see the read
    values (by argument name) and the table's path, and raise Invalid.
    """

    keys: tuple[Key, ...]
    build: Callable[..., Any] = dict
    open: bool = False
    checks: tuple[Check, ...] = ()
    allowed: str = field(default="")

    def describe(self) -> str:
        return self.allowed or "key: value lines with " + ", ".join(key.name for key in self.keys)

    def read(self, value: Any, at: str) -> Any:
        if not isinstance(value, dict):
            raise Invalid(at or "(top level)", f"{_shown(value)} is not a mapping", self.describe())
        self._refuse_unknown(value, at)
        values: dict[str, Any] = {}
        for key in self.keys:
            where = child(at, key.name)
            given = key.name in value and (value[key.name] is not None or key.default is REQUIRED)
            if given:  # an optional key written with nothing after it (YAML null) counts as left out
                values[key.argument] = key.kind.read(value[key.name], where)
            elif key.default is REQUIRED:
                raise Invalid(where, "missing", _item_words(key.kind))
            elif key.default is not OPTIONAL:
                values[key.argument] = key.default
        for check in self.checks:
            check(values, at)
        return self.build(**values)

    def _refuse_unknown(self, value: dict[Any, Any], at: str) -> None:
        if self.open:
            return
        known = [key.name for key in self.keys]
        unknown = [name for name in value if name not in known]
        if unknown:
            raise Invalid(child(at, str(unknown[0])), "unknown key", ", ".join(known))


def rule(condition: bool, at: str, key: str, problem: str, allowed: str = "") -> None:
    """For a table's checks: refuse ``key`` (below ``at``) unless ``condition``."""
    if not condition:
        raise Invalid(child(at, key), problem, allowed)


# --------------------------------------------------------------------------- files


def load_yaml(path: Path, *, missing: str) -> Any:
    """The YAML in ``path``; ``missing`` says what to do when there is no such file."""
    import yaml

    # libyaml's parser (PyYAML's wheels bundle it) reads the same documents as the pure-Python one, about
    # ten times faster: every command reads the parameters files, some several times.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=loader)
    except FileNotFoundError as exc:
        raise ConfigError(f"file not found ({missing})", file=path) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=path) from exc


def read_file(
    path: str | Path, table: Table, *, missing: str = "run perfcore from the project folder or set PERFCORE_PARAMETERS"
) -> Any:
    """Read ``path`` against ``table``: the value it builds, or one ConfigError naming file and key."""
    path = Path(path)
    raw = load_yaml(path, missing=missing)
    try:
        return table.read(raw, "")
    except Invalid as invalid:
        raise ConfigError(invalid.message, file=path, key=invalid.at) from None


def help_lines(table: Table, at: str = "") -> list[tuple[str, str, str, str]]:
    """(dotted key, allowed, default, help) for every key, nested tables included: the file's documentation."""
    rows = []
    for key in table.keys:
        where = child(at, key.name)
        default = (
            "required" if key.default is REQUIRED else "optional" if key.default is OPTIONAL else repr(key.default)
        )
        rows.append((where, _item_words(key.kind), default, key.help))
        nested = key.kind.item if isinstance(key.kind, ListOf) else key.kind
        if isinstance(nested, Table):
            rows.extend(help_lines(nested, f"{where}[]" if nested is not key.kind else where))
    return rows
