"""Search spaces, registered by name.

``get_space("nb201")`` returns a ready space object; ``space_names()`` lists what exists. Each
space lives in its own module, which registers itself with :data:`SPACES` on import; the registry's
module list is the only place that names them.
"""

from __future__ import annotations

from naswot_ray.registry import Registry
from naswot_ray.spaces.base import Arch, SearchSpace

SPACES: Registry[SearchSpace] = Registry("space", package="naswot_ray.spaces",
                                        modules=("nb201.space", "nats.sss", "nb101.space", "nds.space"))
register_space = SPACES.register


def get_space(name: str) -> SearchSpace:
    """The (shared) space object for ``name`` or an alias; unknown names raise InputError."""
    return SPACES.instance(name)


def space_names(*, include_aliases: bool = False) -> list[str]:
    return SPACES.names(include_aliases=include_aliases)


__all__ = ["Arch", "SearchSpace", "SPACES", "register_space", "get_space", "space_names"]
