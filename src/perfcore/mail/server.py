"""``perfcore intake smtp``: a real SMTP server (aiosmtpd) in front of the pipeline.

It accepts mail for the intake address (by default any recipient: the
council's mail system routes only the intake mailbox here), takes each
message whole, and answers 250 once the message is kept and processed; the
council's updater hears the outcome in the receipt. One message is processed
at a time: DuckDB has one writer, and a month brings a few dozen messages.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass

from perfcore.mail.message import MAX_MESSAGE_BYTES
from perfcore.mail.pipeline import Intake, MessageOutcome, receive

# Accepted at the SMTP level up to twice the documented limit, so a message a little too big is
# kept and gets a receipt saying so; beyond this the sending server is told 552 and bounces it.
SMTP_SIZE_LIMIT = 2 * MAX_MESSAGE_BYTES


@dataclass
class IntakeHandler:
    """aiosmtpd's handler: RCPT filter, then DATA → the pipeline."""

    intake: Intake
    recipients: tuple[str, ...] = ()  # empty: any recipient
    announce: Callable[[MessageOutcome], None] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if self.recipients and address.lower() not in self.recipients:
            return "550 5.1.1 not an intake address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        outcome = await asyncio.get_running_loop().run_in_executor(None, self._process, raw, envelope.mail_from)
        if self.announce:
            self.announce(outcome)
        return f"250 OK message {outcome.id} {outcome.outcome}"

    def _process(self, raw: bytes, mail_from: str | None) -> MessageOutcome:
        with self._lock:
            return receive(raw, self.intake, envelope_from=mail_from or None)


def controller(handler: IntakeHandler, host: str, port: int):
    """A started aiosmtpd Controller (its own thread and event loop); call ``.stop()`` to end it."""
    from aiosmtpd.controller import Controller

    server = Controller(
        handler,
        hostname=host,
        port=port,
        data_size_limit=SMTP_SIZE_LIMIT,
        decode_data=False,
        server_hostname="perfcore-intake",
        ready_timeout=10,
    )
    server.start()
    return server
