"""Bringing a warehouse to the current schema version, or refusing to open it.

``meta.schema_version`` says which schema a warehouse was made with. Opened
for writing, a new file gets the current schema; an older warehouse is
migrated forward, every step and the new version number in ONE transaction
(a failure leaves it exactly as it was); a warehouse from a newer perfcore is
refused, since this one would misread it. Opened read-only, anything but the
current version is refused with the command that migrates it.

A step is SQL run in order. DuckDB cannot add a constraint or change a
column's type in place, so a step that needs to copies the table
(``create table new as ...``, drop, rename): still one transaction.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore.exceptions import WarehouseError
from perfcore.warehouse import schema

if TYPE_CHECKING:
    import duckdb

# From version N to N + 1: the statements, in order.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (schema.SCHEMA_HISTORY,),
    2: (schema.MAIL_AND_COMMENTARY,),
}
MIGRATE_COMMAND = "perfcore migrate"


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version; None for a database with no perfcore tables yet."""
    tables = {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    if not tables:
        return None
    row = con.execute("select value from meta where key = 'schema_version'").fetchone() if "meta" in tables else None
    if row is None or not str(row[0]).isdigit():
        raise WarehouseError(
            f"{_where(con)}: not a perfcore warehouse (it has tables but no schema version); "
            "point --warehouse at a perfcore warehouse or at a new file"
        )
    return int(row[0])


def bring_up_to_date(con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
    """Create, migrate, or refuse, as the module says. Migrations run in one transaction."""
    version = stored_version(con)
    if version == schema.SCHEMA_VERSION:
        return
    if version is not None and version > schema.SCHEMA_VERSION:
        raise WarehouseError(
            f"{_where(con)}: made by a newer perfcore (schema version {version}; this perfcore knows up to "
            f"{schema.SCHEMA_VERSION}); upgrade perfcore to open it"
        )
    if read_only:
        raise WarehouseError(
            f"{_where(con)}: made by an older perfcore (schema version {version}, this one needs "
            f"{schema.SCHEMA_VERSION}); run `{MIGRATE_COMMAND}` once to migrate it"
        )
    if version is None:
        _apply(con, [schema.ddl()], "created", "creating the schema")
    else:
        _apply(
            con,
            _steps_from(version),
            f"migrated from {version}",
            f"migrating from schema version {version} to {schema.SCHEMA_VERSION}",
        )


def _steps_from(version: int) -> list[str]:
    missing = [v for v in range(version, schema.SCHEMA_VERSION) if v not in MIGRATIONS]
    if missing:  # a version this perfcore never made: nothing safe to do
        raise WarehouseError(
            f"schema version {version} has no migration to {schema.SCHEMA_VERSION} (none from {missing[0]}); "
            "restore the warehouse from a backup made by a perfcore of a known version"
        )
    return [statement for v in range(version, schema.SCHEMA_VERSION) for statement in MIGRATIONS[v]]


def _apply(con: duckdb.DuckDBPyConnection, steps: list[str], how: str, doing: str) -> None:
    """The steps, the new version and its history row: all committed, or none."""
    import duckdb

    con.execute("begin transaction")
    try:
        for statement in steps:
            con.execute(statement)
        con.execute("insert or replace into meta values ('schema_version', ?)", [str(schema.SCHEMA_VERSION)])
        con.execute(
            "insert or replace into schema_history values (?, ?, ?)",
            [schema.SCHEMA_VERSION, datetime.now(UTC).replace(tzinfo=None), how],
        )
        con.execute("commit")
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):  # after some failures DuckDB refuses even ROLLBACK; it has rolled back
            con.execute("rollback")
        raise WarehouseError(
            f"{_where(con)}: {doing} failed, so nothing was changed: {' '.join(str(exc).split())}"
        ) from exc


def _where(con: duckdb.DuckDBPyConnection) -> Path:
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    return Path(row[0])
