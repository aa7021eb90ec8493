"""Plugins: modules that register spaces and metrics from outside this package.

A job names its plugin modules (``ScoreJob.plugins``); they are imported in the driver and, before
anything else, in every scorer actor on every node, so a plugin's metric or space is known wherever
the job runs. A module that fails to import is one clear line naming it and its error.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from naswot_ray.errors import InputError


def load(modules: Iterable[str]) -> None:
    """Import each plugin module (once; Python caches modules)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"plugin {name!r} failed to import: {type(exc).__name__}: {reason}") from None


__all__ = ["load"]
