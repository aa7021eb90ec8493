"""Declared options of spaces and metrics: name, type, default, help, valid choices.

Why declared: a space or metric that states its own options is configurable from the CLI
(``--space-option KEY=VALUE``, ``--metric-option METRIC.KEY=VALUE``), from a job file and from Python
without any edit outside its own module, and its non-default values go into the identity of every
score it produces, so differently configured results never mix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from naswot_ray.errors import InputError


@dataclass(frozen=True)
class Option:
    """One option. ``type`` is ``int``, ``float``, ``str`` or ``bool``; ``choices`` restricts values.

    ``env`` names an environment variable that overrides the default *where the job is defined*
    (the driver). The resolved value then travels with the job, so workers never read their own
    environment to decide what an index means.
    """

    name: str
    type: type = str
    default: object = None
    help: str = ""
    choices: tuple | None = None
    env: str | None = None
    #: extra check on a parsed value: returns an error text, or None when the value is fine
    check: Callable[[object], str | None] | None = None

    def effective_default(self) -> object:
        if self.env is not None:
            raw = os.environ.get(self.env)
            if raw is not None and raw.strip() != "":
                return self.parse(raw, owner=f"environment variable {self.env}")
        return self.default

    def parse(self, value: object, *, owner: str = "") -> object:
        """``value`` (a string from the command line, or a Python value) as this option's type."""
        where = f" of {owner}" if owner else ""
        try:
            parsed = _convert(value, self.type)
        except (TypeError, ValueError):
            raise InputError(f"bad value {value!r} for option {self.name!r}{where}; expected {self.describe_type()}") from None
        if self.choices is not None and parsed not in self.choices:
            raise InputError(f"bad value {value!r} for option {self.name!r}{where}; valid choices: "
                             + ", ".join(str(c) for c in self.choices))
        if self.check is not None:
            problem = self.check(parsed)
            if problem:
                raise InputError(f"bad value {value!r} for option {self.name!r}{where}; {problem}")
        return parsed

    def describe_type(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(self.type, self.type.__name__)

    def describe(self) -> str:
        default = "none" if self.default is None else str(self.default)
        env = f"; env {self.env}" if self.env else ""
        return f"{self.name} ({self.describe_type()}, default {default}{env}): {self.help}"


def _convert(value: object, kind: type) -> object:
    if value is None:
        raise ValueError("no value")
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if kind is int:
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(str(value).strip()) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    if kind is str:
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    return kind(value)


def resolve_options(declared: Sequence[Option], given: Mapping[str, object], *, owner: str) -> dict[str, object]:
    """Every declared option's value: ``given`` (parsed) over the effective defaults.

    An unknown key is a one-line error naming the valid ones.
    """
    by_name = {o.name: o for o in declared}
    unknown = sorted(k for k in given if k not in by_name)
    if unknown:
        valid = ", ".join(by_name) or "none"
        raise InputError(f"{owner} has no option {unknown[0]!r}; valid options: {valid}")
    resolved = {}
    for option in declared:
        if option.name in given and given[option.name] is not None:
            resolved[option.name] = option.parse(given[option.name], owner=owner)
        else:
            resolved[option.name] = option.effective_default()
    return resolved


def options_key(declared: Sequence[Option], resolved: Mapping[str, object]) -> str:
    """``k=v,k2=v2`` of the values that differ from the declared defaults ('' when all are defaults).

    Only non-defaults, so adding an option to a space or metric leaves existing keys unchanged; a
    changed default is a change of maths and bumps the metric's version instead.
    """
    parts = [f"{o.name}={resolved[o.name]}" for o in declared if o.name in resolved and resolved[o.name] != o.default]
    return ",".join(parts)


def parse_assignments(items: Iterable[str], *, flag: str) -> list[tuple[str, str]]:
    """``["a=1", "b=x"]`` -> ``[("a", "1"), ("b", "x")]``; a malformed item is a one-line error."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"malformed {flag} {item!r}; expected KEY=VALUE")
        out.append((key.strip(), value))
    return out


__all__ = ["Option", "resolve_options", "options_key", "parse_assignments"]
