"""The stories planted in the demo data, and the summary of what was planted (``DemoSummary.stories``).

The constants say where each story is planted and how strong it is; the
simulation (``simulate``) and the extract writer (``extracts``) read them, and
``stories`` reports them back so tests and notebooks can check the analytics
find them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from perfcore.demo.plan import Plan

# The councils the stories are planted in (members of the default consortium).
DETERIORATION_COUNCIL = "S12000019"  # Midlothian
INITIATIVE_COUNCIL = "S12000011"  # East Renfrewshire
RESUBMISSION_COUNCIL = "S12000042"  # Dundee City

DETERIORATION_ADDED_DAYS = (4.0, 8.0, 12.0, 16.0)  # added to the mean, last four months
DETERIORATION_BASELINE_DAYS = 19.0
INITIATIVE_SHIFT_DAYS = -3.0
INITIATIVE_BASELINE_CHANGE_DAYS = 9.5
INITIATIVE_FALLBACK_MONTHS_BEFORE_END = 11  # so 12 months are "on" the initiative
BACKLOG_PHI = 0.55  # AR(1) persistence of the latent backlog
BACKLOG_EFFECT_CLAIMS = 0.15  # log-change of mean new-claim days per SD of backlog
BACKLOG_EFFECT_CHANGES = 0.08
RESUBMISSION_MONTHS_BEFORE_END = 2
RESUBMISSION_SEQ1_LAST_DAY = 24  # seq1 was extracted before later decisions were posted

RECORD_RULES: dict[str, str] = {
    "claim_received_after_decided": "Claim: received after decided",
    "claim_info_complete_before_received": "Claim: infoComplete before received",
    "claim_info_complete_after_decided": "Claim: infoComplete after decided",
    "claim_decided_outside_period": "Claim: decided outside Period",
    "change_notified_after_actioned": "Change: notified after actioned",
    "change_actioned_outside_period": "Change: actioned outside Period",
    "item_received_after_period": "Item: received after the last day of Period",
    "overpayment_identified_outside_period": "Overpayment: identified outside Period",
    "recovery_date_outside_period": "Recovery: date outside Period",
    "writeoff_date_outside_period": "WriteOff: date outside Period",
    "duplicate_ref": "a ref already used by an earlier record of the same section in the same file",
}
MANUAL_RULES: dict[str, str] = {
    "manual_calls_answered_exceeds_offered": "calls_answered > calls_offered for the same council and month",
    "manual_negative_value": "values are non-negative numbers",
}
# Rules planted together in one file; each group goes to a different council and month.
ERROR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("claim_received_after_decided", "claim_info_complete_before_received"),
    ("claim_info_complete_after_decided", "claim_decided_outside_period"),
    ("change_notified_after_actioned", "change_actioned_outside_period"),
    ("item_received_after_period",),
    ("overpayment_identified_outside_period", "recovery_date_outside_period"),
    ("writeoff_date_outside_period", "duplicate_ref"),
)


class RecordError(NamedTuple):
    """A planted bad record: the file, the record's ref (a payment's overpayment ref), the rule id."""

    file: str
    ref: str
    rule: str


class ManualError(NamedTuple):
    """A planted bad manual-return row: the file, its line number (header is line 1), measure, rule id."""

    file: str
    line: int
    measure: str
    rule: str


def stories(plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    """What was planted; ``results`` maps each council's code to what was written for it."""
    from perfcore.demo import commentary  # it imports this module's constants

    return {
        "deterioration": _deterioration_story(plan),
        "initiative": _initiative_story(plan),
        "backlog": {
            "lead_indicator": "work_on_hand_over_30_days",
            "lagging_indicators": ["new_claims_days", "changes_days"],
            "lag_months": 1,
            "ar1_phi": BACKLOG_PHI,
            "log_days_per_sd": {"new_claims_days": BACKLOG_EFFECT_CLAIMS, "changes_days": BACKLOG_EFFECT_CHANGES},
            "latent": {code: list(result.backlog) for code, result in results.items()},
        },
        "resubmission": next((r.resubmission for r in results.values() if r.resubmission), None),
        "record_errors": [error for result in results.values() for error in result.record_errors],
        "manual_errors": [error for result in results.values() for error in result.manual_errors],
        # council -> the commentary rows written for it (demo.commentary), for the councils with a story
        "commentary": {
            code: commentary.story(result.commentary_rows) for code, result in results.items() if result.commentary_rows
        },
    }


def _deterioration_story(plan: Plan) -> dict[str, Any] | None:
    council = plan.council(DETERIORATION_COUNCIL)
    if council is None:
        return None
    written = plan.calendar.written_periods
    ramp = DETERIORATION_ADDED_DAYS[-len(written) :]
    return {
        "council": council.code,
        "name": council.name,
        "indicator": "new_claims_days",
        "periods": list(written[-len(ramp) :]),
        "baseline_days": DETERIORATION_BASELINE_DAYS,
        "added_days": dict(zip(written[-len(ramp) :], ramp)),
    }


def _initiative_story(plan: Plan) -> dict[str, Any] | None:
    council = plan.council(INITIATIVE_COUNCIL)
    if council is None:
        return None
    initiative = plan.initiative
    return {
        "id": initiative.id,
        "council": council.code,
        "name": council.name,
        "title": initiative.title,
        "start": initiative.start,
        "indicators": list(initiative.indicators),
        "indicator": "changes_days",
        "baseline_days": INITIATIVE_BASELINE_CHANGE_DAYS,
        "level_shift_days": INITIATIVE_SHIFT_DAYS,
        "slope_days_per_month": 0.0,
        "source": initiative.source,
    }
