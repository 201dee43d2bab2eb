"""The demo's HBPE extracts: one per council and month, a resubmission, and the planted bad records.

Records are kept as value tuples in ``hbpe`` attribute order and written by
``hbpe.write_extract``, the one HBPE writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perfcore import periods as P
from perfcore.config.parameters import Council
from perfcore.demo.plan import Calendar, Plan
from perfcore.demo.simulate import UPRATING, CouncilData, Events, Money
from perfcore.demo.stories import RECORD_RULES, RESUBMISSION_SEQ1_LAST_DAY, RecordError
from perfcore.intake import hbpe
from perfcore.intake.hbpe import CAUSES, CHANGE_TYPES, OUTCOMES, TENURES

_SUPPLIER_VERSIONS = {"Northgate": "6.2", "Capita": "4.1", "Civica": "2.3"}


Record = tuple[str | None, ...]  # values in ``hbpe`` attribute order, None for an absent optional one


@dataclass
class _Sections:
    """One extract's records per section (mutable: errors are planted in it)."""

    claims: list[Record]
    changes: list[Record]
    items: list[Record]
    overpayments: list[Record]
    recoveries: list[Record]
    writeoffs: list[Record]

    def by_element(self) -> dict[str, list[Record]]:
        """For ``hbpe.write_extract``: every section, so an empty one is written as an empty element."""
        return {
            "Claim": self.claims,
            "Change": self.changes,
            "Item": self.items,
            "Overpayment": self.overpayments,
            "Recovery": self.recoveries,
            "WriteOff": self.writeoffs,
        }


def _columns(events: Events, rows: slice) -> zip:
    """Plain Python values row by row: formatting them is much faster than formatting numpy scalars."""
    columns = (events.ref, events.received, events.decided, events.middle, events.kind, events.extra)
    return zip(*(column[rows].tolist() for column in columns))


def _claims(claims: Events, rows: slice, calendar: Calendar) -> list[Record]:
    text = calendar.text
    return [
        (
            f"NC{ref:06d}",
            text(received),
            text(info) if info >= 0 else None,
            text(decided),
            OUTCOMES[outcome],
            TENURES[tenure] if tenure >= 0 else None,
        )
        for ref, received, decided, info, outcome, tenure in _columns(claims, rows)
    ]


def _changes(changes: Events, rows: slice, calendar: Calendar) -> list[Record]:
    text = calendar.text
    return [
        (
            f"CE{ref:07d}",
            f"HB{claim:06d}",
            CHANGE_TYPES[kind],
            text(notified),
            text(effective) if effective >= 0 else None,
            text(actioned),
        )
        for ref, notified, actioned, effective, kind, claim in _columns(changes, rows)
    ]


def _items(data: CouncilData, month: int, calendar: Calendar) -> list[Record]:
    """Work on hand is exactly what was received by month end and decided after it."""
    last = int(calendar.last[month])
    items: list[tuple[int, str, str]] = []
    for events, kind, ref_format in (
        (data.claims, "new-claim", "NC{:06d}"),
        (data.changes, "change", "CE{:07d}"),
    ):
        pending = (events.received <= last) & (events.decided > last)
        if events is data.changes:
            pending &= events.kind != UPRATING
        for ref, received in zip(events.ref[pending].tolist(), events.received[pending].tolist()):
            items.append((received, kind, ref_format.format(ref)))
    items.sort()
    text = calendar.text
    return [(ref, kind, text(received)) for received, kind, ref in items]


def _overpayments(money: Money, month: int, calendar: Calendar) -> list[Record]:
    text = calendar.text
    rows = np.flatnonzero(money.op_month == month)
    return [
        (f"OP{ref:06d}", f"HB{claim:06d}", text(day), f"{amount:.2f}", CAUSES[cause])
        for ref, claim, day, amount, cause in zip(
            money.op_ref[rows].tolist(),
            money.op_claim[rows].tolist(),
            money.op_date[rows].tolist(),
            money.op_amount[rows].tolist(),
            money.op_cause[rows].tolist(),
        )
    ]


def _payments(payments: tuple[np.ndarray, ...], money: Money, month: int, calendar: Calendar) -> list[Record]:
    months, index, day, amount = payments
    rows = np.flatnonzero(months == month)
    return [
        (f"OP{ref:06d}", calendar.text(d), f"{a:.2f}")
        for ref, d, a in zip(money.op_ref[index[rows]].tolist(), day[rows].tolist(), amount[rows].tolist())
    ]


def _sections(data: CouncilData, month: int, calendar: Calendar) -> _Sections:
    money = data.money
    return _Sections(
        claims=_claims(data.claims, data.claims.rows(month), calendar),
        changes=_changes(data.changes, data.changes.rows(month), calendar),
        items=_items(data, month, calendar),
        overpayments=_overpayments(money, month, calendar),
        recoveries=_payments(money.recoveries, money, month, calendar),
        writeoffs=_payments(money.writeoffs, money, month, calendar),
    )


def _write_document(
    path: Path,
    council: Council,
    period: str,
    sequence: int,
    created: str,
    sections: _Sections,
    caseload: int,
    expenditure: float,
) -> None:
    header = hbpe.Header(
        authority=council.code,
        authority_name=council.name,
        period=period,
        supplier=council.supplier,
        system=council.system,
        system_version=_SUPPLIER_VERSIONS.get(council.supplier),
        created=created,
        sequence=sequence,
        caseload=caseload,
        expenditure=f"{expenditure:.2f}",
    )
    with path.open("w", encoding="utf-8", newline="\n") as out:
        hbpe.write_extract(out, header, sections.by_element())


def _created(period: str, day: int = 1) -> str:
    """Extracts run overnight early in the next month: derived from the period, not the clock."""
    following = P.first_day(P.shift(period, 1))
    return f"{following.replace(day=day).isoformat()}T02:00:00Z"


def extract_name(code: str, period: str, sequence: int) -> str:
    return f"{code}-{period}-seq{sequence}.xml"


def write_extracts(
    council: Council, data: CouncilData, plan: Plan
) -> tuple[tuple[Path, ...], tuple[RecordError, ...], dict[str, Any] | None]:
    calendar = plan.calendar
    folder = plan.out / "extracts" / council.code
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    errors: list[RecordError] = []
    resubmission = None
    for month, period in zip(calendar.written_range, calendar.written_periods):
        sections = _sections(data, month, calendar)
        name = extract_name(council.code, period, 1)
        for rule in plan.error_sites.get((council.code, period), ()):
            errors.append(RecordError(name, _plant(rule, sections, data.money, month, calendar), rule))
        documents = [(1, _created(period), sections)]
        if (council.code, period) == plan.resubmission:
            first = _without_late_claims(sections, period)
            documents = [(1, _created(period), first), (2, _created(period, day=9), sections)]
            resubmission = {
                "council": council.code,
                "name": council.name,
                "period": period,
                "files": [extract_name(council.code, period, 1), extract_name(council.code, period, 2)],
                "claims_seq1": len(first.claims),
                "claims_seq2": len(sections.claims),
                "counts": extract_name(council.code, period, 2),
            }
        for sequence, created, content in documents:
            path = folder / extract_name(council.code, period, sequence)
            caseload, expenditure = int(data.caseload[month]), float(data.money.expenditure[month])
            _write_document(path, council, period, sequence, created, content, caseload, expenditure)
            written.append(path)
    return tuple(written), tuple(errors), resubmission


def _without_late_claims(sections: _Sections, period: str) -> _Sections:
    """The first submission's extract ran before the last days' decisions were posted."""
    cutoff = P.first_day(period).replace(day=RESUBMISSION_SEQ1_LAST_DAY).isoformat()
    early = [claim for claim in sections.claims if claim[_DECIDED] <= cutoff]
    return _Sections(
        early, sections.changes, sections.items, sections.overpayments, sections.recoveries, sections.writeoffs
    )


_DECIDED = hbpe.SECTION_BY_ELEMENT["Claim"].names.index("decided")


# --------------------------------------------------------------------------- planted errors

# (received, infoComplete, decided) as day offsets: "f" from the month's first day, "l" from its last.
_BAD_CLAIMS: dict[str, tuple[tuple[str, int], tuple[str, int] | None, tuple[str, int]]] = {
    "claim_received_after_decided": (("f", 12), None, ("f", 9)),
    "claim_info_complete_before_received": (("f", 3), ("f", 1), ("f", 20)),
    "claim_info_complete_after_decided": (("f", 2), ("f", 25), ("f", 20)),
    "claim_decided_outside_period": (("f", -30), None, ("l", 3)),
    "duplicate_ref": (("f", -10), None, ("f", 6)),  # a valid record whose only fault is its ref
}
_BAD_CHANGES: dict[str, tuple[tuple[str, int], tuple[str, int]]] = {  # (notified, actioned)
    "change_notified_after_actioned": (("f", 14), ("f", 10)),
    "change_actioned_outside_period": (("f", -20), ("f", -2)),
}


def _plant(rule: str, sections: _Sections, money: Money, month: int, calendar: Calendar) -> str:
    """Append one record that breaks ``rule`` and nothing else; return its ref."""
    first, last = int(calendar.first[month]), int(calendar.last[month])

    def day(offset: tuple[str, int] | None) -> str | None:
        return None if offset is None else calendar.text((first if offset[0] == "f" else last) + offset[1])

    ref = _error_ref(rule, month)
    if rule in _BAD_CLAIMS:
        received, info, decided = (day(o) for o in _BAD_CLAIMS[rule])
        if rule == "duplicate_ref":
            if not sections.claims:  # nothing to duplicate: add a valid first claim with the ref
                sections.claims.append(_claim(ref, received, None, decided))
            ref = sections.claims[0][0]
        sections.claims.append(_claim(ref, received, info, decided))
    elif rule in _BAD_CHANGES:
        notified, actioned = (day(o) for o in _BAD_CHANGES[rule])
        sections.changes.append((ref, "HB000001", "income", notified, None, actioned))
    elif rule == "item_received_after_period":
        sections.items.append((ref, "new-claim", day(("l", 2))))
    elif rule == "overpayment_identified_outside_period":
        sections.overpayments.append((ref, "HB000001", day(("f", -4)), "250.00", "la-error"))
    else:  # a payment dated the day after the month, against an overpayment not yet paid in this file
        payments = sections.recoveries if rule.startswith("recovery") else sections.writeoffs
        ref = _unpaid_overpayment(payments, money, month)
        payments.append((ref, day(("l", 1)), "10.00"))
    return ref


def _claim(ref: str, received: str | None, info: str | None, decided: str | None) -> Record:
    return (ref, received, info or None, decided, "awarded", None)


def _error_ref(rule: str, month: int) -> str:
    """A ref outside the generated ranges (claims and overpayments stay below 900000, changes above 999999)."""
    number = 900_000 + 100 * month + list(RECORD_RULES).index(rule)
    prefix = {"change": "CE", "overpayment": "OP"}.get(rule.split("_")[0], "NC")
    return f"{prefix}{number:06d}"


def _unpaid_overpayment(payments: list[Record], money: Money, month: int) -> str:
    """The latest overpayment identified by this month with no payment of this kind in the file yet."""
    used = {payment[0] for payment in payments}
    for ref in money.op_ref[money.op_month <= month][::-1].tolist():
        if f"OP{ref:06d}" not in used:
            return f"OP{ref:06d}"
    return "OP899999"  # no overpayment yet: a ref no generated overpayment has
