"""The header the guide lets a tune have: which fields, in which numbers, with which
values. ``headers="folk"`` (the default) allows X, T (at most two), R, M, L and K, and
nothing that claims a source (Z:, D:, H:, S:, B:, N:, F:, C:, O:, A:...); ``"all"``
lets the model write any field, as the study's samples had.

Values: M: and L: come from the meters and unit lengths the model's own corpus used
(corpus/profile.py), so no bar is unwritable (say L:1/1 in 2/4); R: from its rhythms;
a meter agrees with the rhythm written before it (notation/rhythms.py) and a rhythm
with the meter; a value the musician asked for (rhythm, meter, key, unit, title) is
written as asked, and those fields must be there.
"""
from __future__ import annotations

from collections import Counter

from abcrnn.corpus.profile import DEFAULT
from abcrnn.notation.rhythms import agrees, meters_for, normal_meter

FOLK_FIELDS = frozenset("TRMLK")
FOLK_BODY_FIELDS = frozenset("PKML")        # part labels, key, meter and unit changes
ALL_BODY_FIELDS = frozenset("wWPVKMLQT")    # what abc2midi accepts inside a body
REQUIRED = ("T", "M", "L")
MAX_TITLES = 2
HEADER_LINES_MAX = 16
PART_LABELS = tuple("ABCDEF")                       # corpus headers: median 8 lines, 99th percentile 16


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
            if fit is not None:
                return tuple(m for m in self.meters if normal_meter(m) in fit) or fit
            if self.folk and "R" in self.required and rhythm is None and "R" not in self.fixed:
                # the rhythm comes later: a meter some rhythm of the corpus is written in
                return tuple(m for m in self.meters if any(agrees(r, m) is not False
                                                           for r in self.rhythms)) or self.meters
            return self.meters
        if name == "L":
            return self.units
        if name == "P" and self.folk:                 # a part's label in the body: A, B, C...
            return PART_LABELS
        if name == "R" and self.folk:
            meter = values.get("M") or self.fixed.get("M")
            if meter is None:
                return self.rhythms
            return tuple(r for r in self.rhythms if agrees(r, meter) is not False)
        return None

    def value_chars(self, line: str, values: dict) -> set[str] | None:
        """On a field line (``M:6/`` ...), the characters that keep it one of its values."""
        if len(line) < 2 or line[1] != ":":
            return None
        options = self.candidates(line[0], values)
        if options is None:              # free text (a title...): ends within MAX_VALUE characters
            return {"\n"} if len(line) - 2 >= MAX_VALUE else None
        value = line[2:]
        return ({v[len(value)] for v in options if v.startswith(value) and len(v) > len(value)}
                | ({"\n"} if value in options else set()))

