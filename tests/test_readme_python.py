"""The README's Python snippets run as written ("Python API" and "Your own space or metric").

Each ```python block of those two sections is run the way ``python snippet.py`` runs a script (runpy,
``__main__``), in an empty working directory, so its classes are script classes that Ray must ship by value.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from naswot_ray.metrics import METRICS
from naswot_ray.store import Store
from tests.pluginutil import ray_on_path

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = ("Python API", "Your own space or metric")


def snippets(section: str) -> list[str]:
    text = README.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


def test_both_sections_have_a_snippet() -> None:
    assert all(len(snippets(section)) == 1 for section in SECTIONS)


@pytest.fixture(scope="module")
def shared_ray():
    """One local Ray for both snippets (score_space joins a running Ray instead of starting its own)."""
    with ray_on_path():
        yield


@pytest.mark.ray
@pytest.mark.parametrize("section", SECTIONS)
def test_the_snippet_runs(shared_ray, section: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "snippet.py"
    script.write_text(snippets(section)[0])
    METRICS.load()  # built-ins first, so only what the snippet registers is forgotten afterwards
    before = set(METRICS.registered())
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        for name in set(METRICS.registered()) - before:
            METRICS.remove(name)
    out = capsys.readouterr().out
    rows = Store(str(tmp_path / "demo-store")).read("scores").to_pylist()
    assert rows and {r["status"] for r in rows} == {"ok"}
    if section == "Python API":
        assert "'naswot':" in out and "'params': 11689512.0" in out and len(rows) == 16
    else:
        assert {r["space"] for r in rows} == {"width_demo"} and len(rows) == 8
        assert "'weight_l2':" in out
