"""Improvement initiatives, read from ``parameters/initiatives.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfcore import periods
from perfcore.exceptions import ConfigError
from perfcore.config.thresholds import _folder, _load_yaml

_GSS = re.compile(r"^(S12|E06|E07|E08|E09|W06)\d{6}$")
from perfcore.config.peer_groups import _check_codes, _consortium_codes

# --------------------------------------------------------------------------- initiatives


@dataclass(frozen=True)
class Initiative:
    id: str
    council: str
    start: str  # first month the initiative was in force, 'YYYY-MM'
    indicators: tuple[str, ...]
    title: str
    description: str = ""


def load_initiatives(folder: str | Path | None = None, framework: Any | None = None) -> tuple[Initiative, ...]:
    """Read ``initiatives.yaml``; no file means no initiatives recorded.

    Councils are checked against ``consortium.yaml`` when it is there, and
    indicator ids against ``framework`` (a :class:`perfcore.config.parameters.Framework`) when given.
    """
    folder = _folder(folder)
    known_ids = set(framework.ids) if framework is not None else None
    return initiatives_from_file(folder / "initiatives.yaml", _consortium_codes(folder), known_ids)


def initiatives_from_file(path: Path, members_known: tuple[str, ...] | None = None,
                          known_ids: set[str] | None = None) -> tuple[Initiative, ...]:
    """The initiatives in one file (``initiatives:`` list, or a bare list); () if it is absent."""
    path = Path(path)
    if not path.exists():
        return ()
    raw = _load_yaml(path) or {}
    entries = raw.get("initiatives", raw) if isinstance(raw, dict) else raw
    if entries in (None, []):
        return ()
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: initiatives: expected a list of entries with id, council, start, indicators, title")
    initiatives = [_initiative(path, number, entry, members_known, known_ids) for number, entry in enumerate(entries, start=1)]
    ids = [i.id for i in initiatives]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(f"{path}: initiative id(s) used twice: {twice}")
    return tuple(initiatives)


def _initiative(path: Path, number: int, entry: Any, members_known: tuple[str, ...] | None, known_ids: set[str] | None) -> Initiative:
    where = f"{path}: initiative {number}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected id, council, start, indicators, title, description")
    missing = [key for key in ("id", "council", "start", "indicators", "title") if key not in entry]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    where = f"{path}: initiative {entry['id']}"
    unknown = sorted(set(entry) - {"id", "council", "start", "indicators", "title", "description"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}")
    council, start = str(entry["council"]), str(entry["start"])
    _check_codes(f"{where}.council", (council,), members_known)
    if not periods.is_period(start):
        raise ConfigError(f"{where}.start: {start!r} is not a month (YYYY-MM, quoted in YAML)")
    indicators = entry["indicators"]
    if not isinstance(indicators, list) or not indicators:
        raise ConfigError(f"{where}.indicators: must be a non-empty list of indicator ids")
    indicators = tuple(str(i) for i in indicators)
    if known_ids is not None and set(indicators) - known_ids:
        raise ConfigError(f"{where}.indicators: unknown {sorted(set(indicators) - known_ids)}; see framework.yaml")
    return Initiative(
        id=str(entry["id"]),
        council=council,
        start=start,
        indicators=indicators,
        title=str(entry["title"]),
        description=str(entry.get("description") or ""),
    )
