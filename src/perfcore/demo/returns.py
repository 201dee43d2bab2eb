"""The demo's manual returns: one CSV per council and month, a few rows planted to break a rule."""

from __future__ import annotations

from pathlib import Path

from perfcore.config.parameters import Council
from perfcore.demo.plan import Plan
from perfcore.demo.simulate import CouncilData
from perfcore.demo.stories import ManualError
from perfcore.intake.manual import MEASURES

MANUAL_MEASURES = MEASURES  # the manual return's measures, in the order written


def manual_name(code: str, period: str) -> str:
    return f"{code}-{period}.csv"


def write_manual(council: Council, data: CouncilData, plan: Plan) -> tuple[tuple[Path, ...], tuple[ManualError, ...]]:
    """One CSV per council and month, as a designated updater e-mails it."""
    folder = plan.out / "manual"
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    errors: list[ManualError] = []
    for number, period in enumerate(plan.calendar.written_periods):
        values = {measure: _manual_value(measure, data.manual[measure][number]) for measure in MANUAL_MEASURES}
        name = manual_name(council.code, period)
        for rule in plan.manual_error_sites.get((council.code, period), ()):
            measure = _break_manual_rule(rule, values)
            errors.append(ManualError(name, 2 + MANUAL_MEASURES.index(measure), measure, rule))
        rows = [
            "authority,period,measure,value",
            *(f"{council.code},{period},{m},{values[m]}" for m in MANUAL_MEASURES),
        ]
        path = folder / name
        path.write_bytes(("\n".join(rows) + "\n").encode("utf-8"))
        paths.append(path)
    return tuple(paths), tuple(errors)


def _manual_value(measure: str, value: float) -> str:
    return f"{value:.1f}" if measure == "staff_fte" else str(int(value))


def _break_manual_rule(rule: str, values: dict[str, str]) -> str:
    """Change one value so its row breaks ``rule``; return the measure of the bad row."""
    if rule == "manual_calls_answered_exceeds_offered":
        values["calls_answered"] = str(int(values["calls_offered"]) + 137)
        return "calls_answered"
    values["staff_fte"] = "-" + values["staff_fte"]
    return "staff_fte"
