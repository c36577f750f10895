"""Line checks run beside the sampler: abc2midi is another process, so while it reads
the line a row just finished, the batch goes on drawing (that row included).

Run in line, the checks took a quarter of guided sampling's time (100 tunes: ~800
abc2midi runs of ~7 ms, and the sampler waited for each). Here a row's check is
submitted when its line ends and read a fixed number of the row's steps later
(``AHEAD``), or at once when the row ends its next line or the tune first: never at
a moment the clock chooses, so a seed still gives the same tune, alone or in any
batch. A line found wrong sends the row back to where it began (the guide's
``EARLIER`` verdict), the few characters drawn after it with it. Errors are found
in ~7% of lines, so little is drawn twice.
"""
from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from abcrnn.sampling import checks

AHEAD = 4            # the row's steps between a line's end and reading its check
WORKERS = 2          # abc2midi runs at once (this machine class: 2 cores)


@dataclass
class Pending:
    """A line check on its way: its answer, where the line began, and the row's step at
    which it is read."""
    found: Future        # line_errors' answer: True when abc2midi found an error
    mark: int            # the line's start (the guide's line mark before the line ended)
    due: int


@functools.cache
def _workers() -> ThreadPoolExecutor:
    """One pool for the process, made at the first check (threads wait idle after)."""
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="abcrnn-line-check")


def submit(text: str, first_line: int, mark: int, due: int) -> Pending:
    """Start ``checks.line_errors(text, first_line, final=False)`` beside the caller."""
    return Pending(_workers().submit(checks.line_errors, text, first_line, False), mark, due)
