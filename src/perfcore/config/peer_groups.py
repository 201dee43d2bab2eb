"""Peer groups, read from ``parameters/peer_groups.yaml``: which councils are compared with which.

Codes are checked against ``consortium.yaml`` beside the file when it is
there, so a group cannot name a council that is not a member.
``derived_groups`` makes groups by country and caseload for any membership
(the demo writes them beside an enlarged consortium).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfcore.config.parameters import GSS, Consortium, parameters_dir
from perfcore.config.reader import (
    OPTIONAL,
    Choice,
    Either,
    Key,
    ListOf,
    MappingOf,
    Table,
    Text,
    config_error,
    read_file,
)
from perfcore.exceptions import ConfigError


@dataclass(frozen=True)
class PeerGroup:
    id: str
    name: str
    members: tuple[str, ...] | None  # None: every member of the consortium, however many
    description: str = ""

    def codes(self, consortium_codes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """The group's councils, in consortium order where 'all'."""
        if self.members is None:
            return tuple(consortium_codes)
        return tuple(code for code in self.members if code in consortium_codes)


@dataclass(frozen=True)
class PeerGroups:
    groups: tuple[PeerGroup, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.groups)

    def group(self, group_id: str) -> PeerGroup:
        for group in self.groups:
            if group.id == group_id:
                return group
        raise ConfigError(f"unknown peer group {group_id!r}; peer_groups.yaml defines {', '.join(self.ids)}")

    def groups_of(self, code: str) -> tuple[PeerGroup, ...]:
        """Groups a council belongs to (the 'all members' group included)."""
        return tuple(g for g in self.groups if g.members is None or code in g.members)


GROUP = Table(
    keys=(
        Key("name", Text(), "the group's name on pages"),
        Key("description", Text(), "who is in it and why", OPTIONAL),
        Key(
            "members",
            Either((Choice(("all",)), ListOf(GSS, min_items=1, unique=lambda code: code))),
            "'all' (every member, however many) or a list of GSS codes",
        ),
    ),
)

PEER_GROUPS = Table(
    keys=(
        Key(
            "groups",
            MappingOf(Text(allowed="a group id", pattern=r"[a-z][a-z0-9_-]*", numbers=False), GROUP, min_items=1),
            "group id: name, description, members",
        ),
    ),
    build=lambda groups: tuple(
        PeerGroup(
            id=group_id,
            name=fields["name"],
            description=fields.get("description", ""),
            members=None if fields["members"] == "all" else fields["members"],
        )
        for group_id, fields in groups
    ),
)


def consortium_codes(folder: Path) -> tuple[str, ...] | None:
    """Member codes from consortium.yaml in ``folder``, to check codes against; None if absent."""
    if not (folder / "consortium.yaml").exists():
        return None
    from perfcore.config.parameters import load_consortium

    return load_consortium(folder).codes


def check_members(path: Path, key: str, codes: tuple[str, ...], members: tuple[str, ...] | None) -> None:
    """Refuse codes that are not members in consortium.yaml (when it is known)."""
    strangers = [code for code in codes if members is not None and code not in members]
    if strangers:
        raise config_error(path, key, f"{strangers} are not members in consortium.yaml", "a member's GSS code")


def load_peer_groups(folder: str | Path | None = None) -> PeerGroups:
    """Read ``peer_groups.yaml``; codes are checked against ``consortium.yaml`` when it is there."""
    folder = Path(folder or parameters_dir())
    path = folder / "peer_groups.yaml"
    groups: Any = read_file(path, PEER_GROUPS)
    members = consortium_codes(folder)
    for group in groups:
        check_members(path, f"groups.{group.id}.members", group.members or (), members)
    return PeerGroups(groups=groups)


# --------------------------------------------------------------------------- groups derived from the membership

LARGE_CASELOAD = 12_000  # the shipped file's band: large = this many live claims or more, small = below
_COUNTRY_IDS = {"Scotland": "scotland", "England": "england", "Wales": "wales"}


def derived_groups(consortium: Consortium, *, large_from: int = LARGE_CASELOAD) -> PeerGroups:
    """Peer groups by country and size for whatever the membership is.

    ``consortium`` (every member), then one group per country with members
    (``scotland``, ``england``, ``wales``: the kinds of council differ
    between them, so like is compared with like), then ``large`` and ``small`` by
    ``approx_caseload`` against ``large_from`` (a member without a caseload is
    in neither). For the shipped consortium these are the groups of the
    shipped ``peer_groups.yaml`` plus ``scotland``: the same ids mean the same.
    """
    members = consortium.members
    groups = [PeerGroup("consortium", "All members", None, "Every council in the consortium.")]
    for country, group_id in _COUNTRY_IDS.items():
        codes = tuple(c.code for c in members if c.country == country)
        if codes:
            groups.append(PeerGroup(group_id, f"Councils in {country}", codes, f"Every member in {country}."))
    band = f"{large_from:,}"
    large = tuple(c.code for c in members if c.approx_caseload is not None and c.approx_caseload >= large_from)
    small = tuple(c.code for c in members if c.approx_caseload is not None and c.approx_caseload < large_from)
    if large:
        groups.append(
            PeerGroup(
                "large",
                f"Large caseload ({band} claims or more)",
                large,
                f"Councils running {band} or more live Housing Benefit claims.",
            )
        )
    if small:
        groups.append(
            PeerGroup(
                "small",
                f"Smaller caseload (under {band} claims)",
                small,
                f"Councils running fewer than {band} live Housing Benefit claims.",
            )
        )
    return PeerGroups(groups=tuple(groups))


def peer_groups_document(groups: PeerGroups, consortium: Consortium) -> str:
    """``groups`` as a ``peer_groups.yaml`` this module reads back, each code with its council's name."""
    names = {c.code: c.name for c in consortium.members}
    lines = [
        "# Peer groups derived from consortium.yaml by perfcore.config.peer_groups.derived_groups:",
        "# by country, and by caseload (approx_caseload).",
        "groups:",
    ]
    for group in groups.groups:
        lines += [f"  {group.id}:", f"    name: {_quoted(group.name)}"]
        if group.description:
            lines.append(f"    description: {_quoted(group.description)}")
        if group.members is None:
            lines.append("    members: all")
            continue
        lines.append("    members:")
        lines += [f"      - {code}   # {names.get(code, '')}".rstrip() for code in group.members]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
