"""Improvement initiatives, read from ``parameters/initiatives.yaml``.

No file means no initiatives recorded. Councils are checked against
``consortium.yaml`` beside the file when it is there, and indicator ids
against the framework when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfcore import periods
from perfcore.config.parameters import GSS, parameters_dir
from perfcore.config.peer_groups import check_members, consortium_codes
from perfcore.config.reader import OPTIONAL, Key, ListOf, Table, Text, config_error, read_file


@dataclass(frozen=True)
class Initiative:
    id: str
    council: str
    start: str  # first month the initiative was in force, 'YYYY-MM'
    indicators: tuple[str, ...]
    title: str
    description: str = ""


INITIATIVE = Table(
    keys=(
        Key(
            "id",
            Text(allowed="letters, digits and hyphens", pattern=r"[A-Za-z0-9][A-Za-z0-9-]*", numbers=False),
            "short stable identifier",
        ),
        Key("council", GSS, "the council's GSS code (a member in consortium.yaml)"),
        Key(
            "start",
            Text(
                allowed="a month YYYY-MM, quoted in YAML",
                numbers=False,
                check=lambda text: None if periods.is_period(text) else "is not a month",
            ),
            "the first month the initiative was in effect",
        ),
        Key(
            "indicators",
            ListOf(Text(allowed="an indicator id of framework.yaml"), min_items=1, unique=lambda i: i),
            "the indicators it is meant to improve",
        ),
        Key("title", Text(), "one line for charts and tables"),
        Key("description", Text(), "what changed, for the report text", OPTIONAL),
    ),
    build=Initiative,
)

INITIATIVES = Table(
    keys=(Key("initiatives", ListOf(INITIATIVE, unique=lambda i: i.id, unique_name="id"), "the initiatives"),),
    build=lambda initiatives: initiatives,
)


def load_initiatives(folder: str | Path | None = None, framework: Any | None = None) -> tuple[Initiative, ...]:
    """Read ``initiatives.yaml`` (checked against consortium.yaml beside it, and ``framework`` when given)."""
    folder = Path(folder or parameters_dir())
    known_ids = set(framework.ids) if framework is not None else None
    return initiatives_from_file(folder / "initiatives.yaml", consortium_codes(folder), known_ids)


def initiatives_from_file(
    path: Path, members: tuple[str, ...] | None = None, known_ids: set[str] | None = None
) -> tuple[Initiative, ...]:
    """The initiatives in one file; () if there is no file."""
    path = Path(path)
    if not path.exists():
        return ()
    initiatives: tuple[Initiative, ...] = read_file(path, INITIATIVES)
    for number, initiative in enumerate(initiatives, start=1):
        check_members(path, f"initiatives[{number}].council", (initiative.council,), members)
        unknown = sorted(set(initiative.indicators) - known_ids) if known_ids is not None else []
        if unknown:
            raise config_error(
                path, f"initiatives[{number}].indicators", f"unknown {unknown}", "indicator ids of framework.yaml"
            )
    return initiatives
