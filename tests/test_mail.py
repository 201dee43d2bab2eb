"""E-mail intake over real SMTP: an aiosmtpd intake server, smtplib senders, a second server as the relay.

Every message here travels over loopback; receipts are caught by a real
SMTP server standing in for the council's relay.
"""

from __future__ import annotations

import json
import smtplib
import socket
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from builders import Harness, claim, extract_xml, manual_csv
from perfcore.mail import pipeline, receipts, server

DUNDEE, MIDLOTHIAN = "S12000042", "S12000019"
DUNDEE_UPDATER = "hb-returns@dundeecity.gov.uk"
MIDLOTHIAN_UPDATER = "hb-returns@midlothian.gov.uk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Relay:
    """The stand-in relay: a real SMTP server keeping what it is sent."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.arrived = threading.Condition()
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.arrived:
            self.received.append(
                BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
            )
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout), self.received
            return list(self.received)


@pytest.fixture
def mail(tmp_path):
    """A fresh warehouse, the intake server on loopback, and the relay catching receipts."""
    from aiosmtpd.controller import Controller

    harness = Harness(tmp_path)
    relay = Relay()
    relay_server = Controller(relay, hostname="127.0.0.1", port=relay.port, ready_timeout=10)
    relay_server.start()
    intake = pipeline.Intake(
        con=harness.con,
        consortium=harness.consortium,
        today=harness.today,
        deliver=receipts.relay_sender(f"127.0.0.1:{relay.port}"),
        intake_address="perfcore-intake@consortium.example",
    )
    port = free_port()
    outcomes: list[pipeline.MessageOutcome] = []
    intake_server = server.controller(server.IntakeHandler(intake, announce=outcomes.append), "127.0.0.1", port)
    yield harness, port, relay, outcomes
    intake_server.stop()
    relay_server.stop()


def message(
    sender: str,
    attachments: list[tuple[str, bytes, str]],
    subject: str = "October returns",
    message_id: str | None = None,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "perfcore-intake@consortium.example"
    mail["Subject"] = subject
    if message_id:
        mail["Message-ID"] = message_id
    mail.set_content("Please find attached this month's returns.")
    for name, data, content_type in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def send(port: int, mail: EmailMessage | bytes, sender: str = DUNDEE_UPDATER) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        if isinstance(mail, bytes):
            smtp.sendmail(sender, ["perfcore-intake@consortium.example"], mail)
        else:
            smtp.send_message(mail)


def good_extract(authority: str = DUNDEE) -> bytes:
    return extract_xml(
        authority, "2026-10", [claim("NC1", "2026-10-01", "2026-10-05"), claim("NC2", "2026-10-09", "2026-10-02")]
    ).encode()  # NC2: decided before received


def good_return(authority: str = DUNDEE) -> bytes:
    return manual_csv(
        [
            (authority, "2026-10", "calls_offered", "5400"),
            (authority, "2026-10", "calls_answered", "4950"),
            (authority, "2026-10", "staff_fte", "-3"),
        ]
    ).encode()


def test_an_updaters_extract_and_return_load_exactly_as_ingest_would(mail, tmp_path):
    harness, port, relay, outcomes = mail
    send(
        port,
        message(
            DUNDEE_UPDATER,
            [
                ("dundee-2026-10.xml", good_extract(), "application/xml"),
                ("dundee-2026-10.csv", good_return(), "text/csv"),
            ],
            message_id="<a1@dundeecity.gov.uk>",
        ),
    )
    [receipt] = relay.wait_for(1)
    [outcome] = outcomes
    assert outcome.outcome == "processed" and [r.outcome for r in outcome.files] == ["accepted", "accepted"]
    # the same files through `perfcore ingest` in a second warehouse give the same figures
    other = Harness(tmp_path / "cli")
    other.ingest(good_extract().decode(), name="dundee-2026-10.xml")
    other.ingest(good_return().decode(), name="dundee-2026-10.csv", suffix=".csv")
    assert harness.values(DUNDEE, "2026-10") == other.values(DUNDEE, "2026-10")
    # the receipt: to the sender, from the intake, threaded, listing each file and every rejected row
    assert receipt["To"] == DUNDEE_UPDATER and receipt["From"] == "perfcore-intake@consortium.example"
    assert receipt["In-Reply-To"] == "<a1@dundeecity.gov.uk>" and receipt["Auto-Submitted"] == "auto-replied"
    body = receipt.get_content()
    assert (
        "ACCEPTED" in body and "dundee-2026-10.xml" in body and "NC2" in body and "line 12" in body and "line 4" in body
    )
    assert "staff_fte" in body  # the rejected row, with its line
    assert "accuracy_cases_checked" in body  # still missing for the month
    rows = harness.con.execute("select channel, sender from submissions").fetchall()
    assert rows == [("email", DUNDEE_UPDATER)] * 2
    kept = harness.con.execute("select stored_path, sha256 from messages").fetchall()
    assert len(kept) == 1 and (harness.folder / kept[0][0]).exists()


def test_a_stranger_is_quarantined_and_an_analyst_releases_or_drops(mail):
    harness, port, relay, outcomes = mail
    send(
        port,
        message("someone@elsewhere.example", [("x.xml", good_extract(), "application/xml")]),
        "someone@elsewhere.example",
    )
    relay.wait_for(1)
    assert outcomes[-1].outcome == "quarantined" and harness.count("submissions") == 0
    # Midlothian's updater sending Dundee's extract: also held
    send(port, message(MIDLOTHIAN_UPDATER, [("d.xml", good_extract(DUNDEE), "application/xml")]), MIDLOTHIAN_UPDATER)
    relay.wait_for(2)
    assert outcomes[-1].outcome == "quarantined" and "not the designated updater of S12000042" in outcomes[-1].reason
    assert harness.count("submissions") == 0
    held = pipeline.quarantined(harness.con)
    assert [h["sender"] for h in held] == ["someone@elsewhere.example", MIDLOTHIAN_UPDATER]
    intake = pipeline.Intake(
        con=harness.con,
        consortium=harness.consortium,
        today=harness.today,
        deliver=receipts.relay_sender(f"127.0.0.1:{relay.port}"),
    )
    released = pipeline.release(held[1]["id"], intake, analyst="analyst")
    assert [r.outcome for r in released.files] == ["accepted"]
    pipeline.drop(held[0]["id"], harness.con, analyst="analyst")
    assert pipeline.quarantined(harness.con) == []
    assert harness.count("submissions") == 1


def raw_with_header(header: str) -> bytes:
    return (
        f"From: {DUNDEE_UPDATER}\r\nTo: perfcore-intake@consortium.example\r\n{header}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nno attachment\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("mail_of", "expected", "words"),
    [
        (lambda: message(DUNDEE_UPDATER, []), "refused", "no attachment"),
        (
            lambda: message(DUNDEE_UPDATER, [(f"f{n}.csv", good_return(), "text/csv") for n in range(11)]),
            "refused",
            "limit is 10",
        ),
        (
            lambda: message(DUNDEE_UPDATER, [("returns.zip", b"PK\x03\x04zipzipzip", "application/zip")]),
            "processed",
            "archives",
        ),
        (
            lambda: message(DUNDEE_UPDATER, [("extract.xml", b"PK\x03\x04not xml", "application/xml")]),
            "processed",
            "archives",
        ),
        (
            lambda: message(DUNDEE_UPDATER, [("extract.xml", b"\x89PNG\r\n\x1a\n", "application/xml")]),
            "processed",
            "not XML",
        ),
        (
            lambda: message(DUNDEE_UPDATER, [("return.csv", good_return(), "image/png")]),
            "processed",
            "labelled image/png",
        ),
        (
            lambda: message(DUNDEE_UPDATER, [("winmail.dat", b"\x78\x9f\x3e\x22", "application/ms-tnef")]),
            "processed",
            "only HBPE",
        ),
        (lambda: message(DUNDEE_UPDATER, [("return.csv", b"\xff\xfe\x00a", "text/csv")]), "processed", "not UTF-8"),
    ],
)
def test_hostile_or_broken_mail_gets_an_outcome_and_a_receipt(mail, mail_of, expected, words):
    harness, port, relay, outcomes = mail
    send(port, mail_of())
    [receipt] = relay.wait_for(1)
    assert outcomes[-1].outcome == expected
    body = receipt.get_content()
    if words:
        assert words in body or words in (outcomes[-1].reason or "")
    # nothing from the hostile message reached the receipt's headers
    assert receipt["Bcc"] is None and "victim" not in str(receipt.items())
    assert receipt["To"] == DUNDEE_UPDATER


def test_header_injection_and_bad_senders_never_reach_a_header(mail):
    harness, port, relay, outcomes = mail
    injected = (
        f"From: =?utf-8?q?Dundee=0D=0ABcc=3A_victim=40example=2Ecom?= <{DUNDEE_UPDATER}>\r\n"
        "To: perfcore-intake@consortium.example\r\nSubject: =?utf-8?q?x=0D=0ABcc=3A_victim=40example=2Ecom?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
    ).encode()
    send(port, injected)
    [receipt] = relay.wait_for(1)
    assert receipt["To"] == DUNDEE_UPDATER and receipt["Bcc"] is None
    two_senders = raw_with_header("Subject: two").replace(
        f"From: {DUNDEE_UPDATER}".encode(), f"From: {DUNDEE_UPDATER}, {MIDLOTHIAN_UPDATER}".encode()
    )
    send(port, two_senders)
    assert outcomes[-1].outcome == "refused" and "one sender" in outcomes[-1].reason
    assert len(relay.received) == 1  # no address that can safely be written to: no receipt


def test_duplicate_message_ids_and_bytes_are_reported_not_redone(mail):
    harness, port, relay, outcomes = mail
    first = message(DUNDEE_UPDATER, [("a.csv", good_return(), "text/csv")], message_id="<same@dundeecity.gov.uk>")
    send(port, first)
    send(port, first)
    resent = message(
        DUNDEE_UPDATER, [("b.csv", good_return(MIDLOTHIAN), "text/csv")], message_id="<same@dundeecity.gov.uk>"
    )
    send(port, resent)
    receipts_ = relay.wait_for(3)
    assert [o.outcome for o in outcomes] == ["processed", "duplicate", "duplicate"]
    assert harness.count("submissions") == 1 and "already received as message" in receipts_[1].get_content()
    assert harness.con.execute("select count(*) from messages").fetchone()[0] == 3  # every arrival is kept and listed


def test_an_oversized_message_is_kept_refused_and_answered(mail):
    harness, port, relay, outcomes = mail
    big = message(DUNDEE_UPDATER, [("big.csv", b"a" * (11 * 1024 * 1024), "text/csv")])
    send(port, big)
    [receipt] = relay.wait_for(1, timeout=60)
    assert outcomes[-1].outcome == "refused" and "limit is 10 MiB" in receipt.get_content()
    stored = harness.con.execute("select stored_path from messages").fetchone()[0]
    assert (harness.folder / stored).stat().st_size > 11 * 1024 * 1024


def test_without_a_relay_receipts_go_to_the_outbox(tmp_path):
    harness = Harness(tmp_path)
    outbox = tmp_path / "outbox"
    intake = pipeline.Intake(
        con=harness.con, consortium=harness.consortium, today=harness.today, deliver=receipts.outbox_writer(outbox)
    )
    raw = bytes(message(DUNDEE_UPDATER, [("a.csv", good_return(), "text/csv")]))
    pipeline.receive(raw, intake)
    [eml] = list(outbox.glob("*.eml"))
    receipt = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert receipt["To"] == DUNDEE_UPDATER and "accuracy_cases_checked" in receipt.get_content()


def test_a_maildir_is_processed_once(tmp_path, capsys):
    from perfcore import cli

    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.host").write_bytes(
        bytes(message(DUNDEE_UPDATER, [("a.xml", good_extract(), "application/xml")]))
    )
    (maildir / "new" / "2.host").write_bytes(
        bytes(message("x@elsewhere.example", [("a.csv", good_return(), "text/csv")]))
    )
    argv = ["intake", "maildir", str(maildir), "--warehouse", str(tmp_path / "w.duckdb"), "--today", "2026-11-26"]
    assert cli.main(argv) == 1  # one was held
    out = capsys.readouterr().out
    assert "PROCESSED" in out and "QUARANTINED" in out
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == ["1.host:2,S", "2.host:2,S"]
    assert cli.main(argv) == 0 and capsys.readouterr().out == ""  # nothing new the second time
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    assert cli.main(["intake", "quarantine", "--warehouse", str(tmp_path / "w.duckdb"), "--format", "json"]) == 0
    held = json.loads(capsys.readouterr().out)
    assert [h["sender"] for h in held] == ["x@elsewhere.example"]


def test_reminders_list_what_each_council_owes(tmp_path, capsys):
    from perfcore import cli

    harness = Harness(tmp_path)
    harness.ingest(good_extract().decode())
    harness.con.close()
    argv = ["intake", "remind", "--period", "2026-10", "--warehouse", str(tmp_path / "warehouse.duckdb")]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    dundee = next(line for line in out.splitlines() if line.startswith("Dundee City"))
    assert "extract" not in dundee.split("missing", 1)[1].split(";")[0] and "calls_offered" in dundee
    assert "Midlothian: missing extract" in out and "nothing sent" in out
    assert cli.main([*argv, "--send"]) == 0
    sent = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(sent) == 10
    first = BytesParser(policy=policy.default).parsebytes(sent[0].read_bytes())
    assert first["Subject"].startswith("perfcore reminder:") and "@" in first["To"]


def test_authentication_results_when_required(tmp_path):
    harness = Harness(tmp_path)
    outbox = tmp_path / "outbox"
    intake = pipeline.Intake(
        con=harness.con,
        consortium=harness.consortium,
        today=harness.today,
        deliver=receipts.outbox_writer(outbox),
        authserv_id="mx.council.example",
    )
    mail = message(DUNDEE_UPDATER, [("a.csv", good_return(), "text/csv")])
    assert pipeline.receive(bytes(mail), intake).outcome == "quarantined"
    mail["Authentication-Results"] = "mx.council.example; dmarc=pass header.from=dundeecity.gov.uk"
    mail.replace_header("Subject", "again")
    assert pipeline.receive(bytes(mail), intake).outcome == "processed"
    forged = message(DUNDEE_UPDATER, [("b.csv", good_return(), "text/csv")])
    forged["Authentication-Results"] = "mx.attacker.example; dmarc=pass"
    assert pipeline.receive(bytes(forged), intake).outcome == "quarantined"
    _ = Path


def test_a_council_may_have_several_updaters_each_for_that_council_only(tmp_path):

    parameters = tmp_path / "parameters"
    parameters.mkdir()
    root = Path(__file__).resolve().parents[1] / "parameters"
    text = (root / "consortium.yaml").read_text()
    text = text.replace(f"updater: {DUNDEE_UPDATER}", f"updater: [{DUNDEE_UPDATER}, Deputy@DundeeCity.gov.uk]")
    (parameters / "consortium.yaml").write_text(text)
    from perfcore.config.parameters import load_consortium

    consortium = load_consortium(parameters)
    assert consortium.council(DUNDEE).updaters == (DUNDEE_UPDATER, "deputy@dundeecity.gov.uk")
    harness = Harness(tmp_path / "w")
    intake = pipeline.Intake(
        con=harness.con, consortium=consortium, today=harness.today, deliver=receipts.outbox_writer(tmp_path / "outbox")
    )
    deputy = message("deputy@dundeecity.gov.uk", [("a.csv", good_return(), "text/csv")])
    assert pipeline.receive(bytes(deputy), intake).outcome == "processed"
    for_midlothian = message("deputy@dundeecity.gov.uk", [("m.csv", good_return(MIDLOTHIAN), "text/csv")])
    assert pipeline.receive(bytes(for_midlothian), intake).outcome == "quarantined"


def test_perfcore_intake_smtp_runs_in_the_foreground_and_stops_on_ctrl_c(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    port = free_port()
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PERFCORE_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "PERFCORE_TODAY": "2026-11-26",
        "PERFCORE_PARAMETERS": str(root / "parameters"),
    }
    env.pop("PERFCORE_SMTP_RELAY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "perfcore", "intake", "smtp", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, process.communicate()
                time.sleep(0.2)
        send(port, message(DUNDEE_UPDATER, [("a.csv", good_return(), "text/csv")]))
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "PROCESSED" in out and "intake stopped" in out and "Traceback" not in err
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
