"""``kiosk.db``: one schema owner and version (see :mod:`statedb.schema`)."""

from statedb.schema import ADDED_COLUMNS, SCHEMA_VERSION, TABLES, SchemaError, ensure_schema

__all__ = ["ADDED_COLUMNS", "SCHEMA_VERSION", "TABLES", "SchemaError", "ensure_schema"]
