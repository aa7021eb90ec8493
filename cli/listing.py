"""``naswot-ray spaces`` and ``naswot-ray metrics``: what exists, one line each, from the registries.

``spaces`` is a group so that ``naswot-ray spaces build NAME`` (:mod:`cli.spaces_build`) sits under it while
plain ``naswot-ray spaces`` still lists.
"""

from __future__ import annotations

import click

from naswot_ray.cli.spaces_build import build_command
from naswot_ray.metrics import get_metric, metric_names
from naswot_ray.spaces import SPACES, get_space, space_names


@click.group("spaces", invoke_without_command=True)
@click.pass_context
def spaces_command(ctx: click.Context) -> None:
    """List the search spaces (name, size, description), one line each; `spaces build NAME` prepares one."""
    if ctx.invoked_subcommand is not None:
        return
    for name in space_names():
        aliases = SPACES.aliases_of(name)
        line = get_space(name).describe()
        click.echo(line + (f" (alias: {', '.join(aliases)})" if aliases else ""))


spaces_command.add_command(build_command)


@click.command("metrics")
def metrics_command() -> None:
    """List the metrics (name, what it computes, which way is better), one line each."""
    for name in metric_names():
        click.echo(get_metric(name).describe())
