"""Transient read errors are retried and never quarantined; only corrupt parts are (issue 14, item 5).

The faults come from a test-only filesystem that raises exactly pyarrow's S3 network error
(``tests/store/faultfs.py``); ``tests/store/test_s3_store.py`` produces a real one by pausing the server.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from naswot_ray.store import RetryPolicy, Store
from naswot_ray.store.reader import CORRUPT, TRANSIENT, VANISHED, classify
from tests.store.faultfs import NETWORK_ERROR, faulty_filesystem

FAST = RetryPolicy(attempts=3, first_delay=0.01)


def _rows(indices) -> list[dict]:
    return [{"key": f"k{i}", "space": "nb201", "arch_index": i, "metric": "naswot", "value": float(i),
             "status": "ok", "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc)} for i in indices]


@pytest.fixture()
def three_parts(tmp_path):
    """A store with a healthy part, a part that will fail transiently, and a corrupt part."""
    local = Store(str(tmp_path))
    healthy = local.write("scores", _rows([0, 1]), tag="healthy")
    flaky = local.write("scores", _rows([2, 3]), tag="flaky")
    corrupt = local.write("scores", _rows([4, 5]), tag="corrupt")
    with open(corrupt, "r+b") as fh:
        fh.truncate(30)
    return tmp_path, healthy, flaky, corrupt


def test_a_transient_failure_is_retried_and_the_part_read(three_parts) -> None:
    root, healthy, flaky, corrupt = three_parts
    fs, handler = faulty_filesystem()
    handler.fail_reads["flaky"] = 2  # fails twice, then reads
    store = Store(str(root), filesystem=fs, retry=FAST)
    assert store.existing_keys() == {"k0", "k1", "k2", "k3"}
    assert [(p.path, p.kind) for p in store.problems] == [(corrupt, CORRUPT)]
    assert store.retried == 1
    moved = store.quarantine()
    assert [p.path for p in moved] == [corrupt]
    assert sorted(p.name for p in (root / "scores").glob("part-*")) == sorted(
        p.rsplit("/", 1)[1] for p in (healthy, flaky))
    lines = store.summary_lines(moved)
    assert any("corrupt part quarantined" in line and corrupt in line for line in lines)
    assert any("1 read(s) succeeded after retrying a transient error" in line for line in lines)
    assert not any(flaky in line for line in lines)


def test_a_persistent_transient_failure_is_reported_and_never_quarantined(three_parts) -> None:
    root, _healthy, flaky, corrupt = three_parts
    fs, handler = faulty_filesystem()
    handler.fail_reads["flaky"] = -1  # the network never comes back during this read
    store = Store(str(root), filesystem=fs, retry=FAST)
    assert store.existing_keys() == {"k0", "k1"}
    kinds = {p.path: p.kind for p in store.problems}
    assert kinds == {flaky: TRANSIENT, corrupt: CORRUPT}
    assert "NETWORK_CONNECTION" in next(p.reason for p in store.problems if p.path == flaky)
    assert handler.opens[flaky] >= FAST.attempts  # it was retried before giving up
    moved = store.quarantine()
    assert [p.path for p in moved] == [corrupt]
    assert (root / "scores" / flaky.rsplit("/", 1)[1]).exists()  # left in place: nothing is wrong with it
    lines = store.summary_lines(moved)
    assert any("unreadable for now after 3 tries (transient error, left in place)" in line and flaky in line
               for line in lines)
    handler.fail_reads.clear()  # the network is back: the next read sees the part again
    again = Store(str(root), filesystem=fs, retry=FAST)
    assert again.existing_keys() == {"k0", "k1", "k2", "k3"} and again.problems == []


def test_a_transient_listing_failure_is_retried(tmp_path) -> None:
    Store(str(tmp_path)).write("scores", _rows([0]))
    fs, handler = faulty_filesystem()
    calls = {"n": 0}
    listing = handler.get_file_info_selector

    def flaky_listing(selector):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(NETWORK_ERROR.format(path=selector.base_dir))
        return listing(selector)

    handler.get_file_info_selector = flaky_listing
    store = Store(str(tmp_path), filesystem=fs, retry=FAST)
    assert store.existing_keys() == {"k0"} and store.retried == 1


@pytest.mark.parametrize("exc, kind", [
    (FileNotFoundError("gone"), VANISHED),
    (OSError(NETWORK_ERROR.format(path="p")), TRANSIENT),
    (OSError("When reading information for key 'x': AWS Error INVALID_ACCESS_KEY_ID during HeadObject"), TRANSIENT),
    (OSError("[Errno 116] Stale file handle"), TRANSIENT),
    (OSError("Couldn't deserialize thrift: don't know what type"), CORRUPT),
    (pa.ArrowInvalid("Parquet magic bytes not found in footer"), CORRUPT),
])
def test_failures_are_classified_by_what_they_say_about_the_bytes(exc, kind) -> None:
    assert classify(exc) == kind


def test_an_error_that_is_not_about_a_part_propagates(tmp_path, monkeypatch) -> None:
    Store(str(tmp_path)).write("scores", _rows([0]))
    import naswot_ray.store.reader as reader

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no memory")

    monkeypatch.setattr(reader, "_scan", out_of_memory)
    with pytest.raises(MemoryError):
        Store(str(tmp_path)).load("scores")
