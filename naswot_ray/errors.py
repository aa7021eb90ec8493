"""Errors that reach the user as one clear line.

Every bad input (an unknown name, a malformed list, a missing file) raises :class:`InputError`
*before* anything is written, so the CLI can print the message on one line and exit with code 2.
What only the environment can fix (a read-only store, an unreachable cluster, no scorer able to
start) raises :class:`EnvironmentProblem`: one line, exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """Bad user input. The message names the bad value and, where there are any, the valid choices."""


class EnvironmentProblem(RuntimeError):
    """The command line is fine but the environment is not (permissions, network, cluster, devices).

    The message says what failed and what to change, on one line.
    """


def unknown_choice(kind: str, value: object, choices: Iterable[str]) -> InputError:
    """Build the standard error for a name that is not one of the valid choices."""
    valid = ", ".join(sorted(choices))
    return InputError(f"unknown {kind} {value!r}; valid choices: {valid}")
