"""FairRLock: re-entrant, refuses a foreign release, and a re-take queues behind the waiters."""

from __future__ import annotations

import threading
import time

import pytest

from tui.fair_lock import FairRLock


def test_reentrant_and_release_by_owner_only():
    lock = FairRLock()
    with lock, lock:  # the same thread takes it twice
        other = threading.Thread(target=lambda: errors.append(_release(lock)))
        errors: list = []
        other.start()
        other.join()
        assert isinstance(errors[0], RuntimeError)
    with pytest.raises(RuntimeError):
        lock.release()  # nobody holds it now


def _release(lock):
    try:
        lock.release()
    except RuntimeError as error:
        return error
    return None


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the other thread never queued"
        time.sleep(0.001)


def test_a_thread_that_releases_and_retakes_queues_behind_a_waiter():
    # The training worker's loop: hold for an iteration, release, take it again at once. With
    # threading.RLock the worker usually wins the re-take and the interface thread starves.
    lock, order = FairRLock(), []

    def interface() -> None:
        with lock:
            order.append("interface")

    lock.acquire()
    waiter = threading.Thread(target=interface)
    waiter.start()
    _wait_for(lambda: lock.waiting() == 1)
    lock.release()
    with lock:  # the re-take
        order.append("worker")
    waiter.join()
    assert order == ["interface", "worker"]


def test_many_threads_each_get_their_turns():
    lock, counts = FairRLock(), [0, 0, 0]

    def work(k: int) -> None:
        for _ in range(200):
            with lock:
                counts[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [200, 200, 200] and lock.waiting() == 0
