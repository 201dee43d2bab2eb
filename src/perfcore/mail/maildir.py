"""``perfcore intake maildir PATH``: every new message of a Maildir through the pipeline, once.

For councils whose mail system delivers the intake mailbox to a Maildir: run
it from cron. A processed message moves from ``new/`` to ``cur/`` with the
Seen flag (the Maildir convention), so the next run does not see it again;
if it did (a copy put back by hand), the pipeline would report a duplicate.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from perfcore.exceptions import MailError
from perfcore.mail.pipeline import Intake, MessageOutcome, receive


def process(folder: Path, intake: Intake) -> Iterator[MessageOutcome]:
    new, cur = folder / "new", folder / "cur"
    if not new.is_dir() or not cur.is_dir():
        raise MailError(f"{folder} is not a Maildir (it needs new/ and cur/); point --maildir at the intake mailbox")
    for name in sorted(os.listdir(new)):
        path = new / name
        if name.startswith(".") or not path.is_file() or path.is_symlink():
            continue
        outcome = receive(path.read_bytes(), intake)
        os.replace(path, cur / (name.split(":", 1)[0] + ":2,S"))
        yield outcome
