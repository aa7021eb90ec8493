"""The Parquet + DuckDB dataset store (scores, runs, and tables other packages register)."""

from naswot_ray.store.parquet_store import DEFAULT_STORE, Store, StoreProblem, conform, query_arrow, register_table
from naswot_ray.store.schema import IDENTITY_FIELDS, VARIANT_FIELDS, RUNS_SCHEMA, SCORES_SCHEMA, TABLE_SCHEMAS, ScoreIdentity, score_key

__all__ = ["DEFAULT_STORE", "Store", "StoreProblem", "conform", "query_arrow", "register_table", "RUNS_SCHEMA", "SCORES_SCHEMA",
           "TABLE_SCHEMAS", "ScoreIdentity", "IDENTITY_FIELDS", "VARIANT_FIELDS", "score_key"]
