"""``benchmarks/gpu_check.py --cpu-smoke`` runs where Ray and DuckDB cannot be imported (issue 16, item 5).

The GPU machine it is written for has PyTorch, numpy, pandas, pyarrow, scipy, click and tqdm only, and
runs it from a checkout with ``PYTHONPATH=.``. Here a ``sitecustomize`` placed first on the path makes
``ray`` and ``duckdb`` (and the other packages that machine lacks) unimportable in the script and in
every scorer process it spawns.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("ray", "duckdb", "torchvision", "matplotlib", "yaml")

SITECUSTOMIZE = f'''
import importlib.abc, sys

class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not on the GPU machine)")
        return None

sys.meta_path.insert(0, _Blocked())
'''


def test_gpu_check_cpu_smoke_runs_without_ray_or_duckdb(tmp_path) -> None:
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}."}
    blocked = subprocess.run([sys.executable, "-c", "import ray"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert blocked.returncode != 0 and "blocked" in blocked.stderr
    done = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--cpu-smoke", "--guard", "400"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=450)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("[PASS]") == 4 and "[FAIL]" not in out, out
    assert "[PASS] neither Ray nor DuckDB was imported" in out
    assert "2 scorers, 4 cells" in out and "4 scorers, 4 cells" in out, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("gpu_check ok=True one_scorer_archs_per_s=") and "shared4_archs_per_s=nan" not in last
