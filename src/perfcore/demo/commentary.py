"""The demo's commentary returns: a manager's words beside the planted stories, and actions that follow them.

``commentary/<CODE>-<YYYY-MM>-commentary.csv``, one file per council and month
with rows (hbpe-1.0.md, "Commentary return"); ingestion tells them from manual
returns by the header. Planted, where the stories are:

* Midlothian explains its deteriorating new-claim times: an action raised three
  months before the end (due in the month before the end, so overdue on the
  last month's page), a second one raised in the last month, a comment on the
  month as a whole; and, six months before the end, an action on calls
  answered that a row two months later closes with ``done``.
* East Renfrewshire comments on its initiative when it starts and in the last
  month, with an open action.
* Dundee City comments on the last month as a whole (its resubmission).

Every file quotes the month's staffing from the council's manual return, so it
changes with the seed like every other demo file. Rows for months before the
written ones are left out (a short run has fewer of them).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

from perfcore import periods
from perfcore.config.parameters import Council
from perfcore.demo.plan import Plan
from perfcore.demo.simulate import CouncilData
from perfcore.demo.stories import DETERIORATION_COUNCIL, INITIATIVE_COUNCIL, RESUBMISSION_COUNCIL
from perfcore.intake.commentary import DONE, HEADER


@dataclass(frozen=True)
class Row:
    period: str
    indicator: str  # "" for the month as a whole
    commentary: str
    action: str = ""
    owner: str = ""
    due: str = ""  # YYYY-MM-DD


def commentary_name(code: str, period: str) -> str:
    return f"{code}-{period}-commentary.csv"


def write_commentary(council: Council, data: CouncilData, plan: Plan) -> tuple[tuple[Path, ...], tuple[Row, ...]]:
    """The council's commentary files (none for a council without a story) and the rows written."""
    rows = planted_rows(council, data, plan)
    folder = plan.out / "commentary"
    paths = []
    for period in sorted({r.period for r in rows}):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / commentary_name(council.code, period)
        path.write_bytes(_csv(council.code, [r for r in rows if r.period == period]).encode("utf-8"))
        paths.append(path)
    return tuple(paths), rows


def planted_rows(council: Council, data: CouncilData, plan: Plan) -> tuple[Row, ...]:
    written = plan.calendar.written_periods
    staff = dict(zip(written, data.manual["staff_fte"]))
    story = {
        DETERIORATION_COUNCIL: _midlothian,
        INITIATIVE_COUNCIL: _east_renfrewshire,
        RESUBMISSION_COUNCIL: _dundee,
    }.get(council.code)
    if story is None:
        return ()
    return tuple(r for r in story(plan, staff) if r.period in staff)


def story(rows: tuple[Row, ...]) -> list[dict[str, str]]:
    """The rows as plain values, for ``DemoSummary.stories``."""
    return [asdict(r) for r in rows]


def _back(plan: Plan, months: int) -> str:
    """The written month ``months`` before the last (a month before the first written one when the run is short)."""
    return periods.shift(plan.calendar.written_periods[-1], -months)


def _day(period: str, day: int) -> str:
    return periods.first_day(period).replace(day=day).isoformat()


def _last(period: str) -> str:
    return periods.last_day(period).isoformat()


def _fte(staff: dict[str, float], period: str) -> str:
    return f"{staff.get(period, 0.0):.1f} FTE"


def _midlothian(plan: Plan, staff: dict[str, float]) -> list[Row]:
    end, before = _back(plan, 0), _back(plan, 1)
    sick, early, closed = _back(plan, 3), _back(plan, 6), _back(plan, 4)
    return [
        Row(
            early,
            "calls_answered_pct",
            f"Fewer calls answered while the new telephony system bedded in; {_fte(staff, early)} in post.",
            "Review the call-handling rota",
            "Customer Services Manager",
            _last(_back(plan, 5)),
        ),
        Row(
            closed,
            "calls_answered_pct",
            f"New call-handling rota in place since {periods.label(closed)}; {_fte(staff, closed)} in post.",
            DONE,
        ),
        Row(
            sick,
            "new_claims_days",
            f"Two assessors on long-term sick leave since {periods.label(_back(plan, 4))}: new claims wait longer. "
            f"{_fte(staff, sick)} in post.",
            "Clear new claims older than 30 days",
            "Benefits Manager",
            _day(before, 15),
        ),
        Row(
            end,
            "new_claims_days",
            f"New-claim times rose again in {periods.label(end)}: claims older than 30 days are not yet cleared. "
            f"Overtime agreed from {periods.first_day(periods.shift(end, 1)):%-d %B %Y}.",
            "Recruit two temporary assessors",
            "Head of Revenues",
            _last(periods.shift(end, 2)),
        ),
        Row(
            end,
            "",
            f"Overall: a recovery plan for new claims is agreed with the Head of Revenues; "
            f"{_fte(staff, end)} in post this month.",
        ),
    ]


def _east_renfrewshire(plan: Plan, staff: dict[str, float]) -> list[Row]:
    end, start, title = _back(plan, 0), plan.initiative.start, plan.initiative.title
    started = (
        [
            Row(
                start,
                "changes_days",
                f"The {title} started this month: change events now go straight to one "
                f"team. {_fte(staff, start)} in post.",
            )
        ]
        if start != end
        else []
    )
    return [
        *started,
        Row(
            end,
            "changes_days",
            f"Change events are decided faster since the {title} began in {periods.label(start)}; "
            f"the new process is kept. {_fte(staff, end)} in post.",
            "Apply the same process to new claims",
            "Service Improvement Lead",
            _last(periods.shift(end, 3)),
        ),
    ]


def _dundee(plan: Plan, staff: dict[str, float]) -> list[Row]:
    end = _back(plan, 0)
    resent = plan.resubmission[1] if plan.resubmission and plan.resubmission[0] == RESUBMISSION_COUNCIL else None
    again = (
        (
            f" We sent {periods.label(resent)}'s extract again (Sequence 2): the first one missed the claims "
            "decided late in the month."
        )
        if resent
        else ""
    )
    return [Row(end, "", f"A steady month; {_fte(staff, end)} in post.{again}")]


def _csv(code: str, rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow((code, r.period, r.indicator, r.commentary, r.action, r.owner, r.due))
    return out.getvalue()
