"""What score-all prints at the end says what happened: counts in the right grammar, and a quarantine as it was."""

from __future__ import annotations

from naswot_ray.engine.driver import RunSummary


def test_one_worker_is_singular() -> None:
    assert RunSummary("r", workers=1).lines()[1].endswith("archs/s on 1 worker")
    assert RunSummary("r", workers=3).lines()[1].endswith("archs/s on 3 workers")


def test_a_quarantine_says_what_was_done_not_that_keys_were_rescored() -> None:
    """Nothing may be rescored (the part's keys may lie outside this run): say only what is true."""
    lines = RunSummary("r", workers=2, store_problems=["scores/part-x.parquet: not a parquet file"]).lines()
    assert lines[2] == ("store problem: unreadable part moved to quarantine/, its rows no longer count (this run "
                        "scored every requested key that no readable part holds): scores/part-x.parquet: "
                        "not a parquet file")
    assert "rescored" not in " ".join(lines)
