"""One tune as the guide sees it while it grows: its text, where it may go back to,
what its header holds, where its form stands, and its own random draws."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from abcrnn.notation.barscan import IncrementalBars
from abcrnn.sampling import form


@dataclass
class Row:
    text: str = ""                 # the tune so far, markers excluded
    line_mark: int = 0             # rollback point for LINE (offset into text)
    bar_mark: int = 0              # rollback point for BAR
    bar_tries: int = 0
    bar_checked: int = -1          # end of the last bar line checked (no double checks)
    known_wrong: int = 0           # wrong bars kept because their redraws ran out
    banned: set = field(default_factory=set)   # characters refused at this very position
    char_tries: int = 0
    body_start: int = -1           # offset where the body begins (-1: still in the header)
    line_tries: int = 0
    line_refused: int = 0          # characters refused since the line began
    seen: Counter = field(default_factory=Counter)   # header fields written
    values: dict = field(default_factory=dict)        # their values (the first of each)
    in_body: bool = False
    no_end: bool = False           # the tune's end was refused: the next line must be music
    redraws: int = 0
    tonic_tries: int = 0
    end_tries: int = 0             # endings refused by the whole-tune check (bounded apart:
                                   # redrawing the last line cannot mend an earlier one)
    forced: str = ""               # text the guide writes for the model (a bar with the tonic)
    opening: bool = False          # forced is the asked opening: the marks move past it
    barline: tuple | None = None   # (where the bar line being written starts, tokens allowed)
    frozen_at: int = -1            # a redraw went back to just after this accepted bar line
    copy: list | None = None       # earlier bars the next bar may restate (guided.py scores them)
    copy_whole: bool = False       # copy holds whole bar lines: each must end where it ends
    copy_at: int = -1              # copy is for the bar starting the line that starts here
    copy_prior: list | None = None  # restated bars: each one's weight besides the model's say;
                                    # ways to close a part: (last note's length, corpus share)
    copy_full: bool = False        # copy holds ways to close a part (cadence.py), from the bar's start
    steps: int = 0                 # characters drawn for it (kept or not): the row's own clock
    pending: object = None         # the check of the line before, running beside (ahead.Pending)
    place: form.Place = field(default_factory=form.Place)
    rng: random.Random = field(default_factory=random.Random)   # the row's own draws (form choices)
    drawn: dict = field(default_factory=dict)       # the row's draws, made once per place:
    # (part, ending, bars) -> does the part close; ("ending", part, bars) -> an ending
    # starts; ("unit", meter) -> the tune's unit length (header.drawn_unit)
    bars: IncrementalBars = field(default_factory=IncrementalBars)   # bar_report of text, kept up
    open_bars: dict = field(default_factory=dict)   # text -> its OpenBar: the last few asked

    def line_done(self, last: str, end: int) -> None:
        """Header facts from a finished line ``last`` (ending at offset ``end``): fields
        seen and their values, where the body starts."""
        if not self.in_body and len(last) > 1 and last[1] == ":" and last[0].isalpha():
            self.seen[last[0]] += 1
            self.values.setdefault(last[0], last[2:].strip())
            if last[0] == "K":
                self.in_body, self.body_start = True, end

    def open_bar(self, text: str):
        """The bar scanner's open bar at the end of ``text``, the last few answers kept
        (the mask, the check of the drawn character and the next mask ask again)."""
        found = self.open_bars.get(text)
        if found is None:
            if len(self.open_bars) >= 16:     # a note's length asks for the bar before it too
                self.open_bars.clear()
            found = self.open_bars[text] = self.bars.open_bar(text)
        return found
