"""The embedded DuckDB warehouse: connection, transactions, disk-full handling.

One file (``data/warehouse.duckdb`` by default) holds every submission ever
made, every record of every accepted extract (including replaced ones, so the
history is kept), every manual-return value and every rejection. What counts
*now* is decided by two small things: ``current_extracts`` (one accepted
submission per council and month) and the latest manual value per council,
month and measure. Replacing a submission is one UPDATE of that pointer inside
the loading transaction, so readers never see a half-replaced month.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from perfcore import settings
from perfcore.exceptions import StorageFull, WarehouseError
from perfcore.warehouse import migrations, schema

if TYPE_CHECKING:
    import duckdb

# The tables are in ``schema``, how an older warehouse catches up in ``migrations``.
SCHEMA_VERSION = schema.SCHEMA_VERSION


def warehouse_path(override: str | Path | None = None) -> Path:
    return settings.resolve_path("warehouse", override)


def database_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file behind a connection; submitted files are kept in ``submitted/`` beside it."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    return Path(row[0])


def connect(path: str | Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse: on first use create it, opened for writing migrate an older one.

    A warehouse made by another schema version is refused with a line saying
    what to do (``migrations.bring_up_to_date``).
    """
    import duckdb

    database = warehouse_path(path)
    if read_only and not database.exists():
        raise WarehouseError(f"{database}: no warehouse yet; run `perfcore ingest FILES` or `perfcore demo` first")
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        con = _open_waiting(duckdb, database, read_only)
    except duckdb.Error as exc:
        raise WarehouseError(f"{database}: cannot open the warehouse: {exc}") from exc
    try:
        migrations.bring_up_to_date(con, read_only=read_only)
    except BaseException:
        con.close()  # a refused warehouse is not left locked by this process
        raise
    return con


# A bulk load (an extract's records, in one transaction) writes and compresses each row group
# as soon as it is full, on the inserting thread while the file is still being read, instead
# of buffering five per table and compressing them all in the COMMIT, after the read
# (bench/bench_ingest.py: the commit of a million records went from 0.3 s to 0.03 s).
_DUCKDB_CONFIG = {"write_buffer_row_group_count": 1}

LOCK_WAIT_SECONDS = 300.0  # an ingest or a build's snapshot holds the file this long at most, in practice far less


def _open_waiting(duckdb, database: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write a file only while no other has it open: wait for the other
    (an ingest, or a build taking its snapshot) with one line on stderr, then give up with one line."""
    import sys
    import time

    deadline, told = time.monotonic() + LOCK_WAIT_SECONDS, False
    while True:
        try:
            return duckdb.connect(str(database), read_only=read_only, config=_DUCKDB_CONFIG)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise WarehouseError(
                    f"{database}: in use by another perfcore process for over {LOCK_WAIT_SECONDS:.0f}s; "
                    "try again when it has finished"
                ) from exc
            if not told:
                print(
                    f"perfcore: waiting for {database}: another perfcore process is using it",
                    file=sys.stderr,
                    flush=True,
                )
                told = True
            time.sleep(0.2)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: on any exception the transaction is rolled back and the error re-raised."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        # After a failed write DuckDB may refuse even ROLLBACK; the first error says why.
        with contextlib.suppress(Exception):
            con.execute("rollback")
        raise
    else:
        con.execute("commit")


# Words of an OS error that mean the disk, not the data, refused a write.
_FULL = ("no space left", "disk quota exceeded", "file too large")


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn a failed write of the warehouse into one line naming ``what`` was being done.

    A full disk (or quota) is ``StorageFull``; another I/O failure or a failed
    commit is ``WarehouseError``. DuckDB has then rolled the transaction back,
    so nothing of it was recorded. Other database errors (a cast, a constraint)
    are bugs and keep their traceback.
    """
    import duckdb

    try:
        yield
    except (duckdb.IOException, duckdb.FatalException, duckdb.TransactionException) as exc:
        raise describe_storage_failure(what, str(exc)) from exc
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise describe_storage_failure(what, f"{exc.strerror or exc}{where}") from exc


def describe_storage_failure(what: str, detail: str) -> WarehouseError | StorageFull:
    detail = " ".join(detail.split())  # DuckDB's messages run over several lines
    full = any(words in detail.lower() for words in _FULL)
    advice = "free some space on that disk" if full else "check the disk the warehouse is on"
    text = (
        f"{what}: the warehouse could not be written: {detail}; "
        f"nothing of it was recorded ({advice} and run the command again)"
    )
    return StorageFull(text) if full else WarehouseError(text)


def next_submission_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("select nextval('submission_ids')").fetchone()[0])
