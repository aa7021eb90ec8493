"""``spaces`` / ``spaces --details NAME`` / ``metrics`` and their Python twins ``nr.list_spaces`` / ``nr.list_metrics``:
declared options, versions, legal non-finite values, groups and where each comes from."""

from __future__ import annotations

import pytest

import naswot_ray as nr
from naswot_ray.errors import InputError
from naswot_ray.metrics import metric_names
from naswot_ray.spaces import space_names
from tests.cliutil import run_inprocess


def test_spaces_details_lists_the_declared_options(capsys) -> None:
    code, out, err = run_inprocess(capsys, "spaces", "--details", "nasbench101")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("nb101: ") and lines[0].endswith("(alias: nasbench101)") and lines[1] == "    from: built in"
    assert "    option stem_channels (an integer, default 128): stem width (128 = NB101; 16 = the NASWOT setting)" in lines
    assert any(line.startswith("    option max_vertices (an integer, default 7; env NASWOT_RAY_NB101_MAX_VERTICES)")
               for line in lines)
    assert lines[-1].startswith("    set with: --space-option KEY=VALUE")
    code, out, _ = run_inprocess(capsys, "spaces", "--details", "nds_resnet")
    assert any(line.startswith("    option compat (one of nds, naswot, default nds)") for line in out.splitlines())


def test_spaces_details_of_an_unknown_space_is_one_line(capsys) -> None:
    code, out, err = run_inprocess(capsys, "spaces", "--details", "nb999")
    assert code == 2 and not out and err.startswith("error: unknown space 'nb999'; valid choices:")
    assert len(err.strip().splitlines()) == 1


def test_metrics_lists_version_nonfinite_values_group_and_options(capsys) -> None:
    code, out, _ = run_inprocess(capsys, "metrics")
    lines = out.splitlines()
    naswot = lines.index(next(line for line in lines if line.startswith("naswot:")))
    assert lines[naswot + 1] == "    version 1; legal non-finite values: -inf"
    params = lines.index(next(line for line in lines if line.startswith("params:")))
    assert lines[params + 1] == "    version 1; legal non-finite values: none"
    headers = [line.split(":", 1)[0] for line in lines if not line.startswith(" ")]
    assert headers == metric_names()


def test_python_twins_agree_with_the_commands() -> None:
    assert nr.list_spaces() == space_names() and nr.list_metrics() == metric_names()
    spaces = nr.list_spaces(details=True)
    nb101 = spaces.set_index("name").loc["nb101"]
    assert nb101["size"] == nr.get_space("nb101").size and nb101["origin"] == "built in" and nb101["options"] == ["stem_channels", "max_vertices"]
    metrics = nr.list_metrics(details=True).set_index("name")
    assert metrics.loc["naswot", "legal_nonfinite"] == ["-inf"] and metrics.loc["naswot", "modes"][0] == "reference"
    assert nr.get_space("nb201", model="samsung").options_key() == "model=samsung"
    with pytest.raises(InputError, match="space 'nb101' has no option 'stem'; valid options: stem_channels, max_vertices"):
        nr.get_space("nb101", stem=16)


def test_metrics_shows_a_group_and_options_of_a_registered_metric(capsys) -> None:
    from naswot_ray.metrics import METRICS

    class Member(nr.Metric):
        name = "group_member"
        description = "one of two metrics scored in one pass"
        group = "pair"
        version = 3
        legal_nonfinite = frozenset({"inf", "-inf"})
        options = (nr.Option("repeats", int, 2, "passes to average"),)

        def score(self, model, batch, *, seed, mode, ctx):
            return 0.0

    METRICS.add("group_member", Member)
    try:
        code, out, _ = run_inprocess(capsys, "metrics")
    finally:
        METRICS.remove("group_member")
    lines = out.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("group_member:")))
    assert lines[at].endswith("[from module tests.cli.test_listing]")
    assert lines[at + 1] == ("    version 3; legal non-finite values: -inf, inf; group: pair (scored in one pass with "
                             "its members)")
    assert lines[at + 2] == "    option repeats (an integer, default 2): passes to average"
