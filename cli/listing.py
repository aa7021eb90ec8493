"""``naswot-ray spaces`` and ``naswot-ray metrics``: what exists, one line each, from the registries."""

from __future__ import annotations

import click

from naswot_ray.metrics import get_metric, metric_names
from naswot_ray.spaces import SPACES, get_space, space_names


@click.command("spaces")
def spaces_command() -> None:
    """List the search spaces (name, size, description), one line each."""
    for name in space_names():
        aliases = SPACES.aliases_of(name)
        line = get_space(name).describe()
        click.echo(line + (f" (alias: {', '.join(aliases)})" if aliases else ""))


@click.command("metrics")
def metrics_command() -> None:
    """List the metrics (name, what it computes, which way is better), one line each."""
    for name in metric_names():
        click.echo(get_metric(name).describe())
