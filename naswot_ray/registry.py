"""A tiny name -> factory registry shared by spaces, metrics and batch sources.

Why a registry: the CLI, engine, store and analysis discover what exists by name, so adding a space
or a metric means writing one module that registers itself, and nothing else changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from naswot_ray.errors import unknown_choice

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and aliases) to factories that build ``T`` objects.

    With ``package`` and ``modules``, the registry imports those modules (which register themselves)
    the first time anyone asks it for a name, so importing a package stays cheap and the module list
    is the only place that names them.
    """

    def __init__(self, kind: str, *, package: str = "", modules: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.package, self.modules = package, modules
        self._factories: dict[str, Callable[[], T]] = {}
        self._aliases: dict[str, str] = {}
        self._instances: dict[str, T] = {}
        self._loaded = not modules

    def load(self) -> None:
        """Import the registering modules (once)."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.modules:
            importlib.import_module(f"{self.package}.{module}")

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
        if name in self._factories or name in self._aliases:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._factories[name] = factory
        for alias in aliases:
            if alias in self._factories or alias in self._aliases:
                raise ValueError(f"{self.kind} alias {alias!r} registered twice")
            self._aliases[alias] = name

    def canonical_name(self, name: str) -> str:
        """Resolve an alias; raise a one-line :class:`InputError` for unknown names."""
        self.load()
        if name in self._factories:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise unknown_choice(self.kind, name, self.names(include_aliases=True))

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

    def aliases_of(self, name: str) -> list[str]:
        self.load()
        return [alias for alias, target in self._aliases.items() if target == name]

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._factories or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(self._factories)
