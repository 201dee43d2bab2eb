"""A raw e-mail read defensively: nothing in it is trusted until checked here.

``read_message`` never raises on bad input: every problem becomes a
``refusal`` (the whole message) or an attachment's ``problem``, in words a
council's updater can act on. More than one From address, a From that is not
one plain address (a display name may carry anything, an encoded line break
included: only the address is kept), or a Message-ID that is not the plain
form are not used, so nothing from a hostile header can reach a receipt's
headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # documented in the README: larger messages are refused with a receipt
MAX_ATTACHMENTS = 10
KINDS = {".xml": "extract", ".csv": "return"}  # a .csv is a manual or commentary return, told apart by its header
ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".cab", ".arj", ".z")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"BZh", b"\xfd7zXZ", b"MSCF")
_ACCEPTED_TYPES = {
    ".xml": {"text/xml", "application/xml", "application/octet-stream", "text/plain"},
    ".csv": {
        "text/csv",
        "text/plain",
        "application/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
        "text/comma-separated-values",
        "application/x-csv",
    },
}
_MESSAGE_ID = re.compile(r"^<[!-;=?-~]{1,250}@[!-;=?-~]{1,250}>$")  # printable ASCII, no '<' '>' or spaces
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")


@dataclass(frozen=True)
class Attachment:
    filename: str  # as sent (hostile: shown escaped, stored under a safe name by ingest)
    content_type: str
    payload: bytes
    problem: str | None = None  # why it will not be ingested, in words

    @property
    def suffix(self) -> str:
        name = self.filename.lower()
        return name[name.rfind(".") :] if "." in name else ""


@dataclass(frozen=True)
class Incoming:
    size: int
    sender: str | None  # the From address, lower-cased, when it is one plain address
    message_id: str | None  # when it is well formed
    subject: str  # for listings only, control characters removed; never copied into a header
    attachments: tuple[Attachment, ...] = ()
    refusal: str | None = None  # why the whole message is refused
    authentication: tuple[str, ...] = field(default_factory=tuple)  # Authentication-Results headers

    @property
    def usable(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.problem is None)


def read_message(raw: bytes) -> Incoming:
    """Parse and check one message; never raises on hostile input.

    The headers are read first and on their own, so even a message refused for
    its size still has a sender to send the receipt to. The standard library's
    lenient parser (``compat32``) is used on purpose: the structured one raises
    on hostile headers (an encoded line break in a display name), and every
    value taken from here is checked against a strict pattern anyway.
    """
    try:
        head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        sender, sender_problem = _sender(head)
        message_id = _message_id(head)
        subject = _plain(_decoded(head.get("Subject", "")))
        auth = tuple(_plain(_decoded(v)) for v in head.get_all("Authentication-Results", []) or ())
    except Exception as error:  # noqa: BLE001 (headers the parser cannot read are the sender's problem)
        return Incoming(
            len(raw),
            None,
            None,
            "",
            refusal=f"the message's headers cannot be read ({type(error).__name__}); "
            "send it again from your usual mail program",
        )
    if len(raw) > MAX_MESSAGE_BYTES:
        return Incoming(
            len(raw),
            sender,
            message_id,
            subject,
            authentication=auth,
            refusal=(
                f"the message is {len(raw) // 1024} KiB; the limit is {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB: "
                "send the extract and the returns in separate messages"
            ),
        )
    if sender_problem:
        return Incoming(len(raw), sender, message_id, subject, refusal=sender_problem, authentication=auth)
    try:
        attachments, problem = _attachments(BytesParser(policy=policy.compat32).parsebytes(raw))
    except Exception as error:  # noqa: BLE001
        attachments, problem = [], f"the message's structure cannot be read ({type(error).__name__})"
    return Incoming(len(raw), sender, message_id, subject, tuple(attachments), refusal=problem, authentication=auth)


def _decoded(value) -> str:
    """A header's text with RFC 2047 encoded words decoded (for listings and checks, never for headers)."""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:  # noqa: BLE001 (an undecodable encoded word stays as sent)
        return str(value)


def _sender(message) -> tuple[str | None, str | None]:
    headers = message.get_all("From") or []
    if len(headers) != 1:
        return None, "the message must have exactly one From header"
    addresses = [a for _, a in getaddresses([str(headers[0])]) if a]
    if len(addresses) != 1:
        return None, "the From header must name one sender"
    address = addresses[0].lower()
    if not _ADDRESS.match(address):
        return None, "the From address is not a plain e-mail address"
    return address, None


def _message_id(message) -> str | None:
    value = str(message.get("Message-ID", "") or "").strip()
    return value if _MESSAGE_ID.match(value) else None


def _attachments(message: Message) -> tuple[list[Attachment], str | None]:
    found: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_disposition() != "attachment":
            continue  # the body text
        found.append(_attachment(part, filename or ""))
    if not found:
        return found, "the message has no attachment: attach the extract (.xml) or the return (.csv)"
    if len(found) > MAX_ATTACHMENTS:
        return found, f"the message has {len(found)} attachments; the limit is {MAX_ATTACHMENTS}"
    return found, None


def _attachment(part, filename: str) -> Attachment:
    content_type = part.get_content_type()
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 (a broken transfer encoding is the sender's problem, in words)
        return Attachment(filename, content_type, b"", "the attachment's encoding is damaged")
    return Attachment(filename, content_type, payload, _problem(filename, content_type, payload))


def _problem(filename: str, content_type: str, payload: bytes) -> str | None:
    name = filename.lower().strip()
    if not name:
        return "an attachment has no file name"
    if name.endswith(ARCHIVE_SUFFIXES) or payload.startswith(ARCHIVE_MAGIC):
        return "archives (zip and the like) are not accepted: attach the .xml or .csv file itself"
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in KINDS:
        return "only HBPE extracts (.xml) and returns (.csv) are accepted"
    if content_type not in _ACCEPTED_TYPES[suffix]:
        return f"the attachment is labelled {content_type}, which is not a {suffix} file"
    if not payload.strip():
        return "the attachment is empty"
    if suffix == ".xml" and not payload.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "the .xml attachment is not XML (it may be encoded or be another kind of file)"
    if suffix == ".csv" and (b"\x00" in payload or not _is_utf8(payload)):
        return "the .csv attachment is not UTF-8 text"
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plain(text: str) -> str:
    """One line of printable text, for listings: controls and line breaks gone, at most 200 characters."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(cleaned.split())[:200]
