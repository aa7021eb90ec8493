"""The lease queue's rules (no Ray needed)."""

from __future__ import annotations

from naswot_ray.engine.leases import LeaseQueue


def test_chunks_are_leased_once_and_end_only_when_committed() -> None:
    q = LeaseQueue(list(range(10)), chunk_size=4)
    a = q.lease("w1")
    b = q.lease("w2")
    assert a[1] == [0, 1, 2, 3] and b[1] == [4, 5, 6, 7]
    c = q.lease("w1")  # w1 holds a (scored, not yet written) and c
    assert c[1] == [8, 9]
    assert q.stats()["leased"] == 10 and q.stats()["completed"] == 0
    assert q.lease("w1") is None
    assert not q.done()
    assert q.commit("w1", [a[0], c[0]]) and q.stats()["completed"] == 6
    assert not q.commit("w1", [b[0]])  # w2's lease
    assert q.commit("w2", [b[0]])
    assert q.done()


def test_a_dead_worker_loses_nothing_it_had_not_committed() -> None:
    q = LeaseQueue(list(range(6)), chunk_size=2)
    first = q.lease("w1")
    second = q.lease("w1")  # first is now scored, second is being scored
    assert q.requeue_worker("w1") == []
    # the scored chunk goes back as it was; the chunk in progress is split into suspects
    assert q.lease("w2")[1] == [second[1][0]]
    assert q.lease("w2")[1] == [second[1][1]]
    assert q.lease("w2")[1] == first[1]
    # a late commit by the dead worker is refused, so the requeued rows become visible only once
    assert not q.commit("w1", [first[0]])


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
    while (got := q.lease("w5")) is not None:
        remaining += got[1]
        assert q.commit("w5", [got[0]])
    assert sorted(remaining) == [2, 3, 4]
    assert q.done()


def test_a_device_error_sends_the_index_to_another_scorer_never_back() -> None:
    q = LeaseQueue([1, 2, 3], chunk_size=3)
    lease_id, indices = q.lease("gpu0")
    q.requeue_index("gpu0", lease_id, 2)
    assert q.commit("gpu0", [lease_id]) and q.stats()["completed"] == 2
    assert q.lease("gpu0") is None  # the broken scorer is not given its failure again
    again = q.lease("gpu1")
    assert again[1] == [2]
    q.requeue_index("gpu1", again[0], 2)
    assert q.abandon_stuck(["gpu0", "gpu1", "gpu2"]) == []  # gpu2 has not tried it
    assert q.abandon_stuck(["gpu0", "gpu1"]) == [2]  # every working scorer failed it: its own fault
    assert q.abandoned == [2] and q.done()


def test_a_retiring_worker_releases_unscored_indices_without_an_attempt() -> None:
    q = LeaseQueue([1, 2, 3, 4], chunk_size=4)
    lease_id, _ = q.lease("w1")
    q.release("w1", lease_id, [3, 4])
    assert q.commit("w1", [lease_id]) and q.stats()["completed"] == 2
    assert q.lease("w2")[1] == [3, 4] and q.attempts == {}
