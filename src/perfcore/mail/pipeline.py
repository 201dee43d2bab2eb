"""One e-mail from arrival to outcome. ``receive`` reads as the pipeline:

1. keep it whole: ``mail/<sha256>.eml`` beside the warehouse, before anything can fail;
2. a message already received (same bytes, or same Message-ID) is a duplicate: nothing is redone;
3. read it defensively (``message``): too big, no or too many attachments, broken headers:
   refused, with a receipt saying why;
4. authorise the sender: a designated updater (``consortium.yaml``), authenticated when the
   intake requires it, sending only for councils it updates. Anyone else: quarantined
   (kept, nothing loaded) until an analyst releases or drops it;
5. ingest every usable attachment exactly as ``perfcore ingest`` does (one transaction per file);
6. record the outcome, and send the receipt: what was accepted, every rejected file and row
   with its line and reason, and what is still missing for the council and month.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

from perfcore import files, warehouse
from perfcore.config.parameters import Consortium
from perfcore.exceptions import MailError, PerfcoreError
from perfcore.intake.ingest import IngestResult, ingest_file
from perfcore.mail.message import Attachment, Incoming, read_message

# Outcomes of a message (each file it carried has its own ingest outcome too).
PROCESSED, DUPLICATE, REFUSED, QUARANTINED, RELEASED, DROPPED = (
    "processed",
    "duplicate",
    "refused",
    "quarantined",
    "released",
    "dropped",
)
MAIL_FOLDER = "mail"


@dataclass(frozen=True)
class MessageOutcome:
    id: int
    outcome: str
    sender: str | None
    reason: str | None = None
    files: tuple[IngestResult, ...] = ()
    refused_attachments: tuple[tuple[str, str], ...] = ()  # (file name, why)
    receipt: EmailMessage | None = None

    def line(self) -> str:
        what = f"message {self.id} from {self.sender or '(no usable sender)'}: {self.outcome.upper()}"
        if self.files:
            what += "; " + ", ".join(f"{r.file} {r.outcome}" for r in self.files)
        if self.reason:
            what += f"; {self.reason}"
        return what


@dataclass(frozen=True)
class Intake:
    """Where and how messages are taken in."""

    con: object  # a read-write DuckDB connection to the warehouse
    consortium: Consortium
    today: date
    deliver: Callable[[EmailMessage], None]  # sends a receipt (relay) or writes it to the outbox
    intake_address: str = "perfcore-intake@localhost"
    authserv_id: str | None = None  # require an Authentication-Results pass from this server, if set
    channel: str = "email"
    keep_folder: Path | None = None  # default: mail/ beside the warehouse
    indicator_ids: frozenset[str] | None = None  # the framework's, for commentary returns (default: parameters/)
    seen_ids: set[str] = field(default_factory=set)

    @property
    def folder(self) -> Path:
        return self.keep_folder or warehouse.database_path(self.con).parent / MAIL_FOLDER


def receive(raw: bytes, intake: Intake, *, envelope_from: str | None = None) -> MessageOutcome:
    """The pipeline for one message; never raises on what the message holds."""
    digest = hashlib.sha256(raw).hexdigest()
    stored = keep(raw, digest, intake.folder)
    incoming = read_message(raw)
    earlier = _earlier(intake.con, digest, incoming.message_id)
    if earlier is not None:
        return _finish(
            intake,
            incoming,
            digest,
            stored,
            DUPLICATE,
            f"already received as message {earlier[0]} on {earlier[1]:%d %B %Y}; nothing was done again",
        )
    if incoming.refusal:
        return _finish(intake, incoming, digest, stored, REFUSED, incoming.refusal)
    suspicion = _unauthorised(incoming, intake, envelope_from)
    if suspicion:
        return _finish(intake, incoming, digest, stored, QUARANTINED, suspicion)
    return _finish(intake, incoming, digest, stored, PROCESSED, None, files=_ingest_all(incoming, intake))


def keep(raw: bytes, digest: str, folder: Path) -> str:
    """The message byte for byte (nothing received is ever lost, refused or not)."""
    path = folder / f"{digest}.eml"
    if not path.exists():
        files.make_folder(folder)
        files.write_bytes(path, raw)
    return f"{MAIL_FOLDER}/{digest}.eml"


# -- the checks ------------------------------------------------------------------------------------


def _unauthorised(incoming: Incoming, intake: Intake, envelope_from: str | None) -> str | None:
    """Why this message may not be loaded as sent, or None."""
    sender = incoming.sender or ""
    _ = envelope_from  # recorded by the mail system; council relays rewrite it, so it is not a check here
    if intake.authserv_id and not _authenticated(incoming, intake.authserv_id):
        return f"the message does not carry a passing authentication result from {intake.authserv_id}"
    councils = councils_updated_by(intake.consortium, sender)
    if not councils:
        return f"{sender} is not a designated updater of any member council"
    for attachment in incoming.usable:
        for code in attachment_councils(attachment):
            if code not in councils:
                return f"{sender} is not the designated updater of {code} (an attachment is for it)"
    return None


def _authenticated(incoming: Incoming, authserv_id: str) -> bool:
    """An Authentication-Results header added by our own mail server says DMARC, DKIM or SPF passed."""
    for value in incoming.authentication:
        server, _, results = value.partition(";")
        if server.strip().lower() == authserv_id.lower() and any(
            f"{method}=pass" in results.lower() for method in ("dmarc", "dkim", "spf")
        ):
            return True
    return False


def councils_updated_by(consortium: Consortium, sender: str) -> set[str]:
    """The member councils whose designated updaters include this address."""
    return {council.code for council in consortium.members if sender.lower() in council.updaters}


def attachment_councils(attachment: Attachment) -> set[str]:
    """The councils an attachment is for, read without trusting it (an unreadable one: none,
    and ingest rejects it with the reason)."""
    if attachment.suffix == ".xml":
        return _extract_council(attachment.payload)
    return _return_councils(attachment.payload)


class _HeaderRead(Exception):
    def __init__(self, authority: str) -> None:
        self.authority = authority


def _extract_council(payload: bytes) -> set[str]:
    """The Authority of an extract, read by the hardened parser, which stops after the header."""
    from perfcore.intake import extract

    def stop(header) -> None:
        raise _HeaderRead(header.authority)

    with tempfile.TemporaryDirectory(prefix="perfcore-mail-") as folder:
        path = Path(folder) / "peek.xml"
        path.write_bytes(payload)
        try:
            extract.read_extract(path, lambda batch: None, stop)
        except _HeaderRead as read:
            return {read.authority}
        except PerfcoreError:
            return set()
    return set()


def _return_councils(payload: bytes) -> set[str]:
    try:
        rows = list(csv.reader(io.StringIO(payload.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        return set()
    if not rows or not rows[0] or rows[0][0].strip().lower() != "authority":
        return set()
    return {row[0].strip() for row in rows[1:] if row and row[0].strip()}


# -- loading ---------------------------------------------------------------------------------------


def _ingest_all(incoming: Incoming, intake: Intake) -> tuple[IngestResult, ...]:
    results = []
    with tempfile.TemporaryDirectory(prefix="perfcore-mail-") as folder:
        for n, attachment in enumerate(incoming.usable):
            path = Path(folder) / f"attachment-{n}{attachment.suffix}"
            path.write_bytes(attachment.payload)
            results.append(
                ingest_file(
                    path,
                    intake.con,
                    intake.consortium,
                    today=intake.today,
                    channel=intake.channel,
                    sender=incoming.sender,
                    name=attachment.filename,
                    indicator_ids=intake.indicator_ids,
                )
            )
    return tuple(results)


# -- recording and the receipt -----------------------------------------------------------------------


def _earlier(con, digest: str, message_id: str | None) -> tuple[int, datetime] | None:
    rows = con.execute(
        "select id, received_at from messages where (sha256 = ? or (message_id is not null and message_id = ?)) "
        "and outcome <> 'duplicate'",
        [digest, message_id or ""],
    ).fetchall()
    return min(rows) if rows else None


def _finish(
    intake: Intake,
    incoming: Incoming,
    digest: str,
    stored: str,
    outcome: str,
    reason: str | None,
    files: tuple[IngestResult, ...] = (),
) -> MessageOutcome:
    from perfcore.mail import receipts

    refused = tuple((a.filename, a.problem) for a in incoming.attachments if a.problem) if not incoming.refusal else ()
    message_number = int(intake.con.execute("select nextval('message_ids')").fetchone()[0])
    record = {"files": [r.__dict__ for r in files], "refused": [list(r) for r in refused]}
    with warehouse.transaction(intake.con):
        intake.con.execute(
            "insert into messages values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                message_number,
                datetime.now(UTC).replace(tzinfo=None),
                digest,
                stored,
                incoming.message_id,
                incoming.sender,
                incoming.subject,
                incoming.size,
                outcome,
                reason,
                json.dumps(record, default=str),
            ],
        )
    result = MessageOutcome(message_number, outcome, incoming.sender, reason, files, refused)
    receipt = receipts.receipt_for(result, incoming, intake)
    if receipt is not None:
        try:
            intake.deliver(receipt)
        except (OSError, PerfcoreError) as error:  # the message is kept and recorded: the receipt can be resent
            raise MailError(
                f"message {message_number} was processed, but its receipt could not be sent ({error}); "
                "it is kept and recorded: check the relay, then 'perfcore intake messages'"
            ) from error
    return MessageOutcome(message_number, outcome, incoming.sender, reason, files, refused, receipt)


# -- quarantine ------------------------------------------------------------------------------------


def quarantined(con) -> list[dict]:
    cursor = con.execute(
        "select id, received_at, sender, subject, reason, stored_path from messages "
        "where outcome = 'quarantined' order by id"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def release(message_number: int, intake: Intake, analyst: str) -> MessageOutcome:
    """An analyst vouches for a held message: its attachments are loaded as if its sender were authorised."""
    stored = _held(intake.con, message_number)
    raw = (intake.folder.parent / stored).read_bytes()
    incoming = read_message(raw)
    results = _ingest_all(incoming, intake)
    reason = f"released by {analyst}"
    with warehouse.transaction(intake.con):
        intake.con.execute(
            "update messages set outcome = 'released', reason = ?, files = ? where id = ?",
            [reason, json.dumps({"files": [r.__dict__ for r in results]}, default=str), message_number],
        )
    from perfcore.mail import receipts

    result = MessageOutcome(message_number, RELEASED, incoming.sender, reason, results)
    receipt = receipts.receipt_for(result, incoming, intake)
    if receipt is not None:
        intake.deliver(receipt)
    return result


def drop(message_number: int, con, analyst: str) -> None:
    """An analyst decides a held message is not a return: it stays kept, marked dropped, nothing loaded."""
    _held(con, message_number)
    with warehouse.transaction(con):
        con.execute(
            "update messages set outcome = 'dropped', reason = ? where id = ?",
            [f"dropped by {analyst}", message_number],
        )


def _held(con, message_number: int) -> str:
    row = con.execute("select outcome, stored_path from messages where id = ?", [message_number]).fetchone()
    if row is None or row[0] != QUARANTINED:
        raise MailError(
            f"message {message_number} is not held in quarantine; 'perfcore intake quarantine' lists those that are"
        )
    return row[1]
