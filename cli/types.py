"""The click parameter types every ``naswot-ray`` command uses: each option declares its domain here.

Why one shared set: a value at the edge of its type (0 workers, a negative limit, a seed beyond int64,
NaN seconds, infinitely many GPUs, an empty store path) must fail the same way on every command: one
line naming the option, the value and what is expected, exit code 2, before the command does
anything. click's own types do not: ``INT`` takes integers of any size (a seed of 2**64 crashes numpy
later), ``FLOAT`` takes ``nan`` and ``inf``, and a ``FloatRange`` lets NaN through because every
comparison with NaN is false.

Numeric options name their domain explicitly (``type=COUNT``, ``type=SEED``, ...). Free-text options
need not: :func:`require_text` gives every plain string (and click Path) parameter of the application
a non-empty type in one place, so an option added later is covered too; text that names something on
disk says so (``STORE``, ``INPUT_FILE``, ...), and where a command writes is checked before it runs
(``OUTPUT_FILE``, ``OUTPUT_DIR``: an unwritable place is the environment's problem, exit 1). The
bad-input harness (``tests/cli/test_bad_input.py``) refuses parameters whose type it does not know, and
feeds each known type the values just outside its domain.
"""

from __future__ import annotations

import math
import os
from pathlib import Path as Path_

import click

from naswot_ray.errors import EnvironmentProblem

#: the largest integer the store (int64 columns) and numpy's seeding accept
INT64_MAX = 2**63 - 1


class Int(click.ParamType):
    """An integer in ``[min, max]`` (both inclusive); ``max`` defaults to the int64 limit."""

    name = "integer"

    def __init__(self, min: int = 0, max: int = INT64_MAX, *, expected: str | None = None) -> None:
        self.min, self.max = min, max
        self.expected = expected or _int_domain(min, max)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "INTEGER"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, bool):
            self.fail(f"{value!r} is not an integer; expected {self.expected}", param, ctx)
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if text.lstrip("+-").isdigit() and len(text) > 40:  # beyond Python's own digit limit for int()
                self.fail(f"{_shown(text)} does not fit a 64-bit integer; expected {self.expected}", param, ctx)
            try:
                number = int(text, 10)
            except ValueError:
                self.fail(f"{_shown(value)!r} is not an integer; expected {self.expected}", param, ctx)
        if number > INT64_MAX:
            self.fail(f"{_shown(number)} does not fit a 64-bit integer; expected {self.expected}", param, ctx)
        if not self.min <= number <= self.max:
            self.fail(f"{number} is out of range; expected {self.expected}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"Int({self.min}..{self.max})"


class Float(click.ParamType):
    """A finite number, optionally bounded (``min_open``/``max_open`` exclude the bound itself)."""

    name = "float"

    def __init__(self, min: float | None = None, max: float | None = None, *, min_open: bool = False,
                 max_open: bool = False, expected: str | None = None) -> None:
        self.min, self.max, self.min_open, self.max_open = min, max, min_open, max_open
        self.expected = expected or _float_domain(min, max, min_open, max_open)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "NUMBER"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value if isinstance(value, (int, float)) and not isinstance(value, bool)
                           else str(value).strip())
        except (ValueError, OverflowError):
            self.fail(f"{_shown(value)!r} is not a number; expected {self.expected}", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{_shown(value)} is not a finite number; expected {self.expected}", param, ctx)
        if self.min is not None and (number < self.min or (self.min_open and number == self.min)):
            self.fail(f"{number:g} is out of range; expected {self.expected}", param, ctx)
        if self.max is not None and (number > self.max or (self.max_open and number == self.max)):
            self.fail(f"{number:g} is out of range; expected {self.expected}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"Float({self.expected})"


class Text(click.ParamType):
    """A string that is not empty (nor only whitespace): an empty name, path or list is never meant.

    ``role`` says what the text names, when it names something on disk, so that the bad-input harness
    knows which values are wrong for it (a missing file, a directory where a file is wanted, a file
    where a store folder is wanted). The command itself checks the value and words the error, because it
    knows what the file should hold; the role only declares the domain.
    """

    name = "text"
    #: what a role's value must be: an existing file, an existing folder, an existing file or folder, a store
    ROLES = ("file", "dir", "path", "store")

    def __init__(self, role: str | None = None) -> None:
        if role is not None and role not in self.ROLES:
            raise ValueError(f"unknown text role {role!r}; valid: {', '.join(self.ROLES)}")
        self.role = role

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = value if isinstance(value, str) else str(value)
        if not text.strip():
            self.fail(f"an empty value {text!r} is not allowed; expected {_what(param)}", param, ctx)
        return text

    def __repr__(self) -> str:
        return f"Text(role={self.role!r})" if self.role else "TEXT"


class Path(click.Path):
    """click's Path that also refuses an empty value (``--out ''`` would otherwise mean the current folder)."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        if isinstance(value, str) and not value.strip():
            self.fail(f"an empty path {value!r} is not allowed; expected {_what(param)}", param, ctx)
        return super().convert(value, param, ctx)

    @classmethod
    def like(cls, other: click.Path) -> "Path":
        """The same path rules as ``other``, plus the non-empty check."""
        return cls(exists=other.exists, file_okay=other.file_okay, dir_okay=other.dir_okay, writable=other.writable,
                   readable=other.readable, resolve_path=other.resolve_path, allow_dash=other.allow_dash,
                   path_type=other.type, executable=other.executable)


class Output(Path):
    """Where a command writes (a file, or a folder with ``file_okay=False``): refused before anything runs
    when it cannot be written, so no command computes for minutes, or writes its rows elsewhere, and then
    fails on its last step. A folder that does not let us write is the environment's doing, not the command
    line's: one line, exit code 1 (:class:`~naswot_ray.errors.EnvironmentProblem`)."""

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = False, allow_dash: bool = False) -> None:
        super().__init__(file_okay=file_okay, dir_okay=dir_okay, allow_dash=allow_dash)

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        path = super().convert(value, param, ctx)
        if self.allow_dash and path == "-":
            return path  # standard output
        target = Path_(os.fspath(path))  # type: ignore[arg-type]
        folder = target if target.is_dir() else target.parent  # where new files (and temporary ones) go
        existing = folder
        while not existing.exists() and existing != existing.parent:  # folders still to be made go here
            existing = existing.parent
        if not existing.is_dir():
            self.fail(f"{str(target)!r} cannot be made: {str(existing)!r} is a file, not a folder", param, ctx)
        if not (os.access(existing, os.W_OK | os.X_OK, effective_ids=True)
                and (not target.exists() or os.access(target, os.W_OK, effective_ids=True))):
            name = param.opts[0] if param is not None and param.opts else "output"
            raise EnvironmentProblem(f"{name} {str(target)!r} cannot be written: {str(existing)!r} is read-only for "
                                     "this user; choose another place or change its permissions")
        return path


class Choice(click.Choice):
    """One of a fixed set of names, matched case-insensitively (``--format CSV`` means csv)."""

    def __init__(self, choices: tuple[str, ...] | list[str]) -> None:
        super().__init__(list(choices), case_sensitive=False)


def _shown(value: object, limit: int = 40) -> str:
    """A value as an error line quotes it: long ones (a 5,000-digit "seed") cut to ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _int_domain(low: int, high: int) -> str:
    if high == INT64_MAX:
        return f"an integer >= {low}"
    return f"an integer from {low} to {high}"


def _float_domain(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return "a finite number" + (" " + " and ".join(parts) if parts else "")


def _what(param: click.Parameter | None) -> str:
    if param is None:
        return "a value"
    metavar = param.metavar or (param.name or "value").upper()
    return f"a non-empty {metavar}" if isinstance(param, click.Argument) else "a non-empty value"


# -- the domains, by meaning (named so that the same quantity has the same domain everywhere) -----
#: a count of things (architectures, runs, resamples, rows): at least one
COUNT = Int(1)
#: a run, search or bootstrap seed: numpy seeds take non-negative integers, the store keeps int64
SEED = Int(0)
#: images in the scoring batch: Gram and gradient metrics need two; beyond this no real run goes and the
#: batch alone would not fit in memory (65,536 ImageNet-size images are 39 GB)
BATCH_SIZE = Int(2, 65_536)
#: scorer actors or processes
WORKERS = Int(1, 4_096)
#: a network head's class count (ImageNet-21k has 21,841)
CLASSES = Int(1, 100_000)
#: bootstrap resamples (0: no bootstrap interval); the resample index matrix is resamples x points int64
RESAMPLES = Int(0, 100_000)
#: training epochs of a benchmark column
EPOCHS = Int(1, 100_000)
#: decimals printed (float64 holds 17 significant digits)
DIGITS = Int(0, 17)
#: a positive finite quantity (seconds, budgets, scale factors)
POSITIVE = Float(0.0, min_open=True)
#: a finite quantity that may be zero (seconds to wait, where 0 means not at all)
NON_NEGATIVE = Float(0.0)
#: GPUs per scorer: a fraction shares one GPU; no node has more than 8 to give one actor
GPUS = Float(0.0, 8.0, min_open=True)
#: a store folder or URI (missing: created by writers, refused by readers; a file is never one)
STORE = Text("store")
#: an existing file (a benchmark sweep, a data file)
INPUT_FILE = Text("file")
#: an existing folder (a dataset root)
INPUT_DIR = Text("dir")
#: an existing file, folder or archive (a benchmark's official release)
INPUT_PATH = Text("path")
#: a file a command writes (its folder is made if missing; an unwritable one is refused up front, exit 1)
OUTPUT_FILE = Output()
#: a folder a command writes files into
OUTPUT_DIR = Output(file_okay=False, dir_okay=True)
#: any other free text (names, lists): see :func:`require_text`
TEXT = Text()

#: every type above, for the harness that checks each parameter has one of them
SHARED_TYPES = (Int, Float, Text, Path, Choice)  # Output is a Path


def require_text(command: click.Command) -> click.Command:
    """Give every plain-string (or plain click Path) parameter of ``command`` and its subcommands a non-empty type.

    Called once on the whole application, so a string option added later rejects an empty value without
    anyone remembering to; a parameter that declares its own type keeps it.
    """
    for param in command.params:
        if type(param.type) is click.types.StringParamType:
            param.type = TEXT
        elif type(param.type) is click.Path:
            param.type = Path.like(param.type)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            require_text(sub)
    return command


__all__ = ["BATCH_SIZE", "CLASSES", "COUNT", "DIGITS", "EPOCHS", "GPUS", "INPUT_DIR", "INPUT_FILE", "INPUT_PATH",
           "INT64_MAX", "NON_NEGATIVE", "OUTPUT_DIR", "OUTPUT_FILE", "POSITIVE", "RESAMPLES", "SEED", "SHARED_TYPES", "STORE", "TEXT",
           "WORKERS", "Output", "Choice", "Float", "Int", "Path", "Text", "require_text"]
