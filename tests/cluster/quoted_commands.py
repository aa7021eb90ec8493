"""Find the shell commands quoted in the cluster files and check them against the real CLIs.

Why: the how-to, the launcher YAMLs, the KubeRay manifests and the Dockerfile quote ``naswot-ray``
and ``ray`` command lines that people paste as they are, after an hour of cluster setup. A renamed or
invented option has to fail a test here, not their job.

Where commands are looked for:

- Markdown: every line of a fenced code block, and every inline code span.
- YAML: every string value of more than one word (launcher commands, RayJob entrypoints; one-word
  values are names and labels), Kubernetes ``command`` + ``args`` lists as one argv, and comment lines
  indented like code (``#   ray up ...``; prose comments start with a single space).
- Dockerfile: RUN, CMD and ENTRYPOINT (shell or exec form), and comment lines indented like code.

Each snippet is split into shell simple commands (``;``, ``&&``, ``|``, ... separate them; leading
``NAME=value`` assignments, ``if``/``then`` and wrappers such as ``env`` or ``timeout N`` are skipped),
and ``bash -c SCRIPT``, ``ray exec CONFIG CMD`` and ``ray job submit ... -- ENTRYPOINT`` are looked
into. Commands whose program is ``naswot-ray`` or ``ray`` are parsed by the real click applications
without running them. Inline spans may be incomplete mentions (``ray up`` without its config file):
a missing argument is allowed there; an unknown command or option, or a bad value, never is.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import click
import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"

CHECKED_PROGRAMS = ("naswot-ray", "ray")
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console", "zsh"}
SHELL_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}"}
PLAIN_WRAPPERS = {"exec", "nohup", "time", "sudo", "command"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
OPTION_WORD = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
PROGRAM_WORD = re.compile(r"(?<![\w.-])(naswot-ray|ray)(?![\w.-])")
#: options whose values name files on the cluster; a local dry run cannot see those files
CLUSTER_FILE_OPTIONS = ("--nds-data", "--data-root")


class CommandError(AssertionError):
    """A quoted command that the real CLI would reject."""


@dataclass(frozen=True)
class Quoted:
    """One simple command quoted somewhere: where, its words (program first), whether it is complete."""

    source: str
    argv: tuple[str, ...]
    complete: bool = True

    @property
    def program(self) -> str:
        return os.path.basename(self.argv[0]) if self.argv else ""

    def __str__(self) -> str:
        return f"{self.source}: {shlex.join(self.argv)}"


# -- finding commands ---------------------------------------------------------------------------

def simple_commands(text: str) -> list[list[str]]:
    """The shell simple commands of ``text`` (one logical line), as word lists, redirections removed."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = []
    current: list[str] = []
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if token and set(token) <= set(";&|()"):
            if current:
                commands.append(current)
            current = []
        elif token[0] in "<>":
            if current and current[-1].isdigit():
                current.pop()  # the file descriptor of "2>&1"
            skip_next = True  # the redirection's target
        else:
            current.append(token)
    if current:
        commands.append(current)
    return commands


def unwrap(words: list[str]) -> list[str]:
    """Drop what precedes the program: shell keywords, NAME=value assignments, env/timeout/exec wrappers."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in SHELL_KEYWORDS or word in PLAIN_WRAPPERS or ASSIGNMENT.match(word):
            i += 1
        elif word == "env":
            i += 1
            while i < len(words) and (ASSIGNMENT.match(words[i]) or words[i].startswith("-")):
                i += 1
        elif word == "timeout":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 1
            i += 1  # the duration
        else:
            break
    return words[i:]


def commands_in_shell(text: str, source: str, *, complete: bool = True) -> list[Quoted]:
    """Every simple command in a shell snippet, including those nested in bash -c, ray exec, ray job submit."""
    found: list[Quoted] = []
    for line in _logical_lines(text):
        try:
            commands = simple_commands(line)
        except ValueError as exc:  # unbalanced quotes
            if PROGRAM_WORD.search(line):
                raise CommandError(f"{source}: cannot split {line!r} like a shell would ({exc})") from None
            continue
        for words in commands:
            found.extend(_expand(unwrap(words), source, complete))
    return found


def _expand(argv: list[str], source: str, complete: bool) -> list[Quoted]:
    if not argv:
        return []
    found = [Quoted(source, tuple(argv), complete)]
    program = os.path.basename(argv[0])
    if program in ("bash", "sh", "zsh"):
        flags = [i for i, w in enumerate(argv[1:-1], start=1) if w.startswith("-") and "c" in w and not w.startswith("--")]
        if flags:
            found += commands_in_shell(argv[flags[0] + 1], source, complete=complete)
    elif program == "ray" and argv[1:3] == ["job", "submit"] and "--" in argv:
        found += _expand(unwrap(argv[argv.index("--") + 1:]), source, complete)
    elif program == "ray" and len(argv) > 3 and argv[1] == "exec" and not argv[-1].startswith("-"):
        found += commands_in_shell(argv[-1], source, complete=complete)
    return found


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with backslash-newline continuations joined and a leading ``$ `` prompt removed."""
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line:
            yield line


def commands_in_markdown(text: str, name: str) -> list[Quoted]:
    """Commands in fenced blocks (complete) and inline code spans (may be incomplete mentions)."""
    found: list[Quoted] = []
    block: list[tuple[int, str]] | None = None
    language = ""
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if block is None and fence:
            block, language = [], fence.group(2).lower()
            continue
        if block is not None:
            if fence:
                found += _block_commands(block, language, name)
                block = None
            else:
                block.append((number, line))
            continue
        for span in INLINE_CODE.findall(line):
            found += commands_in_shell(span, f"{name}:{number}", complete=False)
    if block is not None:
        raise CommandError(f"{name}: a code block is never closed")
    return found


def _block_commands(block: list[tuple[int, str]], language: str, name: str) -> list[Quoted]:
    found: list[Quoted] = []
    start, pending = None, ""
    for number, line in block:
        start = number if not pending else start
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical, pending = pending + line, ""
        if language in SHELL_LANGUAGES:
            found += commands_in_shell(logical, f"{name}:{start}")
        else:
            # Not a shell block (yaml, text, ...): a naswot-ray command in it still gets checked,
            # from the program name to the end of the line.
            match = re.search(r"(?<![\w./-])naswot-ray(?![\w./:-])", logical)
            if match:
                found += commands_in_shell(logical[match.start():], f"{name}:{start}")
    return found


def _code_comments(text: str, name: str) -> list[Quoted]:
    """Comment lines written as code examples: ``#`` followed by at least two spaces."""
    found: list[Quoted] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#  ") and stripped[1:].strip():
            found += commands_in_shell(stripped[1:], f"{name}:{number}")
    return found


def commands_in_yaml(text: str, name: str) -> list[Quoted]:
    """Commands in string values, Kubernetes command/args lists, and code-like comment lines."""
    found: list[Quoted] = []
    for document in yaml.compose_all(text):
        found += _yaml_node_commands(document, name)
    return found + _code_comments(text, name)


def _yaml_node_commands(node, name: str) -> list[Quoted]:
    found: list[Quoted] = []
    if isinstance(node, yaml.MappingNode):
        fields = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
        argv_keys: tuple[str, ...] = ()
        if isinstance(fields.get("command"), yaml.SequenceNode):
            # A container's command + args: one argv list, not shell lines.
            argv_keys = ("command", "args")
            argv = [item.value for key in argv_keys if isinstance(fields.get(key), yaml.SequenceNode)
                    for item in fields[key].value if isinstance(item, yaml.ScalarNode)]
            found += _expand(unwrap(argv), f"{name}:{node.start_mark.line + 1}", True)
        for key, value in node.value:
            if key.value not in argv_keys:
                found += _yaml_node_commands(value, name)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _yaml_node_commands(item, name)
    elif isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str" and len(node.value.split()) > 1:
        found += commands_in_shell(node.value, f"{name}:{node.start_mark.line + 1}")
    return found


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    arguments: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comment lines dropped."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical, pending = pending + stripped, ""
        keyword, _, arguments = logical.partition(" ")
        out.append(Instruction(start, keyword.upper(), arguments.strip()))
    if pending:
        raise CommandError("Dockerfile ends inside a continued instruction")
    return out


def exec_form(arguments: str) -> list[str] | None:
    """The word list of a JSON exec-form argument (``["a", "b"]``), or None for the shell form."""
    if not arguments.startswith("["):
        return None
    words = json.loads(arguments)
    if not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
        raise CommandError(f"exec form must be a JSON list of strings: {arguments}")
    return words


def commands_in_dockerfile(text: str, name: str) -> list[Quoted]:
    found: list[Quoted] = []
    for ins in dockerfile_instructions(text):
        if ins.keyword not in ("RUN", "CMD", "ENTRYPOINT"):
            continue
        source = f"{name}:{ins.line}"
        words = exec_form(ins.arguments)
        found += commands_in_shell(ins.arguments, source) if words is None else _expand(unwrap(words), source, True)
    return found + _code_comments(text, name)


def cluster_files() -> list[Path]:
    """Every file of cluster/ that quotes commands (new ones are picked up by name)."""
    files = sorted(CLUSTER.rglob("*.md")) + sorted(CLUSTER.rglob("*.yaml")) + sorted(CLUSTER.rglob("*.yml"))
    return files + sorted(CLUSTER.rglob("Dockerfile*"))


def commands_in_file(path: Path) -> list[Quoted]:
    text = path.read_text()
    name = str(path.relative_to(REPO))
    if path.suffix == ".md":
        return commands_in_markdown(text, name)
    if path.suffix in (".yaml", ".yml"):
        return commands_in_yaml(text, name)
    if path.name.startswith("Dockerfile"):
        return commands_in_dockerfile(text, name)
    raise ValueError(f"no command finder for {name}")


def option_mentions(text: str, name: str) -> list[tuple[str, str]]:
    """Options named on their own in Markdown prose or in a code span that starts with an option."""
    mentions: list[tuple[str, str]] = []
    in_block = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            in_block = not in_block
            continue
        if in_block:
            continue
        for span in INLINE_CODE.findall(line):
            if span.lstrip().startswith("--"):
                mentions += [(f"{name}:{number}", w) for w in OPTION_WORD.findall(span)]
        prose = INLINE_CODE.sub(" ", line)
        mentions += [(f"{name}:{number}", w) for w in OPTION_WORD.findall(prose)]
    return mentions


SCRIPT_PATH = re.compile(r"(?<![\w/.-])((?:scripts|benchmarks)/[\w-]+\.py)")
QUOTED_OPTION = re.compile(r"""["'](--[A-Za-z][\w-]*)["']""")


def script_options(paragraph: str) -> set[str]:
    """Options that the repository scripts named in ``paragraph`` declare (quoted strings in their source).

    Prose about ``scripts/ensemble_tables.py`` may name that script's own options; they are checked against
    the script, not against naswot-ray's commands. A named script that does not exist fails the check.
    """
    options: set[str] = set()
    for script in SCRIPT_PATH.findall(paragraph):
        path = REPO / script
        if not path.is_file():
            raise CommandError(f"names {script}, which does not exist")
        options |= set(QUOTED_OPTION.findall(path.read_text()))
    return options


def paragraph_at(lines: list[str], number: int) -> str:
    """The blank-line-delimited paragraph holding 1-based line ``number``."""
    start = end = number - 1
    while start > 0 and lines[start - 1].strip():
        start -= 1
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    return "\n".join(lines[start : end + 1])


def unknown_option_mentions(text: str, name: str) -> list[str]:
    """``source: option`` for every option named on its own in ``text`` that neither a naswot-ray command
    nor a script named in the same paragraph has."""
    known = all_naswot_options()
    lines = text.splitlines()
    return sorted({f"{where}: {option}" for where, option in option_mentions(text, name)
                   if option not in known
                   and option not in script_options(paragraph_at(lines, int(where.rsplit(":", 1)[1])))})


# -- checking commands --------------------------------------------------------------------------

def naswot_app() -> click.Group:
    from naswot_ray.cli.main import app

    return app


def ray_app() -> click.Group:
    from ray.scripts.scripts import cli

    return cli


def parse(group: click.Group, argv: tuple[str, ...], *, complete: bool) -> click.Context | None:
    """Parse ``argv`` down the command tree exactly as click does before invoking, invoking nothing.

    Returns the innermost context, or None when parsing stopped early in an accepted way (``--help``,
    ``--version``, or an incomplete inline mention).
    """
    try:
        ctx = group.make_context(argv[0], list(argv[1:]))
        command: click.Command = group
        while isinstance(command, click.Group):
            pending = ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args
            rest = [*pending, *ctx.args]
            if not rest:
                if command.invoke_without_command:  # a group that also runs alone (``spaces --details NAME``)
                    return ctx
                if complete:
                    raise click.UsageError("missing subcommand", ctx=ctx)
                return None
            name, command, rest = command.resolve_command(ctx, rest)
            ctx = command.make_context(name, rest, parent=ctx)
        return ctx
    except click.exceptions.Exit as exc:
        if exc.exit_code == 0:
            return None
        raise CommandError(f"exits with status {exc.exit_code}") from None
    except click.exceptions.NoArgsIsHelpError:
        return None  # a group alone prints its help (naswot-ray's run_cli exits 0 there)
    except click.MissingParameter:
        if complete:
            raise
        return None


def all_naswot_options() -> set[str]:
    """Every option name of every naswot-ray command (``--store``, ``--no-progress``, ...)."""
    names: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            if isinstance(param, click.Option):
                names.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(naswot_app())
    return names


def check(quoted: Quoted) -> click.Context | None:
    """Raise CommandError unless the real CLI accepts ``quoted``; returns the parsed leaf context."""
    group = naswot_app() if quoted.program == "naswot-ray" else ray_app()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ctx = parse(group, quoted.argv, complete=quoted.complete)
            if ctx is not None and quoted.program == "naswot-ray":
                _check_naswot_values(ctx)
    except click.ClickException as exc:
        raise CommandError(f"{quoted}\n  rejected by {quoted.program}: {exc.format_message()}") from None
    except CommandError as exc:
        raise CommandError(f"{quoted}\n  {exc}") from None
    except Exception as exc:  # noqa: BLE001 - InputError and friends: the value is wrong
        raise CommandError(f"{quoted}\n  rejected: {type(exc).__name__}: {exc}") from None
    return ctx


def _check_naswot_values(ctx: click.Context) -> None:
    """Names the parser cannot judge (spaces, metrics) must exist in the registries."""
    from naswot_ray.metrics import get_metric, parse_metric_list
    from naswot_ray.spaces import get_space

    params = ctx.params
    if params.get("space"):
        get_space(params["space"])
    if params.get("metrics_text"):
        parse_metric_list(params["metrics_text"])
    if params.get("metric"):
        from naswot_ray.ensembles import is_ensemble, parse_spec

        metric = params["metric"]  # a metric, a stored variant of one (naswot[clean]) or an ensemble
        parse_spec(metric) if is_ensemble(metric) else get_metric(metric.partition("[")[0])


def needs_cluster_files(argv: tuple[str, ...]) -> bool:
    """True when the command names files that exist only on the cluster (NDS JSON, data roots, npz)."""
    words = list(argv)
    if any(w.split("=")[0] in CLUSTER_FILE_OPTIONS for w in words):
        return True
    datasets = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--dataset"]
    datasets += [w.split("=", 1)[1] for w in words if w.startswith("--dataset=")]
    return any(d.startswith("npz:") or d == "imagenet16-120" for d in datasets)


def dry_run_score_all(argv: tuple[str, ...]):
    """Run the real ``score-all`` command up to the engine call, which is replaced; returns the ScoreJob.

    Everything the command does before scoring runs for real: option parsing, the space and metric
    registries, ScoreJob.validate (open-ended spaces need --limit or --indices, modes, BN modes, the
    batch request). ``ray.init`` is made to fail so that nothing can start or join a cluster.
    """
    import ray

    import naswot_ray.engine.driver as driver

    jobs: list = []

    class _Summary:
        def lines(self) -> list[str]:
            return []

    def fake_run(job, **_kwargs):
        jobs.append(job)
        return _Summary()

    def no_ray(*_args, **_kwargs):
        raise AssertionError("a dry run must not start or join Ray")

    patches = [mock.patch.object(driver, "run_score_all", fake_run), mock.patch.object(ray, "init", no_ray)]
    import naswot_ray.cli.score as score_module

    if hasattr(score_module, "run_score_all"):  # should the CLI ever import it at module level
        patches.append(mock.patch.object(score_module, "run_score_all", fake_run))
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        try:
            naswot_app().main(args=list(argv[1:]), prog_name="naswot-ray", standalone_mode=False)
        except Exception as exc:  # noqa: BLE001 - report which quoted command and why
            raise CommandError(f"{shlex.join(argv)}\n  score-all rejects it: {type(exc).__name__}: {exc}") from None
    if len(jobs) != 1:
        raise CommandError(f"{shlex.join(argv)}\n  score-all never reached the engine")
    return jobs[0]
