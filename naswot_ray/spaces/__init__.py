"""Search spaces, registered by name.

``get_space("nb201")`` returns a ready space object; ``space_names()`` lists what exists. Each
space lives in its own module, which registers itself with :data:`SPACES` on import; the list of
modules below is the only place that names them.
"""

from __future__ import annotations

import functools
import importlib

from naswot_ray.registry import Registry
from naswot_ray.spaces.base import Arch, SearchSpace

SPACES: Registry[SearchSpace] = Registry("space")
register_space = SPACES.register

_MODULES = ("nb201", "nats_sss", "nb101", "nds")


@functools.cache
def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"naswot_ray.spaces.{module}")


def get_space(name: str) -> SearchSpace:
    """The (cached) space object for ``name`` or an alias; unknown names raise InputError."""
    _load_all()
    return _build_space(SPACES.canonical_name(name))


@functools.cache
def _build_space(canonical_name: str) -> SearchSpace:
    return SPACES.get(canonical_name)


def space_names(*, include_aliases: bool = False) -> list[str]:
    _load_all()
    return SPACES.names(include_aliases=include_aliases)


__all__ = ["Arch", "SearchSpace", "SPACES", "register_space", "get_space", "space_names"]
