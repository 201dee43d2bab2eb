"""Which paths of the site each user may open: the one policy, in one place.

The site is laid out by audience (``render.context``), so a rule is a path
prefix. ``rules_for`` gives a user's prefixes; nginx enforces exactly these
(``access.nginx`` turns them into a ``map``), and ``allows`` answers the same
question in Python for the tests' access matrix and for ``perfcore
access-log``. Paths are the server's normalised paths (percent-decoding,
``..`` and ``//`` already resolved), compared case-sensitively, as the file
system does.

Roles:

- ``consortium``: everything;
- ``council``: ``councils/<slug>/`` for each council held, plus the members'
  pages under ``consortium/`` (the benchmarks every member sees);
- ``dwp``: ``dwp/`` only.

Everyone signed in may open the shared shell: ``/``, ``/index.html`` (links
only, no data), ``/assets/`` (CSS, JavaScript, icon) and ``/favicon.ico``.
No rule ever admits a path with a segment starting with ``.`` (hidden files,
the ``/.perfcore-denied`` gate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from perfcore.access.users import User
from perfcore.config.parameters import Consortium

SHARED = ("/index.html", "/favicon.ico", "/assets/", "/_perfcore/me.json")
MEMBERS_PAGES = "/consortium/"
DWP_FOLDER = "/dwp/"
_HIDDEN = re.compile(r"(^|/)\.")


@dataclass(frozen=True)
class Grant:
    """What one user may open, and where ``/`` takes them."""

    user: str
    role: str
    prefixes: tuple[str, ...]  # an entry ending in "/" is a folder, otherwise one exact path
    home: str

    def allows(self, path: str) -> bool:
        if not path.startswith("/") or _HIDDEN.search(path):
            return False
        return any(path.startswith(p) if p.endswith("/") else path == p for p in self.prefixes)


def council_folder(slug: str) -> str:
    return f"/councils/{slug}/"


def grant_for(user: User, consortium: Consortium) -> Grant:
    """The user's grant: the shared shell plus their role's folders."""
    slugs = {c.code: c.slug for c in consortium.members}
    if user.role == "consortium":
        return Grant(user.name, user.role, ("/",), "/index.html")
    if user.role == "dwp":
        return Grant(user.name, user.role, (*SHARED, DWP_FOLDER), "/dwp/index.html")
    own = tuple(council_folder(slugs[code]) for code in user.councils)
    return Grant(user.name, user.role, (*SHARED, *own, MEMBERS_PAGES), own[0] + "index.html")


def grants(users, consortium: Consortium) -> tuple[Grant, ...]:
    return tuple(grant_for(user, consortium) for user in users.users)
