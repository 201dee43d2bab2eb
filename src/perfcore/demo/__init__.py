"""Demo data: realistic HBPE 1.0 extracts and manual returns with planted stories.

``write_demo_data`` writes, under ``out``::

    extracts/<CODE>/<CODE>-<YYYY-MM>-seq<N>.xml   one HBPE 1.0 extract per council per month
    manual/<CODE>-<YYYY-MM>.csv                   the manual return: authority,period,measure,value
    commentary/<CODE>-<YYYY-MM>-commentary.csv    a manager's commentary and actions (a few councils and months)

The figures follow ../shared/spec/indicators.md: caseloads of 5,000-30,000
claims drifting slowly down, about 2% of the caseload in new claims a month
taking 15-30 days on average, 10-15% in change events taking 3-12 days (lower
in January-April, with a mass of excluded ``uprating`` changes every April),
work on hand that is exactly the claims and changes received but not yet
decided at month end, about £60-100 a claim a week in benefit, LA-error
overpayments of 0.3-0.6% of expenditure, and recoveries of 60-85% of what is
identified.

Stories planted for analysis to find (``DemoSummary.stories``; a story whose
council is not in the run is ``None``):

``deterioration``
    Midlothian's new-claim times rise sharply over the last four months.
    Keys: council, name, indicator, periods, baseline_days, added_days
    (period -> days added to that month's mean).
``initiative``
    East Renfrewshire's change-event times fall by ``level_shift_days`` from
    the ``start`` of its initiative, read from ``parameters/initiatives.yaml``
    (or 11 months before the end period when the file has no entry for it).
    Keys: id, council, name, title, start, indicators, indicator,
    baseline_days, level_shift_days, slope_days_per_month, source.
``backlog``
    In every council a latent AR(1) backlog drives work on hand older than 30
    days at month end and the processing times of the following month.
    Keys: lead_indicator, lagging_indicators, lag_months, ar1_phi,
    log_days_per_sd, latent (code -> backlog per written month).
``resubmission``
    Dundee City resubmits the month two before the end: ``seq1`` misses the
    claims decided after the 24th, ``seq2`` has them all and is what counts.
    Keys: council, name, period, files, claims_seq1, claims_seq2, counts.
``record_errors`` / ``manual_errors``
    ``RecordError(file, ref, rule)`` and ``ManualError(file, line, measure,
    rule)`` lists: one or two deliberately bad records in a handful of files,
    together breaking every record-level rule of HBPE 1.0 (``RECORD_RULES``),
    and bad manual-return rows (``MANUAL_RULES``). For a Recovery or WriteOff
    the ref is its overpayment ref. Every file stays schema-valid, and no
    other record breaks a rule.
``commentary``
    council -> the commentary rows written for it (``demo.commentary``):
    Midlothian explains its deterioration (one action overdue at the end,
    one closed with ``done``), East Renfrewshire its initiative, Dundee City
    its month as a whole.

Everything is drawn from ``numpy.random.default_rng`` seeded by ``seed`` and
the council's code, so the same seed gives byte-identical files and adding
councils leaves the others' data unchanged (only where the planted errors go
depends on the councils' positions). ``Created`` is derived from the period,
never the clock.

The package, along the run:

    data       ``write_demo_data`` and ``DemoSummary``: plan, simulate and write each council, report the stories
    plan       councils, months (the calendar), where the resubmission and the planted errors go
    councils   real English and Welsh councils (GSS code, name, caseload, system) for runs beyond the members
    stories    the planted stories' councils and strengths, the planted rules, the stories' summary
    simulate   one council's profile, claims, changes, money and manual figures (numpy, seeded per council)
    extracts   HBPE extracts through ``intake.hbpe.write_extract``, the resubmission, the planted bad records
    returns    the manual-return CSVs and their planted bad rows
    commentary the commentary returns beside the stories, with their actions
"""

from perfcore.demo.data import DemoSummary, write_consortium_yaml, write_demo_data
from perfcore.demo.extracts import extract_name
from perfcore.demo.returns import MANUAL_MEASURES, manual_name
from perfcore.demo.stories import (
    BACKLOG_EFFECT_CHANGES,
    BACKLOG_EFFECT_CLAIMS,
    BACKLOG_PHI,
    DETERIORATION_ADDED_DAYS,
    DETERIORATION_BASELINE_DAYS,
    DETERIORATION_COUNCIL,
    INITIATIVE_BASELINE_CHANGE_DAYS,
    INITIATIVE_COUNCIL,
    INITIATIVE_SHIFT_DAYS,
    MANUAL_RULES,
    RECORD_RULES,
    RESUBMISSION_COUNCIL,
    ManualError,
    RecordError,
)

__all__ = [
    "BACKLOG_EFFECT_CHANGES",
    "BACKLOG_EFFECT_CLAIMS",
    "BACKLOG_PHI",
    "DETERIORATION_ADDED_DAYS",
    "DETERIORATION_BASELINE_DAYS",
    "DETERIORATION_COUNCIL",
    "INITIATIVE_BASELINE_CHANGE_DAYS",
    "INITIATIVE_COUNCIL",
    "INITIATIVE_SHIFT_DAYS",
    "MANUAL_MEASURES",
    "MANUAL_RULES",
    "RECORD_RULES",
    "RESUBMISSION_COUNCIL",
    "DemoSummary",
    "ManualError",
    "RecordError",
    "extract_name",
    "manual_name",
    "write_consortium_yaml",
    "write_demo_data",
]
