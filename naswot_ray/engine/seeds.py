"""Per-architecture seeds derived from (run seed, architecture index).

Why: a score must not depend on which worker computed it or in what order, so each architecture's
initial weights come from its own seed rather than from a shared, order-dependent RNG stream.
"""

from __future__ import annotations

import hashlib


def arch_seed(run_seed: int, arch_index: int) -> int:
    digest = hashlib.sha256(f"naswot-ray:{run_seed}:{arch_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def seed_torch(seed: int, device: "torch.device") -> None:
    """Seed the generators a network built and scored on ``device`` draws from.

    The same CPU state as ``torch.manual_seed(seed)`` (so values are unchanged), plus the scorer's own
    GPU. ``torch.manual_seed`` also queues a seed for every accelerator type torch was built for; on a
    machine without them each call formats a stack trace for the lazy queue (~3 ms, per architecture).
    """
    import torch

    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed(seed)
