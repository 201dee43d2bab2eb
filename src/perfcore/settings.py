"""Where perfcore finds its inputs and puts its outputs, declared once.

``SETTINGS`` is the one table of settings (name, environment variable,
default, help). The CLI builds its global options from it, ``resolve`` reads
it, and a test checks the README documents every row, so docs cannot drift.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "warehouse",
        "PERFCORE_WAREHOUSE",
        "data/warehouse.duckdb",
        "DuckDB warehouse file; submitted files are kept beside it in submitted/",
    ),
    Setting(
        "parameters",
        "PERFCORE_PARAMETERS",
        "parameters",
        "folder with consortium.yaml, framework.yaml, thresholds.yaml, peer_groups.yaml, initiatives.yaml",
    ),
    Setting(
        "reports",
        "PERFCORE_REPORTS",
        "reports",
        "folder for executed notebooks, and the built site and PDFs in its site/ (unless build --out says otherwise)",
    ),
    Setting(
        "users",
        "PERFCORE_USERS",
        "",
        "users file (roles, councils, password hashes) for the web server; empty means users.yaml beside the warehouse",
    ),
    Setting(
        "relay",
        "PERFCORE_SMTP_RELAY",
        "",
        "SMTP relay HOST:PORT for receipts and reminders; empty means write them to outbox/ beside the warehouse",
    ),
    Setting(
        "intake-address",
        "PERFCORE_INTAKE_ADDRESS",
        "perfcore-intake@localhost",
        "the intake mailbox's address: receipts and reminders come from it",
    ),
    Setting(
        "today",
        "PERFCORE_TODAY",
        "",
        "the date perfcore takes as today (YYYY-MM-DD), for reproducible runs; empty means the clock",
    ),
)


def project_root() -> Path:
    """The folder holding ``parameters/``: the working directory, or an ancestor of it."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "parameters" / "consortium.yaml").exists():
            return folder
    return here


def setting(name: str) -> Setting:
    return next(s for s in SETTINGS if s.name == name)


def resolve(name: str, override: str | os.PathLike[str] | None = None) -> str:
    """The value of a setting: an explicit override, else its variable, else its default."""
    chosen = setting(name)
    if override not in (None, ""):
        return str(override)
    return os.environ.get(chosen.env) or chosen.default


def resolve_path(name: str, override: str | os.PathLike[str] | None = None) -> Path:
    value = Path(resolve(name, override))
    return value if value.is_absolute() else project_root() / value


def today(override: str | None = None) -> date:
    value = resolve("today", override)
    return date.fromisoformat(value) if value else date.today()


def options_parser() -> argparse.ArgumentParser:
    """The global options every command takes, one per setting (a parent for argparse)."""
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    for setting in SETTINGS:
        common.add_argument(
            f"--{setting.name}",
            metavar=setting.name.upper(),
            default=None,
            help=f"{setting.help} (env {setting.env}; default: {setting.default or 'none'})",
        )
    return common
