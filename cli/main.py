"""The ``naswot-ray`` command group. Each command lives in its own module and registers here.

Once every command is registered, :func:`require_text` gives each free-text parameter the shared
non-empty type (see :mod:`naswot_ray.cli.types`).
"""

from __future__ import annotations

import click

import naswot_ray
from naswot_ray.cli.analyze import analyze_command
from naswot_ray.cli.errors import run_cli
from naswot_ray.cli.export import export_command
from naswot_ray.cli.import_benchmark import import_benchmark_command
from naswot_ray.cli.listing import metrics_command, spaces_command
from naswot_ray.cli.rerun import rerun_command
from naswot_ray.cli.score import score_all_command
from naswot_ray.cli.search import search_command
from naswot_ray.cli.types import require_text
from naswot_ray.cli.store import store_group


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(naswot_ray.__version__, prog_name="naswot-ray")
def app() -> None:
    """Score neural architectures without training, over whole NAS benchmark spaces, on Ray."""


app.add_command(score_all_command)
app.add_command(export_command)
app.add_command(spaces_command)
app.add_command(metrics_command)
app.add_command(import_benchmark_command)
app.add_command(analyze_command)
app.add_command(search_command)
app.add_command(store_group)
app.add_command(rerun_command)
require_text(app)


def main(args: list[str] | None = None) -> None:
    run_cli(app, args)


if __name__ == "__main__":
    main()
