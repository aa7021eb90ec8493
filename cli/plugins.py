"""``--plugin MODULE``: import modules that register spaces or metrics before a command looks any up.

The option's callback imports the modules while click parses the command line, so by the time the
command's body asks the registries for ``--space`` or ``--metrics``, a plugin's names are there. A module
that fails to import is one line naming it and its error (exit 2). Commands that start a run also pass the
list on in the job (``ScoreJob.plugins``), so every Ray worker imports the same modules.
"""

from __future__ import annotations

import click


def _load(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from naswot_ray import plugins

    plugins.load(value)
    return value


plugin_option = click.option(
    "--plugin", "plugin_modules", multiple=True, metavar="MODULE", callback=_load,
    help="Import MODULE first: a module on the path that registers spaces or metrics (repeatable; installed "
         "plugins load by themselves).")
