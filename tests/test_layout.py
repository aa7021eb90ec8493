"""The layout says what each part is: the library imports only under ``naswot_ray``.

``cli/`` and ``analysis/`` are installed as ``naswot_ray.cli`` / ``naswot_ray.analysis`` (setup.py);
an import of a bare ``cli`` or ``analysis`` works inside the checkout (the current directory is on
``sys.path``) but breaks for every user who installed the package, so it is caught here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("naswot_ray", "cli", "analysis", "tests", "benchmarks", "scripts", "examples")
                 for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)
FORBIDDEN = {"cli", "analysis"}


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bare_cli_or_analysis_imports(path: Path) -> None:
    bad = _top_level_imports(path) & FORBIDDEN
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}; use naswot_ray.cli / naswot_ray.analysis"


def test_cli_and_analysis_install_under_the_package_namespace() -> None:
    import naswot_ray.analysis.stats
    import naswot_ray.cli.main

    assert Path(naswot_ray.cli.main.__file__).resolve() == ROOT / "cli" / "main.py"
    assert Path(naswot_ray.analysis.stats.__file__).resolve() == ROOT / "analysis" / "stats.py"
