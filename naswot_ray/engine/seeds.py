"""Per-architecture seeds derived from (run seed, architecture index).

Why: a score must not depend on which worker computed it or in what order, so each architecture's
initial weights come from its own seed rather than from a shared, order-dependent RNG stream.
"""

from __future__ import annotations

import hashlib


def arch_seed(run_seed: int, arch_index: int) -> int:
    digest = hashlib.sha256(f"naswot-ray:{run_seed}:{arch_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)
