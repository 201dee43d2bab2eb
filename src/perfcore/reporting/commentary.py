"""The manager's commentary beside the figures, and the actions that follow it (hbpe-1.0.md, "Commentary return").

What a page shows is read from the ``current_commentary`` view: the newest row
for each council, month and indicator (a later row replaces an earlier one for
the same month and indicator, whatever it says). As at the page's month:

* the commentary is that month's rows, per indicator and for the month as a whole;
* an action is open when it was raised in that month or earlier (a row with an
  action that is not ``done``) and no row of a later month, up to the page's,
  for the same council and indicator says ``done``; it is overdue when its due
  date is before the last day of the page's month.

Commentary, actions and owners are untrusted text: every table here goes
through ``display.table`` (``safe_text`` per cell, then markdown-escaped) and
the month's comment through ``display.md_literal``. Cells of these tables keep
up to ``COMMENTARY_LIMIT`` characters, the return's own limit, so the reader
sees everything that was loaded (``safe_text`` still cuts anything longer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from perfcore import periods
from perfcore.intake.commentary import DONE, MAX_COMMENTARY
from perfcore.reporting.data import ReportData, query, value

if TYPE_CHECKING:
    import pandas as pd

COMMENTARY_LIMIT = MAX_COMMENTARY  # characters of a table cell of commentary: the whole of what the return allows
MONTH_AS_A_WHOLE = "The month as a whole"  # the "indicator" of a comment with an empty indicator
OVERDUE, OPEN = "⚠ Overdue", "Open"  # a word and a symbol: never colour alone


@dataclass(frozen=True)
class Comment:
    indicator: str  # "" for the month as a whole
    text: str


@dataclass(frozen=True)
class Commentary:
    """A council's commentary for one month."""

    month: str | None  # on the month as a whole
    indicators: tuple[Comment, ...]  # in the framework's order

    def __bool__(self) -> bool:
        return bool(self.month or self.indicators)


@dataclass(frozen=True)
class Action:
    council: str  # GSS code
    indicator: str  # "" for the month as a whole
    action: str
    owner: str
    due: date
    raised: str  # the month of the row that raised it
    overdue: bool


def commentary(data: ReportData, area: str) -> Commentary:
    """The council's commentary for the page's month (rows with an action only and no words are left out)."""
    rows = query(
        data,
        "select indicator, commentary from current_commentary where authority = ? and period = ? and commentary <> ''",
        [area, data.period],
    )
    texts = dict(zip(rows["indicator"], rows["commentary"]))
    ordered = tuple(Comment(i.id, texts[i.id]) for i in data.framework.indicators if i.id in texts)
    return Commentary(texts.get(""), ordered)


def open_actions(data: ReportData, area: str | None = None) -> list[Action]:
    """Actions open as at the page's month, for one council (``area``) or every member.

    Overdue ones first, then by due date."""
    rows = query(
        data,
        f"""
        select a.authority, a.indicator, a.action, a.owner, a.due::varchar as due, a.period
        from current_commentary a
        where a.action is not null and a.action <> '{DONE}' and a.period <= ? and (? is null or a.authority = ?)
          and not exists (select 1 from current_commentary d
                          where d.authority = a.authority and d.indicator = a.indicator and d.action = '{DONE}'
                            and d.period > a.period and d.period <= ?)
    """,
        [data.period, area, area, data.period],
    )
    month_end = periods.last_day(data.period)
    members = set(data.consortium.codes)
    found = [
        Action(
            r.authority,
            r.indicator,
            r.action,
            r.owner,
            date.fromisoformat(r.due),
            r.period,
            date.fromisoformat(r.due) < month_end,
        )
        for r in rows.itertuples(index=False)
        if r.authority in members
    ]
    return sorted(found, key=lambda a: (not a.overdue, a.due, a.council, a.indicator, a.raised))


def overdue_actions(data: ReportData) -> list[Action]:
    """Every member's overdue actions as at the page's month: for the consortium's analysts."""
    return [a for a in open_actions(data) if a.overdue]


# -- for the page ---------------------------------------------------------------------------------------


def indicator_name(data: ReportData, indicator_id: str) -> str:
    """The indicator's short name: short columns leave the PDF's width to the words (perfcore.lua)."""
    return data.framework.indicator(indicator_id).short if indicator_id else MONTH_AS_A_WHOLE


def commentary_table(data: ReportData, area: str, notes: Commentary) -> pd.DataFrame:
    """Indicator | This month | Status | Commentary: each comment beside the figure it concerns."""
    import pandas as pd

    from perfcore.reporting.display import rag_text

    rows = []
    for note in notes.indicators:
        indicator = data.framework.indicator(note.indicator)
        figure = value(data, area, indicator.id)
        rows.append(
            {
                "Indicator": indicator.short,
                "This month": indicator.format(figure),
                "Status": rag_text(indicator.rag(figure)),
                "Commentary": note.text,
            }
        )
    return pd.DataFrame(rows, columns=["Indicator", "This month", "Status", "Commentary"])


def actions_table(data: ReportData, actions: list[Action], *, councils: bool = False) -> pd.DataFrame:
    """Indicator | Action | Owner | Due | Raised | Status (with a Council column first when ``councils``)."""
    import pandas as pd

    names = {c.code: c.name for c in data.consortium.members}
    columns = ["Indicator", "Action", "Owner", "Due", "Raised", "Status"]
    rows = [
        {
            "Council": names[a.council],
            "Indicator": indicator_name(data, a.indicator),
            "Action": a.action,
            "Owner": a.owner,
            "Due": f"{a.due:%-d %b %Y}",
            "Raised": periods.label(a.raised),
            "Status": OVERDUE if a.overdue else OPEN,
        }
        for a in actions
    ]
    return pd.DataFrame(rows, columns=["Council", *columns] if councils else columns)


def commentary_sentence(data: ReportData, notes: Commentary, name: str) -> str:
    """What the section says above the commentary, or in its place when there is none."""
    month = periods.label(data.period)
    if not notes:
        return f"{name} sent no commentary for {month}."
    return (
        f"In {name}'s own words: why figures for {month} moved and what the service is doing about it, "
        "as sent in its commentary return."
    )


def actions_sentence(data: ReportData, actions: list[Action], name: str) -> str:
    """One line: how many actions are open and overdue, or that none are."""
    month = periods.label(data.period)
    if not actions:
        return f"{name} has no open actions at the end of {month}."
    overdue = sum(a.overdue for a in actions)
    count = "1 action is" if len(actions) == 1 else f"{len(actions)} actions are"
    late = (
        (
            f"; {overdue} of them {'is' if overdue == 1 else 'are'} overdue (due before the end of {month}), "
            f"marked {OVERDUE}"
        )
        if overdue
        else ""
    )
    return (
        f"{count} open at the end of {month}{late}. An action stays open, month after month, "
        "until the council's commentary return says it is done."
    )


def overdue_sentence(data: ReportData, actions: list[Action]) -> str:
    month = periods.label(data.period)
    if not actions:
        return f"No member has an overdue action at the end of {month}."
    councils = len({a.council for a in actions})
    return (
        f"{len(actions)} action{'s' if len(actions) != 1 else ''} at {councils} "
        f"council{'s' if councils != 1 else ''} {'were' if len(actions) != 1 else 'was'} due before the end of "
        f"{month} and {'are' if len(actions) != 1 else 'is'} not yet done."
    )
