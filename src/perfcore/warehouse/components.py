"""Components: the per-council monthly sums every indicator is built from.

The framework (parameters/framework.yaml) defines each indicator as a ratio of
sums of these components, so the consortium figure can pool them (Σ
numerators ÷ Σ denominators) and a financial-year-to-date figure can add up
months, both without ever averaging averages. This module declares the
components once (name, source, meaning) and computes them in one SQL query
over the *current* submissions.

A component is NULL when its source is missing for that council and month
(no extract, or no manual value): missing is never 0. A council that sent an
extract with no new claims has ``claims_decided = 0``, which is a real zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfcore.intake.manual import MEASURES

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass(frozen=True)
class Component:
    name: str
    source: str
    help: str
    unit: str = ""  # what one of it is ("days", "claims", "£"): how an explanation words a sum of it


COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Component("claims_decided", "extract", "Claims with outcome awarded or refused", "claims"),
        Component("claims_days", "extract", "Σ (decided − received + 1) over decided claims", "days"),
        Component(
            "claims_within_14",
            "extract",
            "Decided claims with decided ≤ (infoComplete, else received) + 14 days",
            "claims",
        ),
        Component("changes_actioned", "extract", "Change events other than uprating and revision", "changes"),
        Component(
            "changes_days",
            "extract",
            "Σ change days: from notified, or effective when later; 1 day when actioned on or before start",
            "days",
        ),
        Component("woh_items", "extract", "Items of work on hand at month end", "items"),
        Component("woh_over_30", "extract", "Items with (last day of month − received) > 30", "items"),
        Component("caseload", "extract", "Caseload@claims", "claims"),
        Component("expenditure", "extract", "Expenditure@amount (£)", "£"),
        Component("overpaid", "extract", "Σ Overpayment@amount, all causes, identified in the month", "£"),
        Component("overpaid_la_error", "extract", "Σ Overpayment@amount with cause la-error or admin-delay", "£"),
        Component("recovered", "extract", "Σ Recovery@amount in the month", "£"),
        Component("written_off", "extract", "Σ WriteOff@amount in the month", "£"),
        # Each manual-return measure is a component as sent: the measures are declared
        # once, with their bounds, in intake.manual.MEASURE_RULES (the return's format).
        *(
            Component(measure, "manual", "Manual return", "£" if measure.endswith("_gbp") else "")
            for measure in MEASURES
        ),
    )
}

MANUAL_COMPONENTS = tuple(c.name for c in COMPONENTS.values() if c.source == "manual")

_EXTRACT_SQL = """
with cur as (
    select ce.authority, ce.period, ce.submission_id,
           last_day(strptime(ce.period || '-01', '%Y-%m-%d')::date) as month_end
    from current_extracts ce
),
claim_sums as (
    select cur.authority, cur.period,
           count(*) as claims_decided,
           sum(date_diff('day', c.received, c.decided) + 1) as claims_days,
           count(*) filter (where c.decided <= coalesce(c.info_complete, c.received) + interval 14 day)
               as claims_within_14
    from cur join claims c using (submission_id)
    where c.outcome in ('awarded', 'refused')
    group by all
),
change_sums as (
    select authority, period, count(*) as changes_actioned,
           sum(case when actioned <= start_day then 1 else date_diff('day', start_day, actioned) + 1 end)
               as changes_days
    from (
        select cur.authority, cur.period, ch.actioned,
               case when ch.effective > ch.notified then ch.effective else ch.notified end as start_day
        from cur join changes ch using (submission_id)
        where ch.type not in ('uprating', 'revision')
    )
    group by all
),
woh_sums as (
    select cur.authority, cur.period, count(*) as woh_items,
           count(*) filter (where date_diff('day', w.received, cur.month_end) > 30) as woh_over_30
    from cur join work_items w using (submission_id)
    group by all
),
overpaid_sums as (
    select cur.authority, cur.period, sum(o.amount) as overpaid,
           coalesce(sum(o.amount) filter (where o.cause in ('la-error', 'admin-delay')), 0) as overpaid_la_error
    from cur join overpayments o using (submission_id)
    group by all
),
recovered_sums as (
    select cur.authority, cur.period, sum(r.amount) as recovered
    from cur join recoveries r using (submission_id) group by all
),
written_off_sums as (
    select cur.authority, cur.period, sum(w.amount) as written_off
    from cur join write_offs w using (submission_id) group by all
)
select cur.authority, cur.period,
       coalesce(claim_sums.claims_decided, 0) as claims_decided,
       coalesce(claim_sums.claims_days, 0) as claims_days,
       coalesce(claim_sums.claims_within_14, 0) as claims_within_14,
       coalesce(change_sums.changes_actioned, 0) as changes_actioned,
       coalesce(change_sums.changes_days, 0) as changes_days,
       coalesce(woh_sums.woh_items, 0) as woh_items,
       coalesce(woh_sums.woh_over_30, 0) as woh_over_30,
       h.caseload, h.expenditure,
       coalesce(overpaid_sums.overpaid, 0) as overpaid,
       coalesce(overpaid_sums.overpaid_la_error, 0) as overpaid_la_error,
       coalesce(recovered_sums.recovered, 0) as recovered,
       coalesce(written_off_sums.written_off, 0) as written_off
from cur
join (select submission_id, caseload, expenditure from extract_headers) h using (submission_id)
left join claim_sums using (authority, period)
left join change_sums using (authority, period)
left join woh_sums using (authority, period)
left join overpaid_sums using (authority, period)
left join recovered_sums using (authority, period)
left join written_off_sums using (authority, period)
"""


def _manual_sql() -> str:
    columns = ",\n".join(f"    max(value) filter (where measure = '{name}') as {name}" for name in MANUAL_COMPONENTS)
    return f"select authority, period,\n{columns}\nfrom current_manual group by authority, period"


def monthly_components(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per council and month with data, one column per component (NaN = missing)."""
    sql = f"""
    select * from ({_EXTRACT_SQL}) e
    full outer join ({_manual_sql()}) m using (authority, period)
    order by authority, period
    """
    frame = con.execute(sql).df()
    for name in COMPONENTS:
        frame[name] = frame[name].astype("float64")
    return frame
