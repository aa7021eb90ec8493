"""Run seeds derived from (search seed, run number).

Why derived, not drawn from one stream: run r must give the same result whether it runs first, last,
alone, or in a Ray task beside others. The seed does not depend on the algorithm or its settings, so run
r of ``naswot --n 10`` and of ``--n 100`` (or of REA and AREA) start from the same generator state:
common random numbers, which make comparisons between settings paired rather than independent.
"""

from __future__ import annotations

import hashlib


def run_seed(seed: int, run: int) -> int:
    """A 63-bit seed for run ``run`` of a search started with ``--seed seed``."""
    digest = hashlib.sha256(f"naswot-ray-search:{seed}:{run}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


__all__ = ["run_seed"]
