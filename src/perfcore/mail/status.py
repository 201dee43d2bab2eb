"""What is still missing for a council and month: the extract, each manual measure, the commentary."""

from __future__ import annotations

from dataclasses import dataclass

from perfcore.intake.manual import MEASURES


@dataclass(frozen=True)
class Missing:
    council: str
    period: str
    extract: bool  # True: no extract held yet
    measures: tuple[str, ...]  # manual-return measures not held yet

    @property
    def complete(self) -> bool:
        return not self.extract and not self.measures

    def sentences(self) -> list[str]:
        if self.complete:
            return [f"Everything for {self.period} is in: the extract and every manual measure."]
        lines = []
        if self.extract:
            lines.append(f"The HBPE extract for {self.period} has not arrived.")
        if self.measures:
            lines.append(f"The manual return for {self.period} still lacks: {', '.join(self.measures)}.")
        return lines


def missing(con, council: str, period: str) -> Missing:
    has_extract = con.execute(
        "select count(*) from current_extracts where authority = ? and period = ?", [council, period]
    ).fetchone()[0]
    held = {
        row[0]
        for row in con.execute(
            "select measure from current_manual where authority = ? and period = ?", [council, period]
        ).fetchall()
    }
    return Missing(council, period, not has_extract, tuple(m for m in MEASURES if m not in held))
