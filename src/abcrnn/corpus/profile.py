"""What a corpus's tunes are like, in a few numbers the sampler can use: the header
fields they carry and how often, the meters, unit lengths, keys and rhythms they are
written in, and how much they restate their bars. Training stores it in model.json
(``corpus_profile``), so a model generates with its own corpus's habits, not the
bundled corpus's; a model without one gets ``DEFAULT``."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from fractions import Fraction

from abcrnn.notation.bars import bar_report
from abcrnn.notation.form import SQUARE_LENGTHS, close_lengths, header_value, parts, restated_bars, restated_from
from abcrnn.notation.meter import default_unit, parse_meter
from abcrnn.notation.tunes import header_and_body

TOP = 40                 # values kept per field
_FIELD = re.compile(r"[A-Za-z]:")
_LETTERS = re.compile(r"[A-Z][0-9]*|[A-Z](\.?[A-Z])*")      # "B", "A2", "ABAB": letters, not names
MIN_SHARE = 0.002        # values rarer than this are left out (typos, one-off meters)
MIN_CLOSES = 20         # part ends a meter needs for its own close_lengths (else: all meters')
MIN_UNIT_TUNES = 3       # tunes a meter's unit length needs to be drawn for it (unit_shares)
RESTATED_FROM = (1, 2, 4, 8, 16)     # bars back the guide restates from (sampling/restate.py);
                                     # "far": further than 8 (a part back), 16 aside

DEFAULT = {"tunes": 0, "field_share": {"T": 1.0, "M": 1.0, "L": 1.0, "K": 1.0, "R": 0.9},
           "meters": {m: 1 for m in ("6/8", "C|", "2/4", "3/4", "9/8", "4/4", "C", "3/8", "2/2",
                                      "12/8", "6/4", "3/2", "5/4", "7/8")},
           "units": {"1/8": 1, "1/16": 1, "1/4": 1},
           "rhythms": {r: 1 for r in ("reel", "jig", "hornpipe", "polka", "slide", "slip jig",
                                       "waltz", "mazurka", "march", "strathspey", "barndance")},
           "keys": {}, "restated_share": 0.3,
           # shares of restated bars by how far back the bar they restate is (the bundled
           # corpus's: phrases come back 4, 8 and 16 bars on, rarely the bar before)
           "restated_from": {"1": 0.069, "2": 0.107, "4": 0.3, "8": 0.129, "16": 0.027, "far": 0.3},
           # shares of parts by length in bars (the bundled corpus's)
           "part_lengths": {"4": 0.18, "8": 0.63, "16": 0.07},
           # shares of parts of 4, 8, 16 bars with numbered endings; of first endings of 1, 2 bars
           "part_endings": {"4": 0.37, "8": 0.43, "16": 0.12}, "ending_bars": {"1": 0.83, "2": 0.11},
           # shares of parts whose last note lasts this share of the measure (the bundled
           # corpus's, over all meters: a reel's G2 is 1/4, a jig's d3 1/2)
           "close_lengths": {"*": {"1/4": 0.26, "1/6": 0.23, "1/2": 0.18, "1/8": 0.18, "1/9": 0.09,
                                   "1/3": 0.05, "1": 0.01}},
           # the unit each meter is most often written in (the bundled corpus's; docs/RELIABILITY.md)
           "meter_units": {"2/2": "1/8", "2/4": "1/8", "3/4": "1/8", "3/8": "1/8", "4/2": "1/4",
                           "4/4": "1/8", "6/8": "1/8", "8/2": "1/2", "8/4": "1/4", "9/8": "1/8",
                           "C": "1/8", "C|": "1/8"}}


def _values(tunes_headers: list[list[str]], name: str) -> dict[str, int]:
    counts = Counter(ln[2:].split("%", 1)[0].strip() for h in tunes_headers for ln in h
                     if ln.startswith(name + ":"))
    counts.pop("", None)
    n = max(1, len(tunes_headers))
    return {v: c for v, c in counts.most_common(TOP) if c / n >= MIN_SHARE}


def _units_by_meter(tunes_headers: list[list[str]]) -> dict[str, Counter]:
    """meter -> Counter of the unit lengths its tunes are written in, an ``L:`` left out
    counting as ABC's default for the meter (1/16 below 3/4, else 1/8); only meters of
    at least MIN_SHARE of the tunes (and 3 tunes): a one-off says nothing."""
    by_meter: dict[str, Counter] = defaultdict(Counter)
    for h in tunes_headers:
        field = {ln[0]: ln[2:].split("%", 1)[0].strip() for ln in reversed(h) if ln[1:2] == ":"}
        meter = "".join(field.get("M", "").split())
        if not meter or parse_meter(meter) is None:
            continue
        unit = field.get("L") or _fraction(default_unit(parse_meter(meter)))
        by_meter[meter][unit.replace(" ", "")] += 1
    n = max(1, len(tunes_headers))
    return {m: c for m, c in sorted(by_meter.items()) if sum(c.values()) >= max(3, MIN_SHARE * n)}


def meter_units(tunes_headers: list[list[str]]) -> dict[str, str]:
    """meter -> the unit length its tunes are most often written in (_units_by_meter)."""
    return {m: c.most_common(1)[0][0] for m, c in _units_by_meter(tunes_headers).items()}


def unit_shares(tunes_headers: list[list[str]]) -> dict[str, dict[str, float]]:
    """meter -> {unit length: share of its tunes}, for the units at least MIN_UNIT_TUNES
    of its tunes are written in (the bundled corpus: 2/4 in 1/8 89%, 1/16 11%; 3/4 in
    1/8 78%, 1/4 22%), renormalised over those: the guide draws a tune's unit from them."""
    out = {}
    for meter, counts in _units_by_meter(tunes_headers).items():
        kept = {u: c for u, c in counts.most_common() if c >= MIN_UNIT_TUNES}
        total = sum(kept.values())
        if total:
            out[meter] = {u: round(c / total, 4) for u, c in kept.items()}
    return out


def _fraction(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def profile(tunes: list[str]) -> dict:
    """The profile of ``tunes`` (see the module docstring); JSON-able."""
    headers = [header_and_body(t)[0] for t in tunes]
    n = max(1, len(tunes))
    fields = Counter(f for h in headers for f in {ln[0] for ln in h if len(ln) > 1 and ln[1] == ":"})
    restated = [restated_bars(t) for t in tunes]
    total = sum(b for _, b in restated)
    back = Counter(d for t in tunes for d in restated_from(t))
    n_back = max(1, sum(back.values()))
    all_parts = [p for t in tunes for p in parts(bar_report(t).bars)]
    lengths = Counter(p.bars for p in all_parts)
    n_parts = max(1, sum(lengths.values()))
    return {"tunes": len(tunes),
            "field_share": {f: round(c / n, 4) for f, c in sorted(fields.items())},
            "meters": _values(headers, "M"), "units": _values(headers, "L"),
            "rhythms": _values(headers, "R"), "keys": _values(headers, "K"),
            "restated_share": round(sum(r for r, _ in restated) / total, 4) if total else 0.0,
            "restated_from": {**{str(k): round(back[k] / n_back, 4) for k in RESTATED_FROM},
                              "far": round(sum(c for d, c in back.items() if d > 8 and d != 16) / n_back, 4)},
            "part_lengths": {str(k): round(lengths[k] / n_parts, 4) for k in (4, 8, 16)},
            **endings(all_parts),
            "part_names": part_names([header_and_body(t)[1] for t in tunes]),
            "close_lengths": closes(tunes),
            "meter_units": meter_units(headers), "unit_shares": unit_shares(headers)}


def endings(all_parts) -> dict:
    """How the corpus ends its parts: ``part_endings``, the share of its parts of 4, 8
    and 16 bars that have numbered endings (``|1 ... :|2``); ``ending_bars``, the share
    of those first endings that last 1 and 2 bars (longer ones are rare: 6% in the
    bundled corpus)."""
    square = [p for p in all_parts if p.bars in SQUARE_LENGTHS]
    by_length = Counter(p.bars for p in square)
    ended = Counter(p.bars for p in square if p.endings)
    first = Counter(p.ending_bars for p in square if p.endings)
    n_first = max(1, sum(first.values()))
    return {"part_endings": {str(k): round(ended[k] / by_length[k], 4) if by_length[k] else 0.0
                             for k in SQUARE_LENGTHS},
            "ending_bars": {str(k): round(first[k] / n_first, 4) for k in (1, 2)}}


def closes(tunes: list[str]) -> dict[str, dict[str, float]]:
    """How the corpus's parts end (notation/form.py's ``close_lengths``): for each meter
    with MIN_CLOSES part ends or more, and over all ("*"), the share of parts whose last
    note lasts each share of the measure (shares under 1% left out)."""
    by_meter: dict[str, Counter] = defaultdict(Counter)
    for t in tunes:
        meter = "".join((header_value(t, "M") or "").split())
        for f in close_lengths(t):
            by_meter["*"][str(f)] += 1
            by_meter[meter][str(f)] += 1
    out = {}
    for meter, c in sorted(by_meter.items()):
        n = sum(c.values())
        if meter and n >= MIN_CLOSES:
            out[meter] = {k: round(v / n, 4) for k, v in c.most_common() if v / n >= 0.01}
    return out


def part_names(bodies: list[list[str]]) -> dict[str, int]:
    """The part labels that are names, not letters, given after the tune's first music
    (``P:Variations``: the bundled corpus's tunes write out their variations under one;
    a name before any music is an intro's, 1% of its tunes), with the number of tunes
    that have each; those of fewer than 2 tunes (or MIN_SHARE) left out."""
    counts: Counter = Counter()
    for body in bodies:
        names, music = set(), False
        for ln in body:
            if ln.startswith("P:") and music:
                names.add(ln[2:].split("%", 1)[0].strip())
            music = music or bool(ln.strip() and not _FIELD.match(ln) and not ln.startswith("%"))
        counts.update(v for v in names if v and not _LETTERS.fullmatch(v))
    n = max(1, len(bodies))
    return {v: c for v, c in counts.most_common(TOP) if c >= 2 and c / n >= MIN_SHARE}
