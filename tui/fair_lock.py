"""A re-entrant lock that hands over in arrival order (the interface's turn comes)."""

from __future__ import annotations

import threading


class FairRLock:
    """An RLock whose waiters get it first come, first served.

    threading.RLock lets the thread that releases take it straight back: a training worker
    that holds the session for each iteration and re-takes it at once starved the interface
    thread, which waited on the lock with the whole event loop (seen as a screen that stopped
    answering keys for minutes at load 10). Tickets make a re-take queue behind the waiters.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._next_ticket = 0
        self._serving = 0  # the ticket whose turn it is

    def acquire(self) -> bool:
        """Wait for this thread's turn (at once when it already holds the lock)."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._owner is not None or self._serving != ticket:
                self._cond.wait()
            self._owner, self._depth = me, 1
            self._serving += 1
            return True

    def release(self) -> None:
        """Give the lock up; the longest waiter gets it next."""
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a FairRLock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    def waiting(self) -> int:
        """How many threads wait for the lock now."""
        with self._cond:
            return self._next_ticket - self._serving

    def __enter__(self) -> FairRLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
