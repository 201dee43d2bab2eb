"""The warehouse: the DuckDB file, what it holds, and the figures computed from it.

    connection   opening (waiting for a writer), transactions, disk-full handling
    schema       the tables at the current version (record tables derived from ``intake.hbpe``)
    migrations   the version check: create, migrate an older warehouse in one transaction, or refuse
    components   per council-month sums the framework's indicators are ratios of
    indicators   the indicator table: every framework indicator, council and month, pooled consortium

``from perfcore import warehouse`` gives the connection functions used everywhere.
"""

from perfcore.warehouse.connection import (
    SCHEMA_VERSION,
    connect,
    database_path,
    describe_storage_failure,
    next_submission_id,
    storage_errors,
    transaction,
    warehouse_path,
)

__all__ = [
    "SCHEMA_VERSION",
    "connect",
    "database_path",
    "describe_storage_failure",
    "next_submission_id",
    "storage_errors",
    "transaction",
    "warehouse_path",
]
