"""Plugins: modules that register spaces and metrics from outside this package.

Two ways in, and neither touches a file of this package:

- **Entry points** of an installed distribution, groups ``naswot_ray.spaces`` and ``naswot_ray.metrics``
  (``pyproject.toml``: ``[project.entry-points."naswot_ray.spaces"] my_space = "my_pkg.space:MySpace"``).
  The entry point's name is the registered name; it may point at a :class:`~naswot_ray.spaces.SearchSpace`
  or :class:`~naswot_ray.metrics.Metric` subclass (or a zero-argument factory), which is registered under
  that name, or at a module that registers itself with ``@register_space`` / ``@register_metric``. The
  registries load them the first time anyone asks for a name (:meth:`naswot_ray.registry.Registry.load`).
- **Plugin modules** named on the command line (``--plugin MODULE``), in a job (``ScoreJob.plugins``) or
  in Python (``nr.score_space(..., plugins=[...])``): modules on the path that register themselves when
  imported.

A job names its plugin modules (``ScoreJob.plugins``); :func:`load` imports them in the driver
(``ScoreJob.validate``) and, before anything else, in every scorer actor on every node
(``ScorerActor.__init__``), and discovers the entry points there too, so a plugin's metric or space is
known wherever the job runs. Modules must be importable on every node (installed, on ``PYTHONPATH``, or
in the driver's working directory, which Ray adds to its workers' path).

Failures: a plugin module named explicitly that fails to import is one clear line naming it and its
error (:class:`InputError`). An installed entry point that fails to load does not stop every command of
every user of that environment: it is recorded, listed by ``naswot-ray spaces`` / ``metrics``, and named
in the one-line error of any lookup of an unknown name (the name the user wanted is often the broken one).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from naswot_ray.errors import InputError

if TYPE_CHECKING:
    from naswot_ray.registry import Registry

#: registry kind -> the entry-point group its plugins declare
GROUPS = {"space": "naswot_ray.spaces", "metric": "naswot_ray.metrics"}


@dataclass(frozen=True)
class PluginFailure:
    """An entry point that could not be loaded: which one, from where, and why (one line)."""

    kind: str
    name: str
    source: str
    error: str

    def line(self) -> str:
        return f"plugin {self.name!r} ({self.source}) failed to import: {self.error}"


_failures: dict[tuple[str, str], PluginFailure] = {}


def load(modules: Iterable[str]) -> None:
    """Import each plugin module (once; Python caches modules), after discovering the installed entry points.

    Called first in the driver and in every scorer, so every process of a job knows the same names.
    """
    registries = _registries()
    for registry in registries:
        registry.load()  # built-ins and entry points, so what the modules add below is told apart
    for name in modules:
        try:
            with contextlib.ExitStack() as stack:
                for registry in registries:
                    stack.enter_context(registry.registering_as(f"plugin module {name}"))
                importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
            raise InputError(f"plugin {name!r} failed to import: {_one_line(exc)}") from None


def discover(registry: "Registry") -> None:
    """Register the entry points of ``registry``'s group that it does not know yet (called by ``Registry.load``).

    Safe to call again after installing a distribution into a running process (see :func:`rescan`).
    """
    group = GROUPS.get(registry.kind)
    if group is None:
        return
    for entry in _entry_points(group):
        source = _source(entry)
        if entry.name in registry.registered():
            continue
        before = set(registry.registered())
        try:
            with registry.registering_as(source):
                target = entry.load()
                if entry.name not in registry.registered():
                    if isinstance(target, ModuleType):
                        raise LookupError(f"module {target.__name__} registers no {registry.kind} named {entry.name!r}")
                    if not callable(target):
                        raise TypeError(f"{entry.value} is not a {registry.kind} class or factory")
                    registry.add(entry.name, target)
        except Exception as exc:  # noqa: BLE001 - recorded and reported, never fatal here
            for added in set(registry.registered()) - before:
                registry.remove(added)
            _failures[(registry.kind, entry.name)] = PluginFailure(registry.kind, entry.name, source, _one_line(exc))
            continue
        _failures.pop((registry.kind, entry.name), None)


def rescan() -> None:
    """Look for entry points again (a distribution installed after this process first asked a registry)."""
    importlib.invalidate_caches()
    for registry in _registries():
        if registry._loaded:
            discover(registry)
        else:
            registry.load()


def failures(kind: str | None = None) -> list[PluginFailure]:
    """Entry points that failed to load (of one registry kind, or all)."""
    return [f for f in _failures.values() if kind is None or f.kind == kind]


def failure_notes(kind: str) -> str:
    """One clause naming every failed plugin of ``kind`` ('' when none), for unknown-name errors."""
    return "; ".join(f.line() for f in failures(kind))


def _registries() -> list["Registry"]:
    from naswot_ray.metrics import METRICS
    from naswot_ray.spaces import SPACES

    return [SPACES, METRICS]


def _entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for entry in importlib.metadata.entry_points(group=group):
        seen.setdefault(entry.name, entry)  # the first on sys.path wins, as for imports
    return list(seen.values())


def _source(entry: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    if dist is None:
        return f"entry point {entry.value}"
    return f"entry point of {dist.metadata['Name']} {dist.version}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__


__all__ = ["GROUPS", "PluginFailure", "discover", "failure_notes", "failures", "load", "rescan"]
