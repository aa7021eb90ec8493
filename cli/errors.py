"""How the CLI reports failures: one line on stderr, exit code 2 for bad input, 1 for the environment.

Click's own usage errors print the usage block first; scripts and users asked for one clear line,
so every bad-input path (ours and click's) is funnelled through :func:`run_cli`. A group called with
nothing after it (``naswot-ray`` alone) is not an error: it prints its help and exits 0.
"""

from __future__ import annotations

import sys

import click

from naswot_ray.errors import EnvironmentProblem, InputError

EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 1


def run_cli(group: click.Group, args: list[str] | None = None) -> None:
    try:
        group.main(args=args, prog_name="naswot-ray", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
    except InputError as exc:
        _fail(str(exc))
    except EnvironmentProblem as exc:
        _fail(str(exc), EXIT_ENVIRONMENT)
    except click.UsageError as exc:
        _fail(exc.format_message())
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted: rows scored so far are in the store; rerun the same command to resume", err=True)
        sys.exit(130)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"error: {message.splitlines()[0] if message else 'bad input'}", err=True)
    sys.exit(code)
