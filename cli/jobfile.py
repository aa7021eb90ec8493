"""``score-all --config job.yaml``: every option of a command from a (commented) YAML file.

Keys are the command's long flags without the dashes (``batch-size: 64``; ``batch_size`` works too), so a
job file reads like the command line it replaces and needs no second vocabulary. The file fills click's
``default_map``: values go through each option's own type check, and any flag given on the command line
overrides the file. Lists may be written as YAML lists (``metrics: [naswot, params]``,
``indices: [1, 5, 9]``), repeatable options as lists or mappings (``space-option: {stem_channels: 16}``,
``metric-option: {swap: {repeats: 8}}``). An unknown key, a file that is not a mapping, or unreadable YAML
is one line naming it and the valid keys (exit 2), before anything runs. ``examples/job.yaml`` lists every
key of ``score-all`` with a comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from naswot_ray.errors import InputError


def config_option(command: click.Command) -> click.Command:
    """Decorator: add ``--config FILE`` to a click command (processed first, before every other option)."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), is_eager=True, expose_value=False,
        callback=_apply, metavar="FILE",
        help="Take options from this YAML job file (keys are the flags without dashes; flags given here "
             "override it). examples/job.yaml lists every key.")(command)


def _apply(ctx: click.Context, _param: click.Parameter, path: str | None) -> None:
    if path is None:
        return
    values = default_map_from(ctx.command, load_job_file(Path(path)), source=path)
    ctx.default_map = {**(ctx.default_map or {}), **values}


def load_job_file(path: Path) -> Mapping[str, object]:
    """The YAML mapping in ``path`` (one-line InputError when missing, unreadable or not a mapping)."""
    import yaml

    if not path.is_file():
        raise InputError(f"job file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"cannot read job file {str(path)!r}: {' '.join(first[:2]) if first else type(exc).__name__}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InputError(f"job file {str(path)!r} must be a mapping of option: value, got a {type(data).__name__}")
    return data


def job_file_keys(command: click.Command) -> dict[str, click.Option]:
    """Every key a job file of ``command`` may use (flag spelling and underscore spelling) -> its option."""
    keys: dict[str, click.Option] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in (None, "config_path") or param.is_eager:
            continue
        for flag in [*param.opts, *param.secondary_opts]:
            if flag.startswith("--"):
                keys.setdefault(flag[2:], param)
                keys.setdefault(flag[2:].replace("-", "_"), param)
    return keys


def default_map_from(command: click.Command, data: Mapping[str, object], *, source: str) -> dict[str, object]:
    """Job-file entries as click ``default_map`` values keyed by parameter name."""
    keys = job_file_keys(command)
    flags = sorted({k for k in keys if "_" not in k or k.replace("_", "-") not in keys})
    out: dict[str, object] = {}
    for key, value in data.items():
        option = keys.get(str(key))
        if option is None:
            raise InputError(f"unknown key {key!r} in job file {source!r}; valid keys: {', '.join(flags)}")
        if value is None:
            continue
        if option.secondary_opts and str(key).lstrip("-").replace("_", "-") in [o[2:] for o in option.secondary_opts]:
            value = not _boolean(value, key, source)  # --no-channels-last: false means channels last
        out[option.name] = _value(option, value, str(key), source)  # type: ignore[index]
    return out


def _value(option: click.Option, value: object, key: str, source: str) -> object:
    if option.multiple:
        if isinstance(value, Mapping):
            return _assignments(value)
        if isinstance(value, (list, tuple)):
            return [str(item) for item in value]
        return [str(value)]
    if option.is_flag:
        return _boolean(value, key, source)
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    if isinstance(value, Mapping):
        raise InputError(f"bad value for {key!r} in job file {source!r}: expected a single value or a list, got a mapping")
    return value


def _assignments(value: Mapping) -> list[str]:
    """``{stem_channels: 16}`` -> ``["stem_channels=16"]``; ``{swap: {repeats: 8}}`` -> ``["swap.repeats=8"]``."""
    out: list[str] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            out += [f"{key}.{inner}={setting}" for inner, setting in item.items()]
        else:
            out.append(f"{key}={item}")
    return out


def _boolean(value: object, key: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InputError(f"bad value {value!r} for {key!r} in job file {source!r}; expected true or false")


__all__ = ["config_option", "default_map_from", "job_file_keys", "load_job_file"]
