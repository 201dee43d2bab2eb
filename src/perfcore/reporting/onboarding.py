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
FEEDS = ("extract", "manual", "commentary")
ON_TIME, LATE, MISSING = "on time", "late", "missing"


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done_on: date | None  # None: outstanding
    note: str = ""  # what is outstanding, or a detail


@dataclass(frozen=True)
class CouncilStatus:
    code: str
    name: str
    steps: tuple[Step, ...]
    feeds: dict[str, dict[str, str]]  # period -> feed -> ON_TIME | LATE | MISSING

    @property
    def outstanding(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.done_on is None)


def status(con, consortium: Consortium, months: list[str], users_file: Path | None = None) -> list[CouncilStatus]:
    """Every member's onboarding steps and, for ``months``, its feeds' timeliness."""
    firsts = _firsts(con)
    arrivals = _arrivals(con)
    council_users = _council_users(users_file, consortium)
    result = []
    for council in consortium.members:
        mine = firsts.get(council.code, {})
        updaters = council.updaters
        steps = (
            Step("extract_configured", STEPS[0][1], mine.get("any_extract"), "" if mine.get("any_extract") else "no extract received yet"),
            Step("first_valid_extract", STEPS[1][1], mine.get("accepted_extract"),
                 "" if mine.get("accepted_extract") else "no extract accepted yet"),
            Step("updater_registered", STEPS[2][1], date.min if updaters else None,
                 ", ".join(updaters) if updaters else "add the updater's address to parameters/consortium.yaml"),
            Step("first_manual_return", STEPS[3][1], mine.get("accepted_manual"),
                 "" if mine.get("accepted_manual") else "no manual return accepted yet"),
            Step("first_commentary", STEPS[4][1], mine.get("accepted_commentary"),
                 "" if mine.get("accepted_commentary") else "no commentary received yet"),
            Step("users_created", STEPS[5][1], date.min if council.code in council_users else None,
                 f"{council_users.get(council.code, 0)} user(s)" if council.code in council_users
                 else "create them with perfcore users add"),
        )
        feeds = {m: {f: _timeliness(arrivals.get((council.code, m, f)), m, consortium.complete_after_days)
                     for f in FEEDS} for m in months}
        result.append(CouncilStatus(council.code, council.name, steps, feeds))
    return result


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
