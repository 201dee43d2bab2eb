"""Warehouse schema versions: an older warehouse is migrated in one transaction, a newer one refused.

The version 1 warehouse is made with the DDL perfcore used before issue 8
(tests/data/schema-v1.sql, taken verbatim from git history) and a few rows in
every table, then opened with today's ``warehouse.connect``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from builders import Harness, claim, extract_xml
from perfcore import cli, warehouse
from perfcore.exceptions import WarehouseError
from perfcore.warehouse import migrations, schema

V1_DDL = (Path(__file__).parent / "data" / "schema-v1.sql").read_text(encoding="utf-8")
TABLES = (
    "submissions",
    "current_extracts",
    "replacements",
    "rejections",
    "extract_headers",
    "claims",
    "changes",
    "work_items",
    "overpayments",
    "recoveries",
    "write_offs",
    "manual_values",
)
# The DDL of each version: change the schema, and this fails until the version is
# raised, a migration added, and the new fingerprint pinned here.
PINNED = {2: "96fb44afa8baefa0", 3: "8fea3a8f8fffeacb"}


def make_v1_warehouse(path: Path) -> None:
    """A warehouse as perfcore before issue 8 left it: the v1 tables, version 1, rows in every table."""
    con = duckdb.connect(str(path))
    con.execute(V1_DDL)
    con.execute("insert into meta values ('schema_version', '1')")
    first, second = (con.execute("select nextval('submission_ids')").fetchone()[0] for _ in range(2))
    when = datetime(2026, 11, 2, 9, 30)
    for number, outcome in ((first, "accepted"), (second, "rejected")):
        con.execute(
            "insert into submissions values (?, ?, ?, ?, 10, 'extract', 'cli', null, ?, 'S12000042', '2026-10', ?, ?,"
            " null, 3, 1)",
            [number, f"f{number}.xml", f"submitted/x/f{number}.xml", f"sha{number}", when, number, outcome],
        )
    con.execute("insert into current_extracts values ('S12000042', '2026-10', ?, 1)", [first])
    con.execute("insert into replacements values ('S12000042', '2026-10', ?, ?, ?)", [first, second, when])
    con.execute(
        "insert into rejections values (?, 'f1.xml', 'record', 12, 'NC9', 'decided', 'decided outside the Period')",
        [first],
    )
    con.execute(
        "insert into extract_headers values (?, 'S12000042', 'Dundee', '2026-10', 'Northgate', 'iWorld', '6.2',"
        " '2026-11-01T02:00:00Z', 1, 12345, 4567890.12)",
        [first],
    )
    con.execute(
        "insert into claims values (?, 10, 'NC1', date '2026-09-20', null, date '2026-10-02', 'awarded', 'social')",
        [first],
    )
    con.execute(
        "insert into changes values (?, 11, 'CE1', 'HB1', 'income', date '2026-10-01', null, date '2026-10-04')",
        [first],
    )
    con.execute("insert into work_items values (?, 12, 'NC2', 'new-claim', date '2026-10-30')", [first])
    con.execute("insert into overpayments values (?, 13, 'OP1', 'HB1', date '2026-10-05', 250.00, 'la-error')", [first])
    con.execute("insert into recoveries values (?, 14, 'OP1', date '2026-10-20', 10.00)", [first])
    con.execute("insert into write_offs values (?, 15, 'OP1', date '2026-10-21', 5.50)", [first])
    con.execute("insert into manual_values values (?, 2, 'S12000042', '2026-10', 'staff_fte', 12.5)", [second])
    con.close()


def rows(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: sorted(con.execute(f"select * from {table}").fetchall(), key=repr) for table in TABLES}
    finally:
        con.close()


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Everything a schema change would change: columns, constraints, views, sequences."""
    return {
        "columns": con.execute(
            "select table_name, column_name, ordinal_position, data_type, is_nullable, column_default "
            "from information_schema.columns order by all"
        ).fetchall(),
        "constraints": con.execute(
            "select table_name, constraint_type, constraint_column_names::varchar from duckdb_constraints() "
            "order by all"
        ).fetchall(),
        "views": con.execute("select view_name, sql from duckdb_views() where not internal order by all").fetchall(),
        "sequences": con.execute("select sequence_name from duckdb_sequences() order by all").fetchall(),
    }


def stored_version(path: Path) -> str | None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select value from meta where key = 'schema_version'").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def test_a_version_1_warehouse_is_migrated_with_its_data(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    make_v1_warehouse(path)
    before = rows(path)
    con = warehouse.connect(path)
    try:
        assert con.execute("select value from meta where key = 'schema_version'").fetchone() == (
            str(schema.SCHEMA_VERSION),
        )
        assert con.execute("select version, how from schema_history").fetchall() == [
            (schema.SCHEMA_VERSION, "migrated from 1")
        ]
        migrated = catalog(con)
    finally:
        con.close()
    assert rows(path) == before
    fresh = warehouse.connect(tmp_path / "fresh.duckdb")
    try:
        assert migrated == catalog(fresh)  # the migrated warehouse is exactly a new one
    finally:
        fresh.close()


def test_a_migrated_warehouse_keeps_working(tmp_path):
    """Ingest continues after the old submissions: the id sequence and the current pointer survive."""
    make_v1_warehouse(tmp_path / "warehouse.duckdb")
    harness = Harness(tmp_path)
    result = harness.ingest(
        extract_xml(period="2026-10", sequence=2, records=[claim("NC5", "2026-10-01", "2026-10-03")])
    )
    assert (result.outcome, result.submission_id, result.replaced) == ("accepted", 3, 1)
    assert harness.count("claims") == 2


def test_a_migration_failing_midway_leaves_the_warehouse_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    make_v1_warehouse(path)
    before = rows(path)
    failing = (*migrations.MIGRATIONS[1], "insert into claims select * from no_such_table")
    monkeypatch.setitem(migrations.MIGRATIONS, 1, failing)
    with pytest.raises(
        WarehouseError,
        match=f"migrating from schema version 1 to {schema.SCHEMA_VERSION} failed, so nothing was changed",
    ):
        warehouse.connect(path)
    assert stored_version(path) == "1"
    assert rows(path) == before
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert "schema_history" not in {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    finally:
        con.close()


def test_a_warehouse_from_a_newer_perfcore_is_refused_untouched(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    warehouse.connect(path).close()
    con = duckdb.connect(str(path))
    con.execute("update meta set value = ? where key = 'schema_version'", [str(schema.SCHEMA_VERSION + 1)])
    con.close()
    for read_only in (False, True):
        with pytest.raises(WarehouseError, match=f"newer perfcore \\(schema version {schema.SCHEMA_VERSION + 1}"):
            warehouse.connect(path, read_only=read_only)
    assert stored_version(path) == str(schema.SCHEMA_VERSION + 1)


def test_reading_an_older_warehouse_names_the_command_that_migrates_it(tmp_path, capsys):
    path = tmp_path / "warehouse.duckdb"
    make_v1_warehouse(path)
    with pytest.raises(WarehouseError, match="run `perfcore migrate` once"):
        warehouse.connect(path, read_only=True)
    assert stored_version(path) == "1"
    assert cli.main(["migrate", "--warehouse", str(path)]) == 0
    assert f"schema version {schema.SCHEMA_VERSION} (migrated from 1 " in capsys.readouterr().out
    warehouse.connect(path, read_only=True).close()


def test_a_database_that_is_not_a_warehouse_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table things (x integer)")
    con.close()
    with pytest.raises(WarehouseError, match="not a perfcore warehouse"):
        warehouse.connect(path)


def test_the_schema_of_this_version_is_pinned():
    """The DDL text, not DuckDB's catalog: a DuckDB upgrade must not look like a schema change."""
    fingerprint = hashlib.sha256(schema.ddl().encode("utf-8")).hexdigest()[:16]
    assert PINNED.get(schema.SCHEMA_VERSION) == fingerprint, (
        "the warehouse schema changed: raise SCHEMA_VERSION, add the migration from the old version to "
        f"migrations.MIGRATIONS, and pin {schema.SCHEMA_VERSION}: {fingerprint!r} here"
    )
