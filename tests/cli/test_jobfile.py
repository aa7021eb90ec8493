"""``score-all --config job.yaml``: every option from a YAML file, flags override it, bad files are one line.

Nothing here starts Ray: what a job file sets is observed through ``score-all``'s own validation (an
option value that reaches the job shows in its one-line error) and through the parsed click values.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from naswot_ray.cli.jobfile import default_map_from, job_file_keys, load_job_file
from naswot_ray.cli.main import app
from tests.cliutil import run_inprocess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "job.yaml"
SCORE_ALL = app.commands["score-all"]


def parsed(*args: str) -> dict:
    """The values score-all's body would receive for ``args`` (click's own parsing, no scoring)."""
    with SCORE_ALL.make_context("score-all", list(args)) as ctx:
        return dict(ctx.params)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return str(path)


def test_a_job_file_sets_options_and_flags_override_it(tmp_path) -> None:
    job = write(tmp_path, """
        space: nb101
        metrics: [naswot, params]
        batch_size: 32
        indices: [1, 5, 9]
        space-option: {stem_channels: 16}
        metric-option: {naswot: {}}
        no-channels-last: true
        retry-errors: true
        store: /somewhere
        """.replace("\n        ", "\n"))
    values = parsed("--config", job, "--batch-size", "8", "--space", "nb201")
    assert values["space"] == "nb201" and values["batch_size"] == 8  # flags win
    assert values["metrics_text"] == "naswot,params" and values["indices_text"] == "1,5,9"
    assert values["space_option_items"] == ("stem_channels=16",) and values["metric_option_items"] == ()
    assert values["channels_last"] is False and values["retry_errors"] is True and values["store"] == "/somewhere"
    assert parsed("--config", job, "--space-option", "stem_channels=8")["space_option_items"] == ("stem_channels=8",)


def test_job_file_values_reach_the_job(tmp_path, capsys) -> None:
    job = write(tmp_path, f"space: nb201\nindices: [99999]\nstore: {tmp_path / 'store'}\n")
    code, _out, err = run_inprocess(capsys, "score-all", "--config", job)
    assert code == 2 and err.strip() == "error: index 99999 is outside space 'nb201' (valid: 0..15624)"
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("text, message", [
    ("spcae: nb201\n", "unknown key 'spcae' in job file {path!r}; valid keys: address, arch-timeout, batch-size,"),
    ("- nb201\n", "job file {path!r} must be a mapping of option: value, got a list"),
    ("space: [nb201\n", "cannot read job file {path!r}: while parsing a flow sequence"),
    ("batch-size: lots\n", "Invalid value for '--batch-size': 'lots' is not an integer; expected an integer from 2 to 65536"),
    ("retry-errors: maybe\n", "bad value 'maybe' for 'retry-errors' in job file {path!r}; expected true or false"),
    ("dataset: {a: 1}\n", "bad value for 'dataset' in job file {path!r}: expected a single value or a list, got a mapping"),
])
def test_bad_job_files_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, text: str, message: str) -> None:
    path = write(tmp_path, text)
    store = tmp_path / "store"
    code, out, err = run_inprocess(capsys, "score-all", "--config", path, "--store", str(store))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and not out, err
    assert lines[0].startswith("error: " + message.format(path=path)), lines[0]
    assert not store.exists()


def test_a_missing_job_file_is_one_line(tmp_path, capsys) -> None:
    code, _out, err = run_inprocess(capsys, "score-all", "--config", str(tmp_path / "nope.yaml"))
    assert code == 2 and err.strip() == f"error: job file {str(tmp_path / 'nope.yaml')!r} does not exist"


def test_the_example_job_file_names_every_score_all_option_and_is_valid() -> None:
    """examples/job.yaml is the commented reference: every flag appears as a key (set, or commented out)."""
    text = EXAMPLE.read_text()
    keys = {m.group(1) for m in re.finditer(r"^(?:# )?([a-z][a-z0-9-]*):", text, flags=re.MULTILINE)}
    flags = {flag[2:] for p in SCORE_ALL.params if isinstance(p, click.Option) and p.name != "config_path"
             for flag in p.opts if flag.startswith("--")}
    aliases = {"nb101-stem", "nb201-model", "nds-data", "nds-compat"}  # mentioned together in the file's last line
    assert flags - aliases <= keys, f"options missing from examples/job.yaml: {sorted(flags - aliases - keys)}"
    assert all(alias in text for alias in aliases)
    values = default_map_from(SCORE_ALL, load_job_file(EXAMPLE), source=str(EXAMPLE))
    assert values["space"] == "nb201" and values["metrics_text"] == "naswot,params" and values["no_dashboard"] is True


def test_keys_are_flag_names_in_both_spellings() -> None:
    keys = job_file_keys(SCORE_ALL)
    assert keys["batch-size"] is keys["batch_size"] and keys["no-channels-last"] is keys["channels-last"]
    assert "config" not in keys and "config_path" not in keys
