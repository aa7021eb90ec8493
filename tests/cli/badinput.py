"""The bad-input harness's machinery: walk the command tree, derive bad values from each parameter's type,
run a case, and judge it by the bar (exit code, one line on stderr, no traceback, nothing written).

Why derive from types: a case list written by hand covers the options someone remembered. Walking
``naswot_ray.cli.main.app`` covers every option of every (sub)command, including ones added later, and
:func:`bad_values` refuses a parameter whose type it does not know, so a new option either uses a shared
type from :mod:`naswot_ray.cli.types` (whose domain says what is bad) or fails the harness by name.

Cases run in process (click's runner through the real entry point, :func:`run_case`); hang and Ray cases,
which need a real process and a time bound, run through :func:`run_process_case`.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from naswot_ray.cli import types as shared

#: files the harness's working folder holds for path cases (created by the test module's fixture)
A_DIRECTORY = "a-directory"
A_FILE = "a-file.txt"
MISSING = "no-such-dir/no-such-file"


#: what is wrong for each role of a text parameter (see naswot_ray.cli.types.Text)
ROLE_VALUES = {"file": [MISSING, A_DIRECTORY], "dir": [MISSING, A_FILE], "path": [MISSING], "store": [A_FILE]}
#: what the error line must say about each of those values (any one of the phrases): the right reason
PATH_PHRASES = {MISSING: ("does not exist", "not found", "no such"),
                A_DIRECTORY: ("is a directory", "not a file"),
                A_FILE: ("is a file", "not a directory", "not a folder")}


@dataclass(frozen=True)
class Site:
    """One parameter of one command: where bad values are fed."""

    path: tuple[str, ...]
    command: click.Command
    param: click.Parameter

    @property
    def label(self) -> str:
        name = self.param.opts[0] if isinstance(self.param, click.Option) else self.param.human_readable_name
        return " ".join([*self.path, name])

    @property
    def names(self) -> list[str]:
        """What an error line may call this parameter by."""
        names = [o for o in [*self.param.opts, *getattr(self.param, "secondary_opts", [])] if o.startswith("-")]
        if isinstance(self.param, click.Argument):
            names += [self.param.human_readable_name, (self.param.name or "").upper()]
        return [n for n in names if n]


def walk(group: click.Command, path: tuple[str, ...] = ()) -> Iterator[Site]:
    """Every parameter of every command and subcommand, depth first."""
    for param in group.params:
        yield Site(path, group, param)
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from walk(command, (*path, name))


def commands(group: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, group
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from commands(command, (*path, name))


class UnknownType(AssertionError):
    """A parameter whose type the harness cannot derive bad values for."""


def takes_no_value(param: click.Parameter) -> bool:
    """Flags (``--dedupe``, ``--live``) take no value, so no value can be bad."""
    return isinstance(param, click.Option) and (param.is_flag or param.count)


def bad_values(param: click.Parameter) -> list[str]:
    """Values just outside the domain of ``param``'s type (every one must be refused with exit 2)."""
    kind = param.type
    if takes_no_value(param):
        return []
    if isinstance(kind, shared.Int):
        values = ["abc", "1.5", "", str(kind.min - 1), str(kind.max + 1)]
        return values + ([str(2**64)] if kind.max + 1 != 2**64 else [])
    if isinstance(kind, shared.Float):
        values = ["abc", "", "nan", "inf", "-inf", "1e999"]
        if kind.min is not None:
            values += [repr(kind.min)] if kind.min_open else []
            values.append(repr(kind.min - 1))
        if kind.max is not None:
            values += [repr(kind.max)] if kind.max_open else []
            values.append(repr(kind.max * 2 + 1))
        return values
    if isinstance(kind, click.Choice):
        return ["no-such-choice", ""]
    if isinstance(kind, shared.Path):
        values = ["", "   "]
        if not kind.dir_okay:
            values.append(A_DIRECTORY)
        if not kind.file_okay:
            values.append(A_FILE)
        if kind.exists:
            values.append(MISSING)
        if isinstance(kind, shared.Output):
            values.append(f"{A_FILE}/inside")  # a folder that cannot be made: a file is in the way
        return values
    if isinstance(kind, shared.Text):
        return ["", "   ", *ROLE_VALUES.get(kind.role, [])]
    raise UnknownType(f"{param.name!r} has type {kind!r}, which the bad-input harness cannot derive bad values for; "
                      "give it a type from naswot_ray.cli.types (or teach tests/cli/badinput.py the new type)")


@dataclass(frozen=True)
class Base:
    """A valid command line for one command: its positional arguments and options (bad values replace one)."""

    arguments: dict[str, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    #: options that only apply in another setting (``--nds-data`` needs an NDS space): option -> the options
    #: to use instead of ``options``, so the bad value is refused for itself and not as out of place
    settings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def argv(self, path: tuple[str, ...], site: Site | None = None, value: str | None = None) -> list[str]:
        """The command line with ``site`` set to ``value`` (an option goes first, so click checks it first)."""
        arguments = dict(self.arguments)
        opt = site.param.opts[0] if site is not None and site.param.opts else ""
        options = list(self.settings.get(opt, self.options))
        bad: list[str] = []
        if site is not None and isinstance(site.param, click.Argument):
            arguments[site.param.name] = value  # type: ignore[index]
        elif site is not None:
            for name in site.param.opts:
                while name in options:
                    i = options.index(name)
                    del options[i:i + 2]
            bad = [site.param.opts[0], value]  # type: ignore[list-item]
        return [*path, *bad, *arguments.values(), *options]


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    #: the traceback of an exception that escaped the entry point (the user would have seen it)
    crash: str = ""
    seconds: float = 0.0

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_case(argv: list[str]) -> Outcome:
    """``naswot-ray ARGV`` through the real entry point, in this process; stdout/stderr captured."""
    from naswot_ray.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code, crash = 0, ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - what escapes is exactly what the bar forbids
            code, crash = 1, traceback.format_exc()
    return Outcome(code, out.getvalue(), err.getvalue(), crash, time.perf_counter() - started)


def open_folder(prefix: str) -> Path:
    """A new folder in the system temporary folder that any user may enter (for :func:`read_only` as root)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@contextlib.contextmanager
def read_only(paths: list[Path]) -> Iterator[None]:
    """``paths`` (recursively) read-only for the duration; as root (which ignores modes) also drop to nobody.

    Every folder above ``paths`` must let other users in (``tempfile.mkdtemp`` + chmod 755, not pytest's
    ``tmp_path``, whose parents only root may enter).
    """
    touched = [p for root in paths for p in [root, *root.rglob("*")]]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in touched}
    for p in touched:
        p.chmod(modes[p] & ~0o222)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.setegid(65534)
            os.seteuid(65534)
        yield
    finally:
        if as_root:
            os.seteuid(0)
            os.setegid(0)
        for p in touched:
            p.chmod(modes[p])


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (folders as empty markers), to prove nothing was written."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        files[rel + ("/" if path.is_dir() else "")] = b"" if path.is_dir() else path.read_bytes()
    return files


def changes(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return [f"added {k}" for k in added] + [f"removed {k}" for k in removed] + [f"changed {k}" for k in changed]


def judge(outcome: Outcome, *, expect: int | tuple[int, ...], argv: list[str], names: list[str] = (),
          value: str | None = None, fragment: str | tuple[str, ...] | None = None, written: list[str] = ()) -> None:
    """Raise AssertionError unless ``outcome`` meets the bar for a refused command line."""
    shown = f"naswot-ray {shlex.join(argv)}"
    expected = expect if isinstance(expect, tuple) else (expect,)
    problems = []
    if outcome.crash:
        problems.append(f"escaped with a traceback:\n{outcome.crash}")
    if outcome.code not in expected:
        problems.append(f"exit code {outcome.code}, expected {' or '.join(map(str, expected))}")
    if "Traceback" in outcome.err or "Traceback" in outcome.out:
        problems.append("printed a traceback")
    if len(outcome.err_lines) > 1:
        problems.append(f"{len(outcome.err_lines)} lines on stderr, expected at most one")
    line = outcome.err_lines[0] if outcome.err_lines else ""
    if expected != (0,) and not outcome.crash:
        if not line.startswith("error: "):
            problems.append("no 'error: ...' line on stderr")
        named = [n for n in names if n in line] or ([value] if value and value.strip() and value in line else [])
        if (names or value) and not named:
            problems.append(f"the line names neither the parameter ({', '.join(names)}) nor the value {value!r}")
        fragments = (fragment,) if isinstance(fragment, str) else fragment or ()
        if fragments and not any(f.lower() in line.lower() for f in fragments):
            problems.append(f"the line does not say {' or '.join(map(repr, fragments))}")
    if written:
        problems.append("files written or changed: " + ", ".join(written[:8]))
    if problems:
        raise AssertionError(f"{shown}\n  stderr: {outcome.err.strip()[:2000]!r}\n  - " + "\n  - ".join(problems))


# -- cases that need a real process: hangs, Ray ----------------------------------------------------

@dataclass(frozen=True)
class ProcessCase:
    """A command that must end by itself within ``within`` seconds with exit code ``expect``."""

    id: str
    argv: tuple[str, ...]
    expect: int
    within: float
    #: who owns the fix while it is known to fail (None: must pass now)
    owner: str | None = None


def run_process_case(case: ProcessCase, cwd: Path) -> Outcome:
    """Run the case as ``python -m naswot_ray.cli.main`` in its own session; past its bound the whole session
    (the driver and any Ray it started) is killed, and the outcome says so with exit code -9."""
    from tests.procutil import kill_session

    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "naswot_ray.cli.main", *case.argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=case.within)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        kill_session(proc.pid)
        out, err = proc.communicate()
        code = -9
        err = f"(killed after {case.within:.0f} s: it did not end by itself)\n{err}"
    finally:
        kill_session(proc.pid)  # a Ray it started may outlive a clean exit for a moment
    return Outcome(code, out, err, "", time.perf_counter() - started)
