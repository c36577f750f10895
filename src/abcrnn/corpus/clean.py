"""Cleaning a training corpus: normalise headers, drop tunes that do not play.

A model learns what it is shown: a corpus where 14% of the tunes make abc2midi
fail and 11% carry bars of the wrong length teaches exactly those faults. With
``--clean`` training keeps only tunes that abc2midi plays without error and
in which at most ``MAX_WRONG_BARS`` of the bars have the wrong length (the
checker in abcbars.py is strict: 29% of the corpus's tunes have at least one
such bar, often a pick-up it cannot pair), after two normalisations that do not
change the music:

* ``X: 2`` -> ``X:2`` (no space after a header field's colon);
* a missing ``L:`` is written out with its ABC 2.1 default (1/16 when the meter
  is below 3/4, else 1/8) just before ``K:``.

Every change and every dropped tune is recorded (see ``CleanReport``).
"""
from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from abcrnn.notation.tunes import header_and_body
from abcrnn.notation.bars import bar_report
from abcrnn.notation.meter import parse_meter

MAX_WRONG_BARS = 0.10
_HEADER_SPACE = re.compile(r"^([A-Za-z]):[ \t]+")


def default_unit(header: list[str]) -> str:
    meter = next((ln[2:].strip() for ln in header if ln.startswith("M:")), "")
    m = parse_meter(meter) if meter else None
    return "1/16" if m is not None and m < 0.75 else "1/8"


def normalise(tune: str) -> tuple[str, list[str]]:
    """The tune with the normalisations above, and the names of those applied."""
    header, body = header_and_body(tune)
    changes = []
    fixed = [_HEADER_SPACE.sub(r"\1:", ln) for ln in header]
    if fixed != header:
        changes.append("header spacing")
    if not any(ln.startswith("L:") for ln in fixed) and fixed and fixed[-1].startswith("K:"):
        fixed.insert(len(fixed) - 1, f"L:{default_unit(fixed)}")
        changes.append("L: made explicit")
    return "\n".join(fixed + body), changes


@dataclass
class CleanReport:
    kept: int = 0
    changes: Counter = field(default_factory=Counter)    # normalisation -> tunes changed
    dropped: Counter = field(default_factory=Counter)    # reason -> tunes dropped
    examples: dict = field(default_factory=dict)         # reason -> first tune's title

    def to_dict(self) -> dict:
        return {"kept": self.kept, "changes": dict(self.changes), "dropped": dict(self.dropped),
                "examples": self.examples}


def why_unfit(tune: str) -> str | None:
    """None when the tune plays without error and its bars add up, else the reason."""
    from abcrnn.tools.abc2midi import check_abc
    check = check_abc(tune)
    if not check.valid:
        return f"abc2midi: {check.errors[0].category}"
    bars = bar_report(tune)
    wrong = sum(b.status == "wrong" for b in bars.bars)
    if bars.error or wrong > MAX_WRONG_BARS * max(1, bars.checked):
        return f"more than {MAX_WRONG_BARS:.0%} of bars of the wrong length"
    return None


def clean_tunes(tunes: list[str], workers: int = 4) -> tuple[list[str], CleanReport]:
    """Normalise every tune and keep those fit to learn from (order kept)."""
    report = CleanReport()
    normal = []
    for t in tunes:
        fixed, changes = normalise(t)
        normal.append(fixed)
        report.changes.update(changes)
    with ThreadPoolExecutor(workers) as pool:          # abc2midi runs are subprocesses
        reasons = list(pool.map(why_unfit, normal))
    kept = []
    for tune, reason in zip(normal, reasons):
        if reason is None:
            kept.append(tune)
            continue
        report.dropped[reason] += 1
        title = next((ln[2:].strip() for ln in tune.split("\n") if ln.startswith("T:")), "?")
        report.examples.setdefault(reason, title)
    report.kept = len(kept)
    return kept, report
