"""``naswot-ray store verify`` / ``store compact``: output, exit codes (0 fine, 1 needs attention, 2 bad input)."""

from __future__ import annotations

from datetime import datetime, timezone

from naswot_ray.store import Store
from tests.cliutil import run_inprocess
from tests.store.storeutil import raw_keys, two_concurrent_runs


def test_verify_then_compact_then_verify(tmp_path, capsys) -> None:
    two_concurrent_runs(tmp_path)
    code, out, err = run_inprocess(capsys, "store", "verify", "--store", str(tmp_path))
    assert code == 1 and err == ""
    assert "problem: scores: 4 duplicate rows of scores keys" in out
    assert out.strip().splitlines()[-1] == f"store {tmp_path}: 1 problem(s)"
    code, out, err = run_inprocess(capsys, "store", "compact", "--store", str(tmp_path))
    assert code == 0, err
    assert "scores: 6 parts (8 rows) -> 1 parts (4 rows), 4 duplicate rows dropped" in out
    assert set(raw_keys(tmp_path).values()) == {1}
    code, out, _ = run_inprocess(capsys, "store", "verify", "--store", str(tmp_path))
    assert code == 0 and out.strip().splitlines()[-1] == f"store {tmp_path}: OK"


def test_compact_refuses_while_a_run_is_live(tmp_path, capsys) -> None:
    store = Store(str(tmp_path))
    now = datetime.now(timezone.utc)
    store.write("runs", [{"run_id": "r1", "status": "running", "command": "score-all", "started_at": now,
                          "created_at": now}])
    try:
        before = sorted(p.name for p in (tmp_path / "runs").iterdir())
        code, out, err = run_inprocess(capsys, "store", "compact", "--store", str(tmp_path))
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "run r1 (score-all, last heartbeat 0 s ago) is running on this store" in err
        assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == before
    finally:
        store.stop_heartbeat("r1")


def test_bad_input_is_one_line_exit_2(tmp_path, capsys) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    for args, fragment in [
        (["store", "verify", "--store", str(tmp_path / "nope")], "does not exist"),
        (["store", "compact", "--store", str(afile)], "is a file, not a store directory"),
        (["store", "compact", "--store", str(tmp_path), "--target-rows", "1"], "--target-rows"),
        (["store", "verify", "--store", str(tmp_path), "--stale-after", "0"], "--stale-after"),
        (["store", "tidy"], "No such command 'tidy'"),
    ]:
        code, _out, err = run_inprocess(capsys, *args)
        assert code == 2, (args, err)
        assert err.count("\n") == 1 and fragment in err, (args, err)
    assert not (tmp_path / "nope").exists() and afile.read_text() == "x"
