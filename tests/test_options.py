"""Declared options: parsing, defaults from the environment, the options key, one-line errors."""

from __future__ import annotations

import pytest

from naswot_ray.errors import InputError
from naswot_ray.options import Option, options_key, parse_assignments, resolve_options

DECLARED = (
    Option("width", int, 16, "channels", check=lambda v: None if v > 0 else "must be positive"),
    Option("kind", str, "a", "variant", choices=("a", "b")),
    Option("scale", float, 1.0, "factor"),
    Option("flag", bool, False, "switch", env="NASWOT_RAY_TEST_FLAG"),
)


def test_values_are_parsed_to_their_type_and_defaults_filled() -> None:
    resolved = resolve_options(DECLARED, {"width": "32", "scale": "0.5", "flag": "yes"}, owner="space 'x'")
    assert resolved == {"width": 32, "kind": "a", "scale": 0.5, "flag": True}
    assert options_key(DECLARED, resolved) == "width=32,scale=0.5,flag=True"
    assert options_key(DECLARED, resolve_options(DECLARED, {}, owner="x")) == ""


@pytest.mark.parametrize("given, message", [
    ({"widht": 3}, "space 'x' has no option 'widht'; valid options: width, kind, scale, flag"),
    ({"width": "abc"}, "bad value 'abc' for option 'width' of space 'x'; expected an integer"),
    ({"width": "0"}, "bad value '0' for option 'width' of space 'x'; must be positive"),
    ({"kind": "c"}, "bad value 'c' for option 'kind' of space 'x'; valid choices: a, b"),
    ({"flag": "maybe"}, "bad value 'maybe' for option 'flag' of space 'x'; expected true or false"),
    ({"width": 2.5}, "bad value 2.5 for option 'width' of space 'x'; expected an integer"),
])
def test_bad_keys_and_values_are_one_line_errors(given, message) -> None:
    with pytest.raises(InputError) as err:
        resolve_options(DECLARED, given, owner="space 'x'")
    assert str(err.value) == message


def test_an_environment_default_is_read_where_the_job_is_defined(monkeypatch) -> None:
    monkeypatch.setenv("NASWOT_RAY_TEST_FLAG", "1")
    assert resolve_options(DECLARED, {}, owner="x")["flag"] is True
    monkeypatch.setenv("NASWOT_RAY_TEST_FLAG", "sometimes")
    with pytest.raises(InputError, match="environment variable NASWOT_RAY_TEST_FLAG"):
        resolve_options(DECLARED, {}, owner="x")


def test_assignments() -> None:
    assert parse_assignments(["a=1", "b=x=y"], flag="--space-option") == [("a", "1"), ("b", "x=y")]
    with pytest.raises(InputError, match="malformed --space-option 'a'; expected KEY=VALUE"):
        parse_assignments(["a"], flag="--space-option")
