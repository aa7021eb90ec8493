"""A tiny name -> factory registry shared by spaces, metrics and search algorithms.

Why a registry: the CLI, engine, store and analysis discover what exists by name, so adding a space
or a metric means writing one module that registers itself, and nothing else changes. That module may
live in another installed package: the registry also loads the package entry points of its kind
(:mod:`naswot_ray.plugins`), so a plugin's space or metric is found by name in every process (the
driver, each Ray worker) exactly like a built-in one, and each name remembers where it came from.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from naswot_ray.errors import unknown_choice

T = TypeVar("T")

#: the origin of everything this package registers itself
BUILT_IN = "built in"


class Registry(Generic[T]):
    """Maps names (and aliases) to factories that build ``T`` objects.

    With ``package`` and ``modules``, the registry imports those modules (which register themselves)
    the first time anyone asks it for a name, so importing a package stays cheap and the module list
    is the only place that names them. At the same moment it loads the entry points of its kind
    (``naswot_ray.spaces`` for spaces, ``naswot_ray.metrics`` for metrics; see :mod:`naswot_ray.plugins`).
    """

    def __init__(self, kind: str, *, package: str = "", modules: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.package, self.modules = package, modules
        self._factories: dict[str, Callable[[], T]] = {}
        self._aliases: dict[str, str] = {}
        self._instances: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        #: set while a loader imports a plugin: the origin recorded for whatever registers meanwhile
        self._origin_override: str | None = None
        self._loaded = not modules

    def load(self) -> None:
        """Import the registering modules, then the installed plugins of this kind (once)."""
        if self._loaded:
            return
        self._loaded = True
        with self.registering_as(BUILT_IN):
            for module in self.modules:
                importlib.import_module(f"{self.package}.{module}")
        from naswot_ray import plugins  # imported here: plugins imports the registries, not the reverse

        plugins.discover(self)

    def instance(self, name: str) -> T:
        """The shared object for ``name`` or an alias (built once); unknown names raise InputError."""
        canonical = self.canonical_name(name)
        if canonical not in self._instances:
            self._instances[canonical] = self._factories[canonical]()
        return self._instances[canonical]

    def register(self, name: str, *, aliases: tuple[str, ...] = ()) -> Callable[[Callable[[], T]], Callable[[], T]]:
        """Decorator: register ``factory`` (a class or a zero-argument callable) under ``name``."""

        def decorate(factory: Callable[[], T]) -> Callable[[], T]:
            self.add(name, factory, aliases=aliases)
            return factory

        return decorate

    def add(self, name: str, factory: Callable[[], T], *, aliases: tuple[str, ...] = ()) -> None:
        """Register ``factory`` under ``name``.

        Registering the same class (same module and qualified name) again replaces it: a notebook
        cell or script that defines its space and is run twice must not fail the second time.
        """
        if name in self._factories and _same_definition(self._factories[name], factory):
            self.remove(name)
        if name in self._factories or name in self._aliases:
            raise ValueError(f"{self.kind} {name!r} registered twice (already from {self.origin(self.canonical_name(name))})")
        for alias in aliases:
            if alias in self._factories or alias in self._aliases:
                raise ValueError(f"{self.kind} alias {alias!r} registered twice")
        self._factories[name] = factory
        for alias in aliases:
            self._aliases[alias] = name
        self._origins[name] = self._origin_override or self._origin_of(factory)

    def remove(self, name: str) -> None:
        """Forget ``name`` and its aliases (a re-defined notebook space; tests that install a plugin)."""
        self._factories.pop(name, None)
        self._instances.pop(name, None)
        self._origins.pop(name, None)
        for alias in [a for a, target in self._aliases.items() if target == name]:
            del self._aliases[alias]

    @contextlib.contextmanager
    def registering_as(self, origin: str) -> Iterator[None]:
        """Record ``origin`` for every name registered inside the block (the plugin loaders use it)."""
        previous, self._origin_override = self._origin_override, origin
        try:
            yield
        finally:
            self._origin_override = previous

    def origin(self, name: str) -> str:
        """Where ``name`` comes from: "built in", "entry point of <distribution> <version>",
        "plugin module <module>" or "module <module>" (registered by a script or notebook)."""
        return self._origins.get(self.canonical_name(name), "unknown")

    def _origin_of(self, factory: Callable) -> str:
        """"built in" for the modules this registry loads itself (however they got imported), else the module."""
        module = getattr(factory, "__module__", None) or getattr(getattr(factory, "func", None), "__module__", None) or ""
        if module in {f"{self.package}.{m}" for m in self.modules}:
            return BUILT_IN
        return f"module {module}" if module else "unknown"

    def canonical_name(self, name: str) -> str:
        """Resolve an alias; raise a one-line :class:`InputError` for unknown names."""
        self.load()
        if name in self._factories:
            return name
        if name in self._aliases:
            return self._aliases[name]
        error = unknown_choice(self.kind, name, self.names(include_aliases=True))
        from naswot_ray import plugins

        notes = plugins.failure_notes(self.kind)
        if notes:
            error = type(error)(f"{error}; {notes}")
        raise error

    def get(self, name: str) -> T:
        return self._factories[self.canonical_name(name)]()

    def names(self, *, include_aliases: bool = False) -> list[str]:
        """Registered names in the order of ``modules`` (then registration), however imports happened."""
        self.load()
        position = {module: i for i, module in enumerate(self.modules)}
        order = {name: i for i, name in enumerate(self._factories)}

        def key(name: str) -> tuple[int, int]:
            module = getattr(self._factories[name], "__module__", "")
            module = module[len(self.package) + 1:] if module.startswith(self.package + ".") else module
            return position.get(module, len(position)), order[name]

        names = sorted(self._factories, key=key)
        if include_aliases:
            names += list(self._aliases)
        return names

    def registered(self) -> list[str]:
        """The names registered so far, without loading anything (what a loader compares against)."""
        return list(self._factories)

    def aliases_of(self, name: str) -> list[str]:
        self.load()
        return [alias for alias, target in self._aliases.items() if target == name]

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._factories or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(self._factories)


def _same_definition(old: Callable, new: Callable) -> bool:
    keys = ("__module__", "__qualname__")
    return old is new or (all(getattr(old, k, None) is not None for k in keys)
                          and all(getattr(old, k, None) == getattr(new, k, None) for k in keys))


__all__ = ["BUILT_IN", "Registry"]
