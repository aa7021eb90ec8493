"""How a benchmark row names its architecture in the store: (arch_index, arch).

For every space but NB101 the stored ``arch`` is the space's own string (NB201 cell string, NATS-SSS
channel string, NDS ``net`` JSON). For NB101 it is the module hash: the key of every official NB101
table, and the only form two tools agree on (our arch strings pick one labeling of the graph; other
exports pick another). ``arch_index`` is always the space's index, so the store's identity holds.
"""

from __future__ import annotations

from naswot_ray.spaces import SearchSpace

NB101 = "nb101"


def benchmark_key(space: SearchSpace, text: str) -> tuple[int, str]:
    """(index, stored arch) of a user-supplied architecture string; bad strings raise InputError."""
    if space.name == NB101:
        module_hash = space.hash_of(text)  # type: ignore[attr-defined]
        return space.index(module_hash), module_hash
    arch = space.parse_arch(text)
    return space.index(arch), arch


def key_for_index(space: SearchSpace, index: int) -> tuple[int, str]:
    """(index, stored arch) of architecture ``index``; out-of-range indices raise InputError."""
    index = space.check_index(int(index))
    if space.name == NB101:
        return index, space.table.hash_at(index)  # type: ignore[attr-defined]
    return index, space.arch(index)


__all__ = ["benchmark_key", "key_for_index", "NB101"]
