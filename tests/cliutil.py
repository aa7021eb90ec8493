"""Running the CLI inside the test process (fast: no interpreter start, no torch re-import)."""

from __future__ import annotations


def run_inprocess(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``naswot-ray ARGS`` through the real entry point; returns (exit code, stdout, stderr)."""
    from naswot_ray.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
