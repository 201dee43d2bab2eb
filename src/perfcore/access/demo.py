"""Demo users: one per role, so the demo site can be seen as each reader sees it.

Passwords are random and new on every ``perfcore demo`` (printed once, stored
only as hashes): the demo's warehouse folder is the default data folder, and
a known password left there would outlive the demo. Only users named
``demo-…`` are touched.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from perfcore.access import users as users_file
from perfcore.config.parameters import Consortium

PREFIX = "demo-"


@dataclass(frozen=True)
class DemoLogin:
    name: str
    role: str
    council: str | None
    password: str


def ensure_demo_users(path: Path, consortium: Consortium) -> list[DemoLogin]:
    """Create or reset the demo users (analyst, the first member's officer, DWP); return their logins."""
    codes = [c.code for c in consortium.members]
    council = consortium.members[0]
    wanted = (
        (f"{PREFIX}analyst", "consortium", None),
        (f"{PREFIX}{council.slug}"[:63], "council", council),
        (f"{PREFIX}dwp", "dwp", None),
    )
    current = users_file.load(path, codes)
    logins = []
    for name, role, member in wanted:
        password = secrets.token_urlsafe(12)
        user = users_file.User(
            name, role, (member.code,) if member else (), password_hash=users_file.hash_password(password)
        )
        current = current.remove(name) if current.get(name) else current
        current = current.add(user)
        logins.append(DemoLogin(name, role, member.name if member else None, password))
    users_file.save(current, path, codes)
    return logins
