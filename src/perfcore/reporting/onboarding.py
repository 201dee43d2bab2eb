"""Onboarding and feed status: where each council stands, computed from what it has sent.

The consortium's lesson was to agree an action plan with each council's IT
department; this shows the plan's steps as facts, with their dates or what
is outstanding, and, month by month, whether each feed arrived on time
(within ``complete_after_days`` of the month's end, the same cut-off that
makes a month complete), late, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from perfcore import periods
from perfcore.config.parameters import Consortium

STEPS = (
    ("extract_configured", "Extract configured (first file received)"),
    ("first_valid_extract", "First valid extract"),
    ("updater_registered", "Updater registered"),
    ("first_manual_return", "First manual return"),
    ("first_commentary", "First commentary"),
    ("users_created", "Users created"),
)
LABELS = dict(STEPS)
FEEDS = ("extract", "manual", "commentary")
ON_TIME, LATE, MISSING = "on time", "late", "missing"


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    on: date | None = None  # when it was done, where the data say (a file's arrival)
    note: str = ""  # what is outstanding, or a detail


@dataclass(frozen=True)
class CouncilStatus:
    code: str
    name: str
    steps: tuple[Step, ...]
    feeds: dict[str, dict[str, str]]  # period -> feed -> ON_TIME | LATE | MISSING

    @property
    def outstanding(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.done)


def status(con, consortium: Consortium, months: list[str], users_file: Path | None = None) -> list[CouncilStatus]:
    """Every member's onboarding steps and, for ``months``, its feeds' timeliness."""
    firsts = _firsts(con)
    arrivals = _arrivals(con)
    council_users = _council_users(users_file, consortium)
    result = []
    for council in consortium.members:
        mine = firsts.get(council.code, {})
        steps = (
            _from_files("extract_configured", mine.get("any_extract"), "no extract received yet"),
            _from_files("first_valid_extract", mine.get("accepted_extract"), "no extract accepted yet"),
            Step("updater_registered", LABELS["updater_registered"], bool(council.updaters),
                 note=", ".join(council.updaters) or "add the updater's address to parameters/consortium.yaml"),
            _from_files("first_manual_return", mine.get("accepted_manual"), "no manual return accepted yet"),
            _from_files("first_commentary", mine.get("accepted_commentary"), "no commentary received yet"),
            Step("users_created", LABELS["users_created"], council.code in council_users,
                 note=f"{council_users[council.code]} user(s)" if council.code in council_users
                 else "create them with perfcore users add"),
        )
        feeds = {m: {f: _timeliness(arrivals.get((council.code, m, f)), m, consortium.complete_after_days)
                     for f in FEEDS} for m in months}
        result.append(CouncilStatus(council.code, council.name, steps, feeds))
    return result


def _from_files(key: str, first: date | None, outstanding: str) -> Step:
    return Step(key, LABELS[key], first is not None, first, "" if first else outstanding)


def _timeliness(first: datetime | None, period: str, grace_days: int) -> str:
    if first is None:
        return MISSING
    due = periods.last_day(period) + timedelta(days=grace_days)
    return ON_TIME if first.date() <= due else LATE


def _firsts(con) -> dict[str, dict[str, date]]:
    """Per council, the first day it sent anything of each kind, and had one accepted."""
    rows = con.execute(
        "select authority, kind, outcome, min(received_at) from submissions where authority is not null "
        "group by authority, kind, outcome").fetchall()
    out: dict[str, dict[str, date]] = {}
    for authority, kind, outcome, first in rows:
        mine = out.setdefault(authority, {})
        day = first.date()
        if kind == "extract":
            mine["any_extract"] = min(day, mine.get("any_extract", day))
        if outcome in ("accepted", "duplicate"):
            key = f"accepted_{kind}"
            mine[key] = min(day, mine.get(key, day))
    return out


def _arrivals(con) -> dict[tuple[str, str, str], datetime]:
    """(council, month, feed) -> when its first accepted file arrived."""
    rows = con.execute(
        "select authority, period, kind, min(received_at) from submissions "
        "where outcome = 'accepted' and authority is not null and period is not null group by authority, period, kind"
    ).fetchall()
    return {(a, p, k): t for a, p, k, t in rows}


def _council_users(users_file: Path | None, consortium: Consortium) -> dict[str, int]:
    if users_file is None or not users_file.exists():
        return {}
    from perfcore.access import users

    counts: dict[str, int] = {}
    for user in users.load(users_file, consortium.codes).users:
        for code in user.councils:
            counts[code] = counts.get(code, 0) + 1
    return counts
