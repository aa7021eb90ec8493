"""``import naswot_ray as nr``: the documented names exist, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import naswot_ray as nr

DOCUMENTED = ["score", "score_space", "rerun", "load_scores", "correlations", "list_spaces", "list_metrics", "get_space",
              "Batch", "SearchSpace", "Metric", "MetricNeeds", "ScoringContext", "NetworkParts", "Option",
              "register_space", "register_metric", "InputError", "ScoringFailed"]


def test_every_documented_name_resolves_and_is_listed() -> None:
    assert set(DOCUMENTED) <= set(nr.__all__) and set(nr.__all__) <= set(dir(nr))
    for name in nr.__all__:
        assert getattr(nr, name) is not None
        if name != "__version__":
            assert name in (nr.__doc__ or "") or name in ("ScoringFailed", "InputError"), name
    assert nr.Batch.from_images is not None and callable(nr.score)
    with pytest.raises(AttributeError, match="module 'naswot_ray' has no attribute 'scores'"):
        nr.scores  # noqa: B018


def test_importing_the_package_loads_neither_torch_nor_ray() -> None:
    code = ("import sys, naswot_ray; heavy = [m for m in ('torch', 'ray', 'pandas', 'duckdb', 'pyarrow') "
            "if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
