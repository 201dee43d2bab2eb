"""Receipts and reminders: e-mails composed with the standard library, sent or written to an outbox.

Nothing from the incoming message goes into a receipt's headers except the
sender's address, which ``message`` has already checked is one plain address,
and its Message-ID, which it has checked has the plain ``<id@host>`` form.
The body quotes file names, references and reasons (hostile: they arrive
from outside) with control characters made visible, as plain text only.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import files
from perfcore.exceptions import PerfcoreError
from perfcore.terminal import safe

if TYPE_CHECKING:
    from perfcore.mail.message import Incoming
    from perfcore.mail.pipeline import Intake, MessageOutcome

MAX_LISTED_ROWS = 200  # a receipt lists this many rejected rows; the rest are counted, and the CLI lists them all


def receipt_for(outcome: MessageOutcome, incoming: Incoming, intake: Intake) -> EmailMessage | None:
    """The reply to a message, or None when there is no address that can safely be written to."""
    if not incoming.sender:
        return None
    from perfcore.mail import pipeline

    lines = [
        f"perfcore received your message (reference {outcome.id}) on {datetime.now(UTC):%d %B %Y at %H:%M} UTC.",
        "",
    ]
    lines += _explain(outcome, pipeline)
    if outcome.outcome == pipeline.PROCESSED:
        lines += _files(outcome, intake)
        lines += _still_missing(outcome, intake)
    lines += [
        "",
        "This is an automatic reply from the consortium's performance system.",
        "Questions: reply to your consortium analyst, not to this address.",
    ]
    subject = f"perfcore receipt {outcome.id}: {_summary(outcome)}"
    return compose(intake.intake_address, incoming.sender, subject, "\n".join(lines), in_reply_to=incoming.message_id)


def _explain(outcome, pipeline) -> list[str]:
    reason = safe(outcome.reason or "")
    return {
        pipeline.PROCESSED: ["Every attachment was checked and loaded as described below."],
        pipeline.DUPLICATE: [f"This message was {reason}."],
        pipeline.REFUSED: [f"Nothing was loaded: {reason}.", "Please correct this and send the message again."],
        pipeline.QUARANTINED: [
            "Nothing was loaded yet: the message is held for a consortium analyst to check,",
            f"because {reason}.",
            "You will hear from the analyst if anything is needed.",
        ],
        pipeline.RELEASED: ["A consortium analyst released your held message; it was loaded as described below."],
    }.get(outcome.outcome, [reason])


def _summary(outcome) -> str:
    if outcome.files or outcome.refused_attachments:
        accepted = sum(r.outcome == "accepted" for r in outcome.files)
        rejected = sum(not r.ok for r in outcome.files) + len(outcome.refused_attachments)
        return f"{accepted} accepted, {rejected} rejected"
    return outcome.outcome


def _files(outcome, intake) -> list[str]:
    lines = [""]
    for result in outcome.files:
        lines.append(f"- {safe(result.line())}")
        rows = intake.con.execute(
            "select line, ref, reason from rejections where submission_id = ? and level = 'record' "
            "order by line limit ?",
            [result.submission_id, MAX_LISTED_ROWS],
        ).fetchall()
        for line, ref, reason in rows:
            lines.append(f"    line {line}: {safe(str(ref or ''))} {safe(str(reason))}")
        if result.records_rejected > len(rows):
            lines.append(
                f"    ... and {result.records_rejected - len(rows)} more rows (your analyst can list them all)"
            )
    for name, why in outcome.refused_attachments:
        lines.append(f"- REFUSED   {safe(name)}  {safe(why)}")
    return lines


def _still_missing(outcome, intake) -> list[str]:
    from perfcore.mail.status import missing

    areas = sorted({(r.authority, r.period) for r in outcome.files if r.authority and r.period})
    lines = []
    for council, period in areas:
        lines += ["", *missing(intake.con, council, period).sentences()]
    return lines


def compose(
    sender: str, to: str | list[str], subject: str, body: str, *, in_reply_to: str | None = None
) -> EmailMessage:
    """A plain-text e-mail; header values are ours (or checked addresses), never raw input."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = " ".join(subject.split())  # one line, whatever it was built from
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834: mail systems must not auto-reply to it
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message


def relay_sender(relay: str) -> Callable[[EmailMessage], None]:
    """Deliver through an SMTP relay ``HOST:PORT``."""
    host, _, port = relay.rpartition(":")
    if not host or not port.isdigit():
        raise PerfcoreError(f"SMTP relay {relay!r}: use HOST:PORT, e.g. mail.council.gov.uk:25")

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(host, int(port), timeout=30) as smtp:
            smtp.send_message(message)

    return send


def outbox_writer(folder: Path) -> Callable[[EmailMessage], None]:
    """No relay: each e-mail becomes ``<outbox>/<time>-<n>.eml`` for a person or a mail system to send."""

    def write(message: EmailMessage) -> None:
        files.make_folder(folder)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        files.write_bytes(folder / f"{stamp}.eml", bytes(message))

    return write
