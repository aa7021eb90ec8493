"""``naswot-ray spaces`` and ``naswot-ray metrics``: what exists, from the registries, with where it comes from.

``spaces`` is a group so that ``naswot-ray spaces build NAME`` (:mod:`cli.spaces_build`) sits under it while
plain ``naswot-ray spaces`` still lists (one line per space) and ``spaces --details NAME`` shows one space's
declared options. ``metrics`` gives one line per metric, then indented lines with its version, legal
non-finite values, group and options. Both take ``--plugin`` modules and name installed plugins that failed
to import on stderr. The text comes from :mod:`naswot_ray.api.catalog`, shared with ``nr.list_spaces()``.
"""

from __future__ import annotations

import click

from naswot_ray.api.catalog import metric_detail_lines, metric_info, space_detail_lines, space_info
from naswot_ray.cli.plugins import plugin_option
from naswot_ray.cli.spaces_build import build_command
from naswot_ray.metrics import metric_names
from naswot_ray.spaces import space_names


@click.group("spaces", invoke_without_command=True)
@click.option("--details", "details_name", default=None, metavar="NAME",
              help="Show one space in full: where it comes from and its options (type, default, help).")
@plugin_option
@click.pass_context
def spaces_command(ctx: click.Context, details_name: str | None, plugin_modules: tuple[str, ...]) -> None:
    """List the search spaces (name, size, description), one line each; `spaces build NAME` prepares one."""
    if ctx.invoked_subcommand is not None:
        return
    if details_name is not None:
        for line in space_detail_lines(space_info(details_name)):
            click.echo(line)
        return
    for name in space_names():
        click.echo(space_info(name).line)
    _report_failures("space")


spaces_command.add_command(build_command)


@click.command("metrics")
@plugin_option
def metrics_command(plugin_modules: tuple[str, ...]) -> None:
    """List the metrics: what each computes and which way is better, then its version, legal non-finite
    values, group and options (indented)."""
    for name in metric_names():
        info = metric_info(name)
        click.echo(info.line)
        for line in metric_detail_lines(info):
            click.echo(line)
    _report_failures("metric")


def _report_failures(kind: str) -> None:
    from naswot_ray import plugins

    for failure in plugins.failures(kind):
        click.echo(f"warning: {failure.line()}", err=True)
