"""The Parquet + DuckDB dataset store (scores, runs, and tables other packages register).

Importing it loads neither DuckDB nor Ray: the scoring path (``naswot_ray.engine.worker``) imports the
schema from here and must run where only PyTorch, numpy, pandas and pyarrow are installed.
"""

from naswot_ray.store.files import STAGED_PREFIX
from naswot_ray.store.heartbeat import RunState
from naswot_ray.store.parquet_store import DEFAULT_STORE, Store, conform, query_arrow, register_table
from naswot_ray.store.reader import RetryPolicy, StoreProblem
from naswot_ray.store.schema import (IDENTITY_FIELDS, RUNS_SCHEMA, SCORES_SCHEMA, TABLE_SCHEMAS, VARIANT_FIELDS,
                                     ScoreIdentity, score_key)

__all__ = ["DEFAULT_STORE", "STAGED_PREFIX", "Store", "StoreProblem", "RetryPolicy", "RunState", "conform",
           "query_arrow", "register_table", "RUNS_SCHEMA", "SCORES_SCHEMA", "TABLE_SCHEMAS", "ScoreIdentity",
           "IDENTITY_FIELDS", "VARIANT_FIELDS", "score_key"]
