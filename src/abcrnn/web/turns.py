"""Whose turn it is to generate: one generation at a time, the cheapest-to-finish first.

A generate request costs ``num_tunes x max_len`` characters. In arrival order a
small request (one short tune, well under a second) waited behind every big one
before it: behind three of 4 x 4,000 characters, about a minute. Here each
request, when it arrives, gets a fixed key: its arrival time plus its cost in
estimated seconds (``cost / CHARS_PER_SECOND``), and a free turn goes to the
waiting request with the smallest key (earliest estimated finish first). A request
makes its tunes one turn each (service.py) and asks again with the same key
between them, so a small request passes a big one at its next tune boundary,
while a big one is never starved: keys do not change, and every later arrival's
key is later than its arrival. Equal requests keep their arrival order.

Everything runs on the server's one event loop: waiting holds no thread.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time

CHARS_PER_SECOND = 1000.0   # about what the shipped model writes per second on one core (guided)


class Turns:
    """One turn, handed to the waiting request with the smallest key."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._busy = False
        self._heap: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()

    @staticmethod
    def key(cost: int) -> float:
        """The key of a request of ``cost`` characters arriving now."""
        return time.monotonic() + cost / CHARS_PER_SECOND

    @property
    def waiting(self) -> int:
        return sum(not f.done() for _, _, f in self._heap)

    async def acquire(self, key: float, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the turn; False if it did not come."""
        if not self._busy and not self.waiting:
            self._busy = True
            return True
        fut = self.loop.create_future()
        heapq.heappush(self._heap, (key, next(self._order), fut))
        try:
            await asyncio.wait([fut], timeout=timeout)
        finally:
            if not fut.done():           # timed out, or the client went away: leave the line
                fut.cancel()
            elif not fut.cancelled() and asyncio.current_task().cancelling():
                self.release()           # handed the turn just as the client went away: pass it on
        return fut.done() and not fut.cancelled()

    def release(self) -> None:
        """Hand the turn to the next waiting request, or leave it free."""
        while self._heap:
            _, _, fut = heapq.heappop(self._heap)
            if not fut.done():
                fut.set_result(None)     # the turn passes straight to it: busy stays True
                return
        self._busy = False
