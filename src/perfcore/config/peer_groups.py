"""Peer groups, read from ``parameters/peer_groups.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfcore import periods
from perfcore.exceptions import ConfigError
from perfcore.config.thresholds import _folder, _load_yaml

_GSS = re.compile(r"^(S12|E06|E07|E08|E09|W06)\d{6}$")

# --------------------------------------------------------------------------- peer groups


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


def _consortium_codes(folder: Path) -> tuple[str, ...] | None:
    """Member codes from consortium.yaml beside the file, to check codes against; None if absent."""
    if not (folder / "consortium.yaml").exists():
        return None
    from perfcore.config.parameters import load_consortium

    return load_consortium(folder).codes


def load_peer_groups(folder: str | Path | None = None) -> PeerGroups:
    """Read ``peer_groups.yaml``; codes are checked against ``consortium.yaml`` when it is there."""
    folder = _folder(folder)
    path = folder / "peer_groups.yaml"
    raw = _load_yaml(path) or {}
    entries = raw.get("groups") if isinstance(raw, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{path}: groups: expected a mapping of group id to name and members")
    members_known = _consortium_codes(folder)
    groups = [_peer_group(path, str(group_id), entry, members_known) for group_id, entry in entries.items()]
    return PeerGroups(groups=tuple(groups))


def _peer_group(path: Path, group_id: str, entry: Any, members_known: tuple[str, ...] | None) -> PeerGroup:
    where = f"{path}: groups.{group_id}"
    if not isinstance(entry, dict) or "members" not in entry:
        raise ConfigError(f"{where}: needs name and members (a list of GSS codes, or 'all')")
    unknown = sorted(set(entry) - {"name", "members", "description"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; fields are name, members, description")
    members = entry["members"]
    if members == "all":
        codes = None
    elif isinstance(members, list) and members:
        codes = tuple(str(code) for code in members)
        _check_codes(f"{where}.members", codes, members_known)
    else:
        raise ConfigError(f"{where}.members: must be 'all' or a non-empty list of GSS codes")
    return PeerGroup(id=group_id, name=str(entry.get("name", group_id)), members=codes, description=str(entry.get("description", "")))


def _check_codes(where: str, codes: tuple[str, ...], members_known: tuple[str, ...] | None) -> None:
    bad = [code for code in codes if not _GSS.match(code)]
    if bad:
        raise ConfigError(f"{where}: {bad} are not 9-character GSS codes (S12..., E06..., W06...)")
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        raise ConfigError(f"{where}: listed twice: {twice}")
    if members_known is not None:
        strangers = [code for code in codes if code not in members_known]
        if strangers:
            raise ConfigError(f"{where}: {strangers} are not members in consortium.yaml")


