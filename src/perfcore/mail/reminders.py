"""Reminders: per council, what is missing for a month, and the e-mail to its updaters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

from perfcore import periods
from perfcore.config.parameters import Consortium
from perfcore.mail.receipts import compose
from perfcore.mail.status import Missing, missing


@dataclass(frozen=True)
class Reminder:
    council: str
    missing: Missing
    to: tuple[str, ...]
    message: EmailMessage | None  # None: nothing missing, or no updater to write to

    def line(self) -> str:
        if self.missing.complete:
            return f"{self.council}: complete for {self.missing.period}"
        owed = (["extract"] if self.missing.extract else []) + list(self.missing.measures)
        to = ", ".join(self.to) or "NO UPDATER REGISTERED"
        return f"{self.council}: missing {', '.join(owed)}; reminder to {to}"


def reminders(con, consortium: Consortium, period: str, intake_address: str) -> Iterator[Reminder]:
    for council in consortium.members:
        owed = missing(con, council.code, period)
        to = council.updaters
        message = None
        if not owed.complete and to:
            body = "\n".join(
                [
                    f"Dear {council.name} benefits team,",
                    "",
                    f"perfcore has not yet received everything for {periods.label(period)}:",
                    "",
                    *[f"- {line}" for line in owed.sentences()],
                    "",
                    "Please send the missing files to this address as attachments: the HBPE extract (.xml) and the",
                    "manual return (.csv). You will receive a receipt listing what was accepted.",
                    "",
                    "This is an automatic reminder from the consortium's performance system.",
                ]
            )
            message = compose(
                intake_address, list(to), f"perfcore reminder: {council.name}, {periods.label(period)}", body
            )
        yield Reminder(council.name, owed, to, message)
