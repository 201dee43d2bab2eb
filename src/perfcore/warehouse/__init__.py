"""The warehouse: the DuckDB file, what it holds, and the figures computed from it.

    connection   opening (waiting for a writer), transactions, disk-full handling, the schema
    components   per council-month sums the framework's indicators are ratios of
    indicators   the indicator table: every framework indicator, council and month, pooled consortium

``from perfcore import warehouse`` gives the connection functions used everywhere.
"""

from perfcore.warehouse.connection import (
    SCHEMA,
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
    "SCHEMA", "SCHEMA_VERSION", "connect", "database_path", "describe_storage_failure", "next_submission_id",
    "storage_errors", "transaction", "warehouse_path",
]
