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
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.config.parameters import Consortium

if TYPE_CHECKING:
    import pandas as pd

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
    users = council_users(users_file, consortium)
    result = []
    for council in consortium.members:
        mine = firsts.get(council.code, {})
        steps = (
            _from_files("extract_configured", mine.get("any_extract"), "no extract received yet"),
            _from_files("first_valid_extract", mine.get("accepted_extract"), "no extract accepted yet"),
            Step(
                "updater_registered",
                LABELS["updater_registered"],
                bool(council.updaters),
                note=", ".join(council.updaters) or "add the updater's address to parameters/consortium.yaml",
            ),
            _from_files("first_manual_return", mine.get("accepted_manual"), "no manual return accepted yet"),
            _from_files("first_commentary", mine.get("accepted_commentary"), "no commentary received yet"),
            Step(
                "users_created",
                LABELS["users_created"],
                council.code in users,
                note=f"{users[council.code]} user(s)"
                if council.code in users
                else "create them with perfcore users add",
            ),
        )
        feeds = {
            m: {f: _timeliness(arrivals.get((council.code, m, f)), m, consortium.complete_after_days) for f in FEEDS}
            for m in months
        }
        result.append(CouncilStatus(council.code, council.name, steps, feeds))
    return result


def _from_files(key: str, first: date | None, outstanding: str) -> Step:
    return Step(key, LABELS[key], first is not None, first, "" if first else outstanding)


def _timeliness(first: datetime | None, period: str, grace_days: int) -> str:
    if first is None:
        return MISSING
    due = periods.last_day(period) + timedelta(days=grace_days)
    return ON_TIME if first.date() <= due else LATE


# Every file with the council and month it is for. A commentary return may carry several councils' or
# months' rows (its submission then names none): it counts for each council and month it has rows for.
_BY_COUNCIL = """
    select authority, period, kind, outcome, received_at from submissions
    where authority is not null and not (kind = 'commentary' and period is null)
    union all
    select distinct c.authority, c.period, 'commentary', s.outcome, s.received_at
    from commentary_rows c join submissions s on s.id = c.submission_id
    where s.authority is null or s.period is null
"""


def _firsts(con) -> dict[str, dict[str, date]]:
    """Per council, the first day it sent anything of each kind, and had one accepted."""
    rows = con.execute(
        f"select authority, kind, outcome, min(received_at) from ({_BY_COUNCIL}) group by authority, kind, outcome"
    ).fetchall()
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
        f"select authority, period, kind, min(received_at) from ({_BY_COUNCIL}) "
        "where outcome = 'accepted' and period is not null group by authority, period, kind"
    ).fetchall()
    return {(a, p, k): t for a, p, k, t in rows}


def council_users(users_file: Path | None, consortium: Consortium) -> dict[str, int]:
    """Council code -> how many site users may read its pages (none without a users file)."""
    if users_file is None or not users_file.exists():
        return {}
    from perfcore.access import users

    counts: dict[str, int] = {}
    for user in users.load(users_file, consortium.codes).users:
        for code in user.councils:
            counts[code] = counts.get(code, 0) + 1
    return counts


# -- the analysts' page "Onboarding and feeds" ------------------------------------------------------------

FEED_NAMES = {"extract": "HBPE extract", "manual": "Manual return", "commentary": "Commentary return"}
FEED_WORDS = {ON_TIME: "✔ on time", LATE: "⚠ late", MISSING: "✖ missing"}  # words carry it; symbols give the shape
PAGE_MONTHS = 6


def users_file(warehouse: Path, given: str | Path | None = None) -> Path:
    """The users file: ``given``, else $PERFCORE_USERS, else users.yaml beside ``warehouse`` (as the CLI has it)."""
    from perfcore import settings
    from perfcore.access.users import default_path

    chosen = given or settings.resolve("users")
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else settings.project_root() / path
    return default_path(Path(warehouse))


def users_note(users: Path, consortium: Consortium) -> str | None:
    """Why the page counts no users (no users file, or one that cannot be read), or None when it can count them."""
    from perfcore.exceptions import AccessError

    if not users.exists():
        return "No users file was found, so no council's users are counted here: see perfcore users list."
    try:
        council_users(users, consortium)
    except (AccessError, OSError):
        return "The users file could not be read, so no council's users are counted here: perfcore users list says why."
    return None


def page_months(period: str, count: int = PAGE_MONTHS) -> list[str]:
    """The last ``count`` months up to the page's, oldest first."""
    return periods.span(periods.shift(period, 1 - count), period)


def for_page(data, users: Path | None, count: int = PAGE_MONTHS) -> list[CouncilStatus]:
    """``status`` for a page of ``data`` (a reporting ``ReportData``), read-only."""
    from perfcore import warehouse

    con = warehouse.connect(data.warehouse, read_only=True)
    try:
        return status(con, data.consortium, page_months(data.period, count), users)
    finally:
        con.close()


# What completes each step: said once under the table, so each cell stays a date or one word.
HOW = {
    "extract_configured": "the council's first HBPE extract arrives (by e-mail or perfcore ingest), valid or not",
    "first_valid_extract": "an extract is accepted",
    "updater_registered": "the updater's address is in parameters/consortium.yaml",
    "first_manual_return": "a manual return is accepted",
    "first_commentary": "a commentary return is accepted",
    "users_created": "someone can read the council's pages (perfcore users add)",
}


def step_cell(step: Step) -> str:
    """The day a step was done, that it is done (a count of users), or "outstanding"."""
    if step.on is not None:
        return f"✔ {step.on:%-d %b %Y}"
    if step.done:
        return f"✔ {step.note}" if step.key == "users_created" else "✔ done"
    return "✖ outstanding"


def steps_help() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"Step": list(LABELS.values()), "Done when": [HOW[key] for key in LABELS]})


def steps_table(found: list[CouncilStatus]) -> pd.DataFrame:
    """Council × step: each cell the date it was done, or what is outstanding."""
    import pandas as pd

    return pd.DataFrame(
        [{"Council": s.name, **{step.label: step_cell(step) for step in s.steps}} for s in found],
        columns=["Council", *LABELS.values()],
    )


def feed_table(found: list[CouncilStatus], feed: str) -> pd.DataFrame:
    """Council × month: whether ``feed`` arrived on time, late or not at all."""
    import pandas as pd

    months = list(found[0].feeds) if found else []
    return pd.DataFrame(
        [{"Council": s.name, **{periods.label(m): FEED_WORDS[s.feeds[m][feed]] for m in months}} for s in found],
        columns=["Council", *(periods.label(m) for m in months)],
    )


def steps_sentence(found: list[CouncilStatus]) -> str:
    complete = sum(not s.outstanding for s in found)
    behind = [f"{s.name} ({len(s.outstanding)})" for s in found if s.outstanding]
    text = f"{complete} of {len(found)} members have completed every onboarding step."
    return text + (f" Steps outstanding: {', '.join(behind)}." if behind else "")


def feeds_sentence(grace_days: int) -> str:
    return (
        f"A feed is on time when its first accepted file arrived within {grace_days} days of the month's end "
        "(the cut-off that makes a month complete), late when it arrived after that, and missing when no file "
        "of that kind was accepted for the month."
    )
