"""``perfcore intake ...``: the e-mail route's commands (thin: parse, call the mail package, print)."""

from __future__ import annotations

import argparse
import getpass
import json
import time
from pathlib import Path

from perfcore import periods, settings
from perfcore.exceptions import MailError
from perfcore.terminal import safe


def intake_arguments(sub: argparse.ArgumentParser) -> None:
    actions = sub.add_subparsers(title="actions", metavar="ACTION")
    common = settings.options_parser()
    mail = argparse.ArgumentParser(add_help=False)
    mail.add_argument(
        "--require-authentication",
        metavar="AUTHSERV_ID",
        help="hold any message without a passing DMARC, DKIM or SPF result added by this mail server",
    )
    smtp = actions.add_parser("smtp", parents=[common, mail], help="run the SMTP intake server (Ctrl-C stops it)")
    smtp.add_argument("--host", default="127.0.0.1")
    smtp.add_argument("--port", type=int, required=True)
    smtp.add_argument(
        "--recipient",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="accept mail only for this address (repeat); default: any recipient",
    )
    smtp.set_defaults(handler=cmd_smtp)
    maildir = actions.add_parser(
        "maildir", parents=[common, mail], help="process a Maildir's new messages once (for cron)"
    )
    maildir.add_argument("path", type=Path)
    maildir.set_defaults(handler=cmd_maildir)
    held = actions.add_parser("quarantine", parents=[common, mail], help="list held messages; --release or --drop one")
    held.add_argument("--release", type=int, metavar="ID", help="load a held message as if its sender were authorised")
    held.add_argument("--drop", type=int, metavar="ID", help="keep a held message but never load it")
    held.add_argument("--format", choices=("json", "table"), default="table")
    held.set_defaults(handler=cmd_quarantine)
    remind = actions.add_parser(
        "remind", parents=[common, mail], help="what each council still owes for a month; --send mails the reminders"
    )
    remind.add_argument("--period", required=True, metavar="YYYY-MM")
    remind.add_argument("--send", action="store_true", help="send the reminders (default: only show them)")
    remind.set_defaults(handler=cmd_remind)


def _intake(args, con):
    from perfcore.config.parameters import load_consortium, parameters_dir
    from perfcore.mail import pipeline, receipts

    relay = settings.resolve("relay", args.relay)
    outbox = settings.resolve_path("warehouse", args.warehouse).parent / "outbox"
    deliver = receipts.relay_sender(relay) if relay else receipts.outbox_writer(outbox)
    return pipeline.Intake(
        con=con,
        consortium=load_consortium(parameters_dir(args.parameters)),
        today=settings.today(args.today),
        deliver=deliver,
        intake_address=settings.resolve("intake-address", args.intake_address),
        authserv_id=args.require_authentication,
    )


def _connect(args):
    from perfcore import warehouse

    return warehouse.connect(args.warehouse)


def cmd_smtp(args) -> int:
    from perfcore.mail import server

    with _connect(args) as con:
        intake = _intake(args, con)
        handler = server.IntakeHandler(
            intake,
            tuple(a.lower() for a in args.recipient),
            announce=lambda outcome: print(safe(outcome.line()), flush=True),
        )
        running = server.controller(handler, args.host, args.port)
        print(f"perfcore: intake listening on {args.host}:{args.port}; press Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            running.stop()
    print("perfcore: intake stopped", flush=True)
    return 0


def cmd_maildir(args) -> int:
    from perfcore.mail import maildir

    failed = 0
    with _connect(args) as con:
        for outcome in maildir.process(args.path, _intake(args, con)):
            print(safe(outcome.line()), flush=True)
            failed += outcome.outcome in ("refused", "quarantined") or any(not r.ok for r in outcome.files)
    return 1 if failed else 0


def cmd_quarantine(args) -> int:
    from perfcore.mail import pipeline

    analyst = getpass.getuser()
    with _connect(args) as con:
        if args.release is not None:
            outcome = pipeline.release(args.release, _intake(args, con), analyst)
            print(safe(outcome.line()))
            return 0
        if args.drop is not None:
            pipeline.drop(args.drop, con, analyst)
            print(f"message {args.drop} dropped (kept, never loaded)")
            return 0
        rows = pipeline.quarantined(con)
    if args.format == "json":
        print(json.dumps(rows, indent=1, default=str))
        return 0
    print(f"{len(rows)} message(s) held")
    for row in rows:
        print(
            safe(
                f"{row['id']:>5}  {row['received_at']:%Y-%m-%d %H:%M}  "
                f"{row['sender'] or '(no sender)'}  {row['reason']}"
            )
        )
    return 0


def cmd_remind(args) -> int:
    from perfcore.mail import reminders

    if not periods.is_period(args.period):
        raise MailError(f"--period {args.period!r}: use YYYY-MM")
    with _connect(args) as con:
        intake = _intake(args, con)
        for reminder in reminders.reminders(con, intake.consortium, args.period, intake.intake_address):
            print(safe(reminder.line()))
            if args.send and reminder.message is not None:
                intake.deliver(reminder.message)
    if not args.send:
        print("(nothing sent: add --send to mail these reminders to the councils' updaters)")
    return 0


COMMANDS = (("intake", None, "E-mail intake: SMTP server, Maildir, quarantine and reminders.", intake_arguments),)
