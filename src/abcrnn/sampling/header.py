"""The header the guide lets a tune have: which fields, in which numbers, with which
values. ``headers="folk"`` (the default) allows X, T (at most two), R, M, L and K, and
nothing that claims a source (Z:, D:, H:, S:, B:, N:, F:, C:, O:, A:...); ``"all"``
lets the model write any field, as the study's samples had.

Values: M: and L: come from the meters and unit lengths the model's own corpus used
(corpus/profile.py), so no bar is unwritable (say L:1/1 in 2/4), a folk tune's unit drawn
at the shares its corpus writes the meter in (drawn_unit); R: from its rhythms;
a meter agrees with the rhythm written before it (notation/rhythms.py) and a rhythm
with the meter; a value the musician asked for (rhythm, meter, key, unit, title) is
written as asked, and those fields must be there.

merge_opening decides what is asked, for the CLI and the web alike: an opening's own
header lines (``T:``, ``M:6/8``...) win over the settings chosen beside it, each setting
that gives way is said in words, and a meter asked without a unit length gets the unit
its tunes are written in (not ABC's 1/16 for 2/4).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from abcrnn.corpus.profile import DEFAULT
from abcrnn.notation.meter import parse_unit
from abcrnn.notation.rhythms import agrees, meters_for, normal_meter, rhythm_name, title_rhythm

FOLK_FIELDS = frozenset("TRMLK")
# part labels and key changes; no meter or unit change: the rhythm (R:) fixes the metre
# (the bundled corpus changes M: in 3% of tunes, and in guided tunes a change was where
# most tunes abc2midi refused went astray)
FOLK_BODY_FIELDS = frozenset("PK")
ALL_BODY_FIELDS = frozenset("wWPVKMLQT")    # what abc2midi accepts inside a body
REQUIRED = ("T", "M", "L")
MAX_TITLES = 2
HEADER_LINES_MAX = 16
PART_LABELS = tuple("ABCDEF")                       # corpus headers: median 8 lines, 99th percentile 16


# the keys a folk tune may be in: tonic, accidental, mode as ABC 2.1 spells them
_KEY_MODES = ("", "m") + tuple(m for w in ("min", "maj", "ion", "mix", "dor", "phr", "lyd", "loc", "aeo")
                               for m in (w, w.capitalize())) + ("minor", "major", "mixolydian", "dorian")
KEYS = tuple(t + a + m for t in "ABCDEFG" for a in ("", "#", "b") for m in _KEY_MODES)

# a free-text header value (T:, and Z:, N:... with headers="all") ends here: the
# bundled corpus's longest title is 84 characters, its longest field but w: 105
MAX_VALUE = 100


class HeaderRules:
    def __init__(self, rules, chars: frozenset):
        prof = rules.profile or DEFAULT
        self.folk = rules.headers == "folk"
        self.fixed = {f: v.strip() for f, v in (("R", rules.rhythm), ("M", rules.meter), ("K", rules.key),
                                                 ("L", rules.unit), ("T", rules.title)) if v}
        self.meters = tuple(prof.get("meters") or DEFAULT["meters"])
        self.units = tuple(prof.get("units") or DEFAULT["units"])
        self.rhythms = tuple(prof.get("rhythms") or DEFAULT["rhythms"])
        self.meter_units = prof.get("meter_units") or DEFAULT["meter_units"]
        self.unit_shares = prof.get("unit_shares") or {}     # (a profile made before them: none)
        share = prof.get("field_share", {}).get("R", 0)
        # K: ends the header, so it is never "missing" before itself
        self.required = ((set(REQUIRED) | set(self.fixed)) - {"K"}
                         | ({"R"} if self.folk and share >= 0.5 else set()))
        self.letters = (FOLK_FIELDS if self.folk
                        else frozenset(c for c in chars if c.isalpha() and c.isascii()) - {"X"})
        self.body_fields = FOLK_BODY_FIELDS if self.folk else ALL_BODY_FIELDS

    def line_starts(self, seen: Counter, n_lines: int, values: dict | None = None) -> set[str]:
        """Characters that may begin the next header line."""
        missing = {f for f in self.required if not seen[f]}
        no_rhythm = self.folk and not self.candidates("R", values or {})
        if no_rhythm:                             # no rhythm of the corpus fits the meter written
            missing.discard("R")
        if n_lines >= HEADER_LINES_MAX:            # a header that rambles on is closed
            return missing or {"K"}
        if missing and n_lines >= HEADER_LINES_MAX // 2:
            return missing
        out = set(self.letters) - ({"R"} if no_rhythm else set())
        if self.folk:
            out -= {f for f in FOLK_FIELDS - {"T"} if seen[f]}
            if seen["T"] >= MAX_TITLES or ("T" in self.fixed and seen["T"]):
                out.discard("T")
        if missing:
            out.discard("K")
        return (out or {"K"}) if self.folk else out | {"%"}

    def candidates(self, name: str, values: dict) -> tuple[str, ...] | None:
        """The values the field may take, or None for free text."""
        if name in self.fixed:
            return (self.fixed[name],)
        if name == "M":
            rhythm = values.get("R") or self.fixed.get("R")
            fit = meters_for(rhythm) if rhythm else None
            if self.folk and (values.get("L") or self.fixed.get("L")):    # the unit came first:
                unit = values.get("L") or self.fixed.get("L")              # a meter written in it
                meters = tuple(m for m in (self.meters if fit is None else fit) if unit in self.units_of(m))
                if meters and (fit is None or set(meters) & set(self.meters)):
                    return tuple(m for m in meters if fit is None or m in self.meters) or meters
            if fit is not None:
                return tuple(m for m in self.meters if normal_meter(m) in fit) or fit
            if self.folk and "R" in self.required and rhythm is None and "R" not in self.fixed:
                # the rhythm comes later: a meter some rhythm of the corpus is written in
                return tuple(m for m in self.meters if any(agrees(r, m) is not False
                                                           for r in self.rhythms)) or self.meters
            return self.meters
        if name == "L":         # folk: the unit the corpus writes the meter in (not M:2/4 L:1/2)
            meter = values.get("M") or self.fixed.get("M")
            if self.folk and not meter:          # before M: a unit some meter it may take uses
                used = {u for m in self.candidates("M", values) for u in self.units_of(m)}
                return tuple(u for u in self.units if u in used) or self.units
            return (self.units_of(meter) if self.folk else ()) or self.units
        if name == "K" and self.folk:                 # a key abcjs and abc2midi read
            return KEYS
        if name == "P" and self.folk:                 # a part's label in the body: A, B, C...
            return PART_LABELS
        if name == "R" and self.folk:
            meter = values.get("M") or self.fixed.get("M")
            fit = tuple(r for r in self.rhythms if meter is None or agrees(r, meter) is not False)
            named = title_rhythm(values.get("T") or self.fixed.get("T") or "")
            # the rhythm the title names ("The Maid's Jig": 20 of 27 such titles had another)
            return tuple(r for r in fit if named and rhythm_name(r) == named) or fit
        return None

    def units_of(self, meter: str) -> tuple[str, ...]:
        """The unit lengths the model's corpus writes ``meter`` in (folk: not M:2/4 L:1/2)."""
        meter = normal_meter(meter)
        usual = self.meter_units.get(meter)
        return tuple(self.unit_shares.get(meter) or ()) or ((usual,) if usual else ())

    def value_chars(self, line: str, values: dict, row=None) -> set[str] | None:
        """On a field line (``M:6/`` ...), the characters that keep it one of its values;
        with the tune's ``row`` (the guide's Row), a folk unit length after the meter is
        the one drawn for it (drawn_unit)."""
        if len(line) < 2 or line[1] != ":":
            return None
        options = self.candidates(line[0], values)
        if line[0] == "L" and row is not None and options and len(options) > 1:
            drawn = self.drawn_unit(values, options, row)
            options = (drawn,) if drawn else options
        if options is None:              # free text (a title...): ends within MAX_VALUE characters
            return {"\n"} if len(line) - 2 >= MAX_VALUE else None
        value = line[2:]
        return ({v[len(value)] for v in options if v.startswith(value) and len(v) > len(value)}
                | ({"\n"} if value in options else set()))

    def drawn_unit(self, values: dict, options: tuple[str, ...], row) -> str | None:
        """The unit length of a folk tune whose meter is written, drawn once per tune and
        meter (``row.drawn``, from ``row.rng``) with the shares its tunes have in the
        model's corpus (profile ``unit_shares``). Left to the model, the shipped one wrote
        43% of its 2/4 tunes in L:1/16, where its corpus has 11%."""
        meter = normal_meter(values.get("M") or self.fixed.get("M") or "")
        shares = self.unit_shares.get(meter) or {}
        weights = [shares.get(u, 0.0) for u in options]
        if not meter or not any(weights):         # before the meter, or no shares: the model's
            return None
        key = ("unit", meter)
        if key not in row.drawn:
            row.drawn[key] = row.rng.choices(options, weights=weights)[0]
        return row.drawn[key]


# --- an opening and the settings asked, merged -----------------------------------------
# (field, Model.generate's keyword, the word a musician reads)
SETTINGS = (("T", "title", "title"), ("R", "rhythm", "rhythm"), ("M", "meter", "meter"),
            ("L", "unit", "unit length"), ("K", "key", "key"))
_FIELD_LINE = re.compile(r"[A-Za-z+]:")
FALLBACK_UNIT = "1/8"        # a meter the model's corpus does not show: as folk tunes are written


@dataclass(frozen=True)
class Merged:
    """What a tune's header must hold, from an opening and the settings asked (None:
    the model chooses), the opening's music, and what gave way, in words."""
    title: str | None = None
    rhythm: str | None = None
    meter: str | None = None
    unit: str | None = None
    key: str | None = None
    music: str | None = None
    notes: tuple[str, ...] = ()

    def settings(self) -> dict:
        return {name: getattr(self, name) for _, name, _ in SETTINGS}


def split_opening(opening: str) -> tuple[list[str], str]:
    """(the header lines an opening starts with, the music after them). The header
    runs to the first line that is not a field, comment or blank line, or to K:."""
    lines = opening.replace("\r\n", "\n").split("\n")
    k = 0
    while k < len(lines):
        line = lines[k].strip()
        if line and not line.startswith("%") and not _FIELD_LINE.match(line):
            break
        k += 1
        if line.startswith("K:"):
            break
    return [ln.strip() for ln in lines[:k] if ln.strip()], "\n".join(lines[k:])


def merge_opening(opening: str | None, asked: dict, profile: dict | None = None,
                  chars: frozenset | None = None) -> Merged:
    """One rule for an opening (ABC the tune starts with, maybe with header lines such as
    ``X:``, ``T:``, ``M:6/8``) and the settings asked (``asked``: title, rhythm, meter,
    unit, key): the opening's fields win, and each setting that gives way is said in
    ``notes``; the tune gets one of each field. A meter (or a rhythm whose meters agree)
    with no unit length implies the unit the model's corpus writes it in (implied_unit),
    not ABC's default (which puts 2/4 in sixteenths), if the model can write it (``chars``:
    its vocabulary)."""
    head, music = split_opening(opening or "")
    own, notes = {}, []
    for line in head:
        name = line[0]
        if name == "X":                       # the tune's number is the composer's
            continue
        if name not in FOLK_FIELDS:
            notes.append(f"the opening's {line} is left out: only its X:, T:, R:, M:, L: and K: "
                         "lines go into the tune's header")
        elif name in own:
            notes.append(f"the opening's {line} is left out: it already has {name}:{own[name]}")
        elif line[2:].strip():
            own[name] = line[2:].strip() if name == "T" else line[2:].split("%", 1)[0].strip()
    values = {}
    for field_name, name, words in SETTINGS:
        mine, theirs = own.get(field_name), (asked.get(name) or "").strip() or None
        if mine and theirs and not _same(field_name, mine, theirs):
            notes.append(f"the opening's {field_name}:{mine} is used instead of the {words} "
                         f"{theirs} you chose")
        values[name] = mine or theirs
    rhythm, meter = values["rhythm"], values["meter"]
    if rhythm and meter and agrees(rhythm, meter) is False and ("R" in own) != ("M" in own):
        if "M" in own:
            notes.append(f"the rhythm {rhythm} you chose is left out: a {rhythm} is not written "
                         f"in the opening's M:{meter}")
            values["rhythm"] = None
        else:
            notes.append(f"the meter {meter} you chose is left out: the opening's R:{rhythm} is "
                         f"written in {' or '.join(meters_for(rhythm))}")
            values["meter"] = None
    if values["unit"] is None:
        unit = implied_unit(values["meter"], values["rhythm"], profile)
        values["unit"] = unit if unit and (chars is None or set(unit) <= chars) else None
    return Merged(**values, music=music if music.strip() else None, notes=tuple(notes))


def implied_unit(meter: str | None, rhythm: str | None, profile: dict | None = None) -> str | None:
    """The unit length a tune in ``meter`` gets when none is asked: the one the model's
    corpus writes that meter in most (corpus/profile.py's meter_units), else 1/8. With
    only a rhythm, the unit its meters share, if they share one; else None (the model's
    choice)."""
    table = (profile or {}).get("meter_units") or DEFAULT["meter_units"]
    if meter:
        return table.get(normal_meter(meter), FALLBACK_UNIT)
    units = {table.get(m, FALLBACK_UNIT) for m in meters_for(rhythm) or ()} if rhythm else set()
    return units.pop() if len(units) == 1 else None


def _same(field_name: str, a: str, b: str) -> bool:
    """Do two values of a field say the same (``D`` and ``Dmaj``, ``Jig`` and ``jig``)?"""
    if field_name == "M":
        return normal_meter(a) == normal_meter(b)
    if field_name == "L":
        return parse_unit(a) is not None and parse_unit(a) == parse_unit(b)
    if field_name == "R":
        return (rhythm_name(a) or a.lower()) == (rhythm_name(b) or b.lower())
    if field_name == "K":
        return _mode(a) == _mode(b)
    return a == b


_MODES = {"": "", "maj": "", "major": "", "ion": "", "ionian": "", "m": "m", "min": "m",
          "minor": "m", "aeo": "m", "aeolian": "m", "mix": "mix", "mixolydian": "mix",
          "dor": "dor", "dorian": "dor"}


def _mode(key: str) -> str:
    """``Amin`` -> ``am``, ``D major`` -> ``d``: a key as one spelling."""
    k = "".join(key.lower().split())
    m = re.match(r"([a-g][#b]?)(.*)$", k)
    return m.group(1) + _MODES.get(m.group(2), m.group(2)) if m else k
