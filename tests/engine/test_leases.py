"""The lease queue's rules (no Ray needed)."""

from __future__ import annotations

from naswot_ray.engine.leases import LeaseQueue


def test_chunks_are_leased_once_and_completed() -> None:
    q = LeaseQueue(list(range(10)), chunk_size=4)
    a = q.lease("w1")
    b = q.lease("w2", None)
    assert a[1] == [0, 1, 2, 3] and b[1] == [4, 5, 6, 7]
    assert q.stats()["leased"] == 8
    c = q.lease("w1", completed=a[0])
    assert c[1] == [8, 9]
    assert q.stats()["completed"] == 4
    assert q.lease("w1", completed=c[0]) is None
    assert not q.done()
    assert q.complete(b[0]) and not q.complete(b[0])
    assert q.done()


def test_worker_asking_again_gets_its_lease_back() -> None:
    q = LeaseQueue(list(range(6)), chunk_size=3)
    first = q.lease("w1")
    assert q.lease("w1") == first  # a retried call must not strand the first chunk


def test_dead_worker_chunk_is_retried_one_by_one_then_abandoned() -> None:
    q = LeaseQueue([1, 2, 3, 4], chunk_size=2, max_attempts=2)
    q.lease("w1")
    assert q.requeue_worker("w1") == []
    assert q.stats()["pending"] == 4
    lease = q.lease("w2")
    assert lease[1] == [1]  # suspects go out alone
    assert q.requeue_worker("w2") == []  # first solo death
    assert q.lease("w3")[1] == [2]  # the next suspect is [2]; 1 went to the back of the suspects
    q.requeue_worker("w3")
    assert q.lease("w4")[1] == [1]
    assert q.requeue_worker("w4") == [1]  # second solo death: abandoned
    assert q.stats()["abandoned"] == 1
    remaining = []
    while (got := q.lease("w5", completed=None)) is not None:
        remaining += got[1]
        q.complete(got[0])
    assert sorted(remaining) == [2, 3, 4]
    assert q.done()
