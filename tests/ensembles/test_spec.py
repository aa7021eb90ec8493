"""The ``ensemble:...`` names: presets, canonical labels, weights, errors, and evaluation by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from naswot_ray.ensembles import PRESETS, Member, evaluate, parse_spec, resolve
from naswot_ray.errors import InputError


def test_presets_and_canonical_labels() -> None:
    assert parse_spec("ensemble:az_nas") is PRESETS["az_nas"]
    assert PRESETS["az_nas"].leaves() == ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    assert PRESETS["vkdnw_agg"].member_refs() == ["vkdnw_aleph", "vkdnw", "az_expressivity", "az_trainability",
                                                  "flops|az_complexity", "vkdnw_jacov"]
    assert parse_spec("ensemble:b+a").label == parse_spec("ensemble:ranksum:a+b").label == "ensemble:a+b"
    assert parse_spec("ensemble:logrank:b+2*a").label == "ensemble:logrank:2*a+b"
    assert parse_spec("ensemble:lex:b+a").label == "ensemble:lex:b+a"  # order is the definition of a lex ranking
    assert parse_spec("ensemble:naswot[seed=2]+naswot[seed=1]").label == "ensemble:naswot[seed=1]+naswot[seed=2]"
    assert parse_spec("ensemble:logrank:vkdnw_single+zico").leaves() == ["vkdnw_aleph", "vkdnw", "zico"]
    assert parse_spec("ensemble:ntk+x", canonical=lambda name: {"ntk": "ntk_cond"}.get(name, name)).label == "ensemble:ntk_cond+x"


@pytest.mark.parametrize("text, message", [
    ("ensemble:naswot", "at least two members"), ("ensemble:naswot+", "an empty member"),
    ("ensemble:a+a", "names a member twice"), ("ensemble:median:a+b", "unknown kind 'median'"),
    ("ensemble:lex:2*a+b", "takes no weights"), ("ensemble:0*a+b", "not a positive number"),
    ("ensemble:x*a+b", "not a positive number"), ("ensemble:naswot[clean+b", "is not a metric name"),
])
def test_malformed_names_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_spec(text)
    assert "\n" not in str(info.value) and text in str(info.value)


def test_az_nas_and_vkdnw_agg_by_hand() -> None:
    rng = np.random.default_rng(0)
    n = 9
    stored = {name: rng.normal(size=n) for name in
              ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "vkdnw", "vkdnw_jacov"]}
    stored["az_trainability"][2] = -np.inf  # an identity cell: the bottom of trainability
    stored["vkdnw_aleph"] = np.array([21.0, 90.0, 90.0, 150.0, 21.0, 150.0, 90.0, 150.0, 21.0])
    members = {k: Member(v, True) for k, v in stored.items()}
    az = evaluate(PRESETS["az_nas"], resolve(PRESETS["az_nas"], members.get))
    expected = sum(np.log(stats.rankdata(stored[k]) / n) for k in
                   ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"])
    np.testing.assert_allclose(az, expected, rtol=1e-14)
    assert stats.rankdata(stored["az_trainability"])[2] == 1.0  # -inf ranked lowest, not dropped
    # VKDNW_agg with FLOPs absent: the alternative az_complexity is read instead
    agg = evaluate(PRESETS["vkdnw_agg"], resolve(PRESETS["vkdnw_agg"], members.get))
    order = sorted(range(n), key=lambda i: (stored["vkdnw_aleph"][i], stored["vkdnw"][i]))
    dense = np.empty(n)
    dense[order] = np.arange(1, n + 1)  # no tied pairs here, so dense ranks are 1..n
    expected = (np.log(dense) + sum(np.log(stats.rankdata(stored[k])) for k in
                                    ["az_expressivity", "az_trainability", "az_complexity", "vkdnw_jacov"]))
    np.testing.assert_allclose(agg - agg.mean(), expected - expected.mean(), atol=1e-12)  # ln(r/N) = ln r - ln N
    with pytest.raises(InputError, match="ensemble:vkdnw_agg needs vkdnw_jacov, which is not stored"):
        resolve(PRESETS["vkdnw_agg"], {k: v for k, v in members.items() if k != "vkdnw_jacov"}.get)
    assert np.isfinite(agg).all() and np.isfinite(az).all()  # a -inf member value still gives a finite log-rank
