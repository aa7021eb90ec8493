"""The SearchSpace abstraction every benchmark space implements.

An architecture (``Arch``) is a small, hashable, serialisable string: the benchmark's own string form
where one exists (NB201 ``|nor_conv_3x3~0|+|...|``), so results join with official tables by string
as well as by index. Index order equals the benchmark's own index order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

import numpy as np
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.options import Option, options_key, resolve_options
from naswot_ray.spaces.parts import NetworkParts, generic_parts

Arch = str


class SearchSpace(ABC):
    """A finite (``size`` is an int) or open-ended (``size`` is None) set of architectures.

    Subclasses set ``name``, ``size``, ``input_size`` (the native image side, e.g. 32 for CIFAR) and
    implement the abstract methods. Networks returned by :meth:`build` map an NCHW batch to logits
    (one tensor, never a tuple), so metrics never have to guess which output is which.
    """

    name: str = ""
    size: int | None = None
    #: open-ended spaces: how many architectures (indices 0..N-1) ``score-all`` covers by default
    default_count: int | None = None
    input_size: int = 32
    #: one line for ``naswot-ray spaces``
    description: str = ""

    # -- index <-> architecture -------------------------------------------------------------
    @abstractmethod
    def arch(self, index: int) -> Arch:
        """The architecture at ``index`` (the benchmark's own index order)."""

    @abstractmethod
    def index(self, arch: Arch) -> int:
        """The index of ``arch``; raises :class:`InputError` when it is not in the space."""

    def parse_arch(self, text: str) -> Arch:
        """Validate a user-supplied architecture string; raise :class:`InputError` when malformed."""
        self.index(text)
        return text

    def iter_all(self) -> Iterator[int]:
        """Every index, in order. Open-ended spaces raise: they have no 'all'."""
        if self.size is None:
            raise InputError(f"space {self.name!r} has no fixed size; pass --limit or --indices")
        return iter(range(self.size))

    def check_index(self, index: int) -> int:
        if index < 0 or (self.size is not None and index >= self.size):
            upper = "unbounded" if self.size is None else str(self.size - 1)
            raise InputError(f"index {index} is outside space {self.name!r} (valid: 0..{upper})")
        return index

    # -- sampling and mutation --------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int) -> list[int]:
        """``n`` indices drawn uniformly with replacement (Algorithm 1 samples with replacement)."""
        if self.size is None:
            raise NotImplementedError(f"{self.name}: open-ended spaces must override sample()")
        return [int(i) for i in rng.integers(0, self.size, size=n)]

    @abstractmethod
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A neighbour of ``arch``: one decision changed to a different value."""

    # -- networks ---------------------------------------------------------------------------
    @abstractmethod
    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        """Our own PyTorch network for ``arch`` with a linear head of ``num_classes`` outputs."""

    def canonical(self, arch: Arch) -> str:
        """An isomorphism-invariant key; spaces without a known isomorphism return ``arch``."""
        return arch

    # -- before a run ---------------------------------------------------------------------------
    def prepare(self, *, progress: bool = True, note: "Callable[[str], None] | None" = None) -> None:
        """Build what this space needs on disk, here and visibly, before a run starts its scorers (which
        would otherwise each wait, silently, for one of them to build it). Most spaces need nothing.

        ``note`` receives one line saying what is being built; ``progress`` shows a bar while it is.
        """

    # -- what a proxy may ask of a built network ---------------------------------------------
    def network_parts(self, model: nn.Module) -> NetworkParts:
        """The feature taps, pre-pooling features and activation sites of ``model`` (built by
        :meth:`build`), for proxies that reach inside a network (AZ-NAS, Zen, SWAP, ...).

        Spaces that know their networks override this; the default is the documented generic
        fallback of :func:`naswot_ray.spaces.parts.generic_parts`.
        """
        return generic_parts(model)

    # -- options ------------------------------------------------------------------------------
    #: declared options (name, type, default, help); ``--space-option KEY=VALUE`` sets them
    options: tuple[Option, ...] = ()

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def with_options(self, **options: object) -> "SearchSpace":
        """A configured copy (e.g. NB101 with a 16-channel stem); unknown keys or bad values raise InputError.

        Options that change the networks must show up in :meth:`options_key`, which the store keeps
        in every score row so results of differently configured spaces never mix.
        """
        given = {k: v for k, v in options.items() if v is not None}
        resolved = resolve_options(self.options, given, owner=f"space {self.name!r}")
        if not given:
            return self
        return self._configured(**{k: resolved[k] for k in given})

    def _configured(self, **options: object) -> "SearchSpace":
        raise NotImplementedError(f"{self.name}: declares options but does not implement _configured")

    def option_values(self) -> dict[str, object]:
        """The current value of every declared option (by default the attribute of the same name)."""
        return {o.name: getattr(self, o.name, o.default) for o in self.options}

    def options_key(self) -> str:
        """A stable string of the options that change networks; '' for the default configuration."""
        return options_key(self.options, self.option_values())

    def describe(self) -> str:
        if self.size is not None:
            size = f"{self.size:,} architectures"
        elif self.default_count:
            size = f"open-ended (score-all samples {self.default_count:,} by default)"
        else:
            size = "open-ended"
        return f"{self.name}: {size}. {self.description}".strip()
