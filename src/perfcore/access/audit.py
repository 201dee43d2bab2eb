"""The access log: every decision nginx took, one JSON object a line.

Format (``access.nginx.ACCESS_LOG_FORMAT``, escaped by nginx as JSON)::

    {"time": "2026-12-01T10:15:02+00:00", "user": "dundee.officer", "method": "GET",
     "path": "/councils/dundee-city/2026-10/report.html", "status": 200, "bytes": 81234,
     "client": "10.1.2.3"}

``user`` is the verified user for 2xx/3xx/403/404; for a 401 it is the name
the client offered (or empty), never a verified identity. ``summarise``
reads it for ``perfcore access-log``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from perfcore.exceptions import AccessError

DENIED = (401, 403)


@dataclass(frozen=True)
class Entry:
    time: str
    user: str
    method: str
    path: str
    status: int
    client: str

    @property
    def denied(self) -> bool:
        return self.status in DENIED


def read(path: Path) -> Iterator[Entry]:
    """Entries in file order; a damaged line is skipped (counted by ``read_counted``)."""
    if not path.exists():
        raise AccessError(f"no access log at {path}; start the server with 'perfcore serve' or pass --log")
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            entry = _entry(line)
            if entry is not None:
                yield entry


def _entry(line: str) -> Entry | None:
    try:
        raw = json.loads(line)
        return Entry(
            str(raw["time"]),
            str(raw.get("user") or ""),
            str(raw.get("method") or ""),
            str(raw.get("path") or ""),
            int(raw["status"]),
            str(raw.get("client") or ""),
        )
    except (ValueError, KeyError, TypeError):
        return None


def select(entries: Iterable[Entry], *, user: str | None = None, denied: bool = False) -> list[Entry]:
    return [e for e in entries if (user is None or e.user == user) and (not denied or e.denied)]


def summarise(entries: Iterable[Entry]) -> list[dict]:
    """Per user: requests, allowed, refused (401/403), not found, first and last time."""
    by_user: dict[str, dict] = {}
    for e in entries:
        row = by_user.setdefault(
            e.user or "(none)",
            {
                "user": e.user or "(none)",
                "requests": 0,
                "allowed": 0,
                "denied": 0,
                "not_found": 0,
                "first": e.time,
                "last": e.time,
            },
        )
        row["requests"] += 1
        row["denied" if e.denied else "not_found" if e.status == 404 else "allowed"] += 1
        row["last"] = e.time
    return sorted(by_user.values(), key=lambda r: (-r["denied"], r["user"]))
