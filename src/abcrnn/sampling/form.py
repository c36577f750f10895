"""Folk form for the guide: what a musician asks for (rhythm, key, meter, the parts and
their repeats) and where a tune stands while it grows (the part being written, its
bars, its endings), so the guide can say which bar lines may come next and when the
tune may end.

Rules of ``structure="folk"`` (``"free"`` keeps none of them):
* a part closes (``:|``, ``||``, ``|]``, ``::``, ``|:``) only after 4, 8 or 16 bars
  counted as the evaluator counts them (notation/form.py), and must close at 16;
* a part takes first and second endings as often as the model's corpus's parts of its
  length do (``ending_chance``); a first ending closes the part with ``:|2`` at that
  length, and the second ending then has as many bars;
* the last note of a part is the tonic (the guide puts the tonic in its place);
* the tune may end only after a part has closed and it has 8 bars or more, and must
  end after ``MAX_PARTS`` parts; with ``form`` (``AABB``, ``ABC``, ``AABBCC``...) it has
  exactly those parts, each repeated (``AA``) or not (``A``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from abcrnn.corpus.profile import DEFAULT
from abcrnn.notation.bars import BOUNDARY
from abcrnn.notation.form import SQUARE_LENGTHS, count_bars
from abcrnn.notation.rhythms import RHYTHM_METERS, meters_for, normal_meter, rhythm_name
from abcrnn.notation.scanner import Bar
from abcrnn.sampling import symbols
from abcrnn.sampling.symbols import NOTE_LETTERS

STRUCTURES = ("folk", "free")
HEADERS = ("folk", "all")
MAX_PARTS = 6
MIN_BARS = 8
MAX_BARS = 64            # a tune this long ends at its next part's close (corpus: median 16-24)
CONTINUE = frozenset({"|"})
CLOSE = frozenset({":|", "||", "|]", "::", "|:"})
REPEAT_CLOSE = frozenset({":|", "::"})
_KEY = re.compile(r"[A-G][#b]?(m|min|maj|ion|mix|dor|phr|lyd|loc|aeo|minor|major|mixolydian|dorian)?$",
                  re.I)


@dataclass(frozen=True)
class FormRules:
    structure: str = "folk"
    headers: str = "folk"
    rhythm: str | None = None     # R: value to write (any the model's corpus used, or the table's)
    meter: str | None = None      # M: value
    key: str | None = None        # K: value
    unit: str | None = None       # L: value
    form: str | None = None       # parts and repeats, e.g. AABB
    title: str | None = None      # T: value
    restate: float | None = None  # bars restated by copying an earlier one; None: the corpus's share
    opening: str | None = None    # music the body starts with, written after the header
    profile: dict = field(default_factory=lambda: DEFAULT, compare=False, hash=False)

    def __post_init__(self):
        if self.structure not in STRUCTURES:
            raise ValueError(f"form structure must be one of {', '.join(STRUCTURES)}, got {self.structure!r}")
        if self.headers not in HEADERS:
            raise ValueError(f"headers must be one of {', '.join(HEADERS)}, got {self.headers!r}")
        for name in ("rhythm", "meter", "key", "unit", "title"):
            value = getattr(self, name)
            if value is not None and (not value.strip() or "\n" in value or len(value) > 60):
                raise ValueError(f"{name} must be one line of text, got {value!r}")
        if self.key is not None and not _KEY.match(self.key.strip()):
            raise ValueError(f"key {self.key!r} is not a key (examples: D, Em, Ador, Bb, F#m, Gmix)")
        if self.meter is not None and not re.fullmatch(r"\d+/\d+|C\|?", normal_meter(self.meter)):
            raise ValueError(f"meter {self.meter!r} is not a meter (examples: 6/8, 2/4, C|, 9/8)")
        if self.unit is not None and not re.fullmatch(r"1/(1|2|4|8|16|32|64)", self.unit.strip()):
            raise ValueError(f"unit length {self.unit!r} is not one (examples: 1/8, 1/16, 1/4)")
        if self.rhythm and not rhythm_name(self.rhythm) and not self._corpus_has(self.rhythm):
            known = ", ".join(sorted(RHYTHM_METERS))
            raise ValueError(f"rhythm {self.rhythm!r} is neither one abcrnn knows ({known}) "
                             "nor one the model's corpus has")
        if self.rhythm and self.meter and rhythm_name(self.rhythm):
            if normal_meter(self.meter) not in meters_for(self.rhythm):
                raise ValueError(f"a {self.rhythm} is written in {' or '.join(meters_for(self.rhythm))}, "
                                 f"not {self.meter}")
        if self.form is not None:
            plan(self.form)
        if self.opening is not None and (len(self.opening) > 1000 or "<" in self.opening
                                         or re.search(r"(^|\n)[A-Za-z]:", self.opening)):
            raise ValueError("the opening is music the tune's body starts with (at most 1,000 "
                             "characters; header field lines such as M:6/8 only before its music)")
        if self.restate is not None and not 0 <= self.restate <= 0.9:
            raise ValueError(f"restate must be a share between 0 and 0.9, got {self.restate}")

    def _corpus_has(self, rhythm: str) -> bool:
        """A rhythm outside the table may still be one the corpus writes (an air, a song)."""
        norm = " ".join(rhythm.lower().split())
        return any(" ".join(r.lower().split()) == norm for r in (self.profile or {}).get("rhythms") or ())

    @property
    def folk(self) -> bool:
        return self.structure == "folk"

    def restate_share(self) -> float:
        if self.restate is not None:
            return self.restate
        return float(self.profile.get("restated_share", DEFAULT["restated_share"]))

    def restated_from(self) -> dict:
        """Shares of restated bars by how far back (corpus/profile.py)."""
        return self.profile.get("restated_from") or DEFAULT["restated_from"]


def plan(form: str) -> list[bool]:
    """``AABB`` -> [True, True]: one entry per part, True when it is repeated."""
    if not re.fullmatch(r"[A-Z]+", form or ""):
        raise ValueError(f"form must be capital letters, one per part played (AABB, ABC, AABBCC), got {form!r}")
    runs = [m.group() for m in re.finditer(r"(.)\1*", form)]
    if any(len(r) > 2 for r in runs) or len(runs) != len({r[0] for r in runs}):
        raise ValueError(f"form {form!r}: each part once (A) or repeated (AA), in order, no part twice")
    if len(runs) > MAX_PARTS:
        raise ValueError(f"form {form!r}: at most {MAX_PARTS} parts")
    return [len(r) == 2 for r in runs]


@dataclass
class Place:
    """Where a growing tune stands, from its bars so far (first voice)."""
    parts_closed: int = 0        # parts finished
    tune_bars: int = 0           # bars of the finished parts
    bars: int = 0                # bars of the part being written (first ending only)
    pickup: object = 0           # duration of its short first bar (0: none)
    ending: int = 0              # the ending being written (0: none)
    ending1: int = 0             # bars of the part's first ending
    ending_bars: int = 0         # bars of the current ending so far
    just_closed: bool = False    # the last bar line closed a part
    opens_repeat: bool = False   # ... and opened a repeat ("::", "|:"): the tune goes on
    after_repeat: bool = False   # a ":|" closed a repeat and no "|:" opened one since:
                                 # abc2midi wants one before a first ending ("found [1 or
                                 # like before |:"; "||" does not do)


def place(bars: list[Bar], pending_ending: str = "") -> Place:
    """The Place after ``bars`` (all closed by a bar line). ``pending_ending``: the ending
    number the last bar line opened (``:|2``), which the next bar starts."""
    voice = bars[0].voice if bars else ""
    bars = [b for b in bars if b.voice == voice]
    p, start = Place(), 0
    for k, bar in enumerate(bars):
        nxt_ending = bars[k + 1].ending if k + 1 < len(bars) else pending_ending
        goes_on = bool(nxt_ending) and _num(nxt_ending) >= 2
        if BOUNDARY.search(bar.closed_by) and not goes_on:
            n = count_bars(bars[start:k + 1])
            if n:
                p.parts_closed, p.tune_bars = p.parts_closed + 1, p.tune_bars + n
            start = k + 1
        closed_by = bar.closed_by.strip()
        if bar.opened_by.strip().endswith(":"):      # a line opening with "|:"
            p.after_repeat = False
        if closed_by.endswith(":"):                  # "|:", "::": a repeat opens
            p.after_repeat = False
        elif ":|" in closed_by:                      # closed, unless a second ending follows
            p.after_repeat = not goes_on
    current = bars[start:]
    p.just_closed = bool(bars) and not current
    p.opens_repeat = p.just_closed and bars[-1].closed_by.rstrip().endswith(":")
    p.bars = count_bars(current)
    if current and current[0].expected is not None and current[0].duration < current[0].expected:
        p.pickup = current[0].duration
    ending = 0
    for bar in current:
        if bar.in_ending:
            ending = _num(bar.ending)
            if ending >= 2:
                p.ending_bars = 0
        if ending == 1:
            p.ending1 += 1
        elif ending >= 2:
            p.ending_bars += 1
    if pending_ending:
        ending = _num(pending_ending)
        p.ending_bars = 0
    p.ending = ending
    return p


def _num(ending: str) -> int:
    m = re.match(r"\d+", ending)
    return int(m.group()) if m else 1


def close_share(rules: FormRules, n: int) -> float:
    """How often a part that has reached ``n`` bars closes there, in the model's corpus:
    the corpus's parts of n bars against those of n bars or more (4, 8 or 16)."""
    lengths = rules.profile.get("part_lengths") or DEFAULT["part_lengths"]
    share = {k: float(lengths.get(str(k), 0)) for k in SQUARE_LENGTHS}
    later = sum(v for k, v in share.items() if k >= n)
    return share.get(n, 0.0) / later if later else 1.0


def ending_chance(rules: FormRules, n: int, k: int) -> float:
    """The chance that a part closing at n + k bars starts a first ending of k bars (1 or
    2) after n: the corpus's share of parts of n + k bars with numbered endings times
    its share of first endings of k bars (the profile's ``part_endings``, ``ending_bars``);
    the one-bar ending is asked of the parts that did not take a two-bar one."""
    ended = rules.profile.get("part_endings") or DEFAULT["part_endings"]
    lasting = rules.profile.get("ending_bars") or DEFAULT["ending_bars"]
    share = float(ended.get(str(n + k), 0.0))
    two = share * float(lasting.get("2", 0.0))
    if k == 2:
        return two
    return share * float(lasting.get("1", 0.0)) / (1 - two) if two < 1 else 0.0


def may_repeat(rules: FormRules, p: Place) -> bool:
    """May the part being written be played twice (``--form``'s ``A`` may not)?"""
    if rules.form is None:
        return True
    repeated = plan(rules.form)
    return repeated[min(p.parts_closed, len(repeated) - 1)]


def barlines(rules: FormRules, p: Place, counts: int, decide=None,
             repeat_open: bool = False, start_ending=None) -> frozenset[str] | None:
    """The bar lines allowed at the end of a bar that adds ``counts`` bars (1 for a full
    bar, 0 or 1 for a short last bar) to the part: None for no constraint. ``decide(n)``,
    if given, says whether a part that could close at n bars does (the guide draws it
    with close_share, so parts have the corpus's lengths, not only the model's say);
    ``start_ending(n, k)`` whether it starts a first ending of k bars after n (drawn
    with ending_chance: left to the model, the first endings fell where its own bar
    counting put them, which the part lengths mostly refused, 13% of parts against the
    corpus's 36%). A first ending closes the part at the first 4, 8 or 16 bars."""
    if not rules.folk:
        return None
    if p.ending >= 2:                             # a second ending as long as the first
        done = p.ending_bars + counts >= max(1, p.ending1)
        return frozenset({"||", "|]"}) if done else CONTINUE
    n = p.bars + counts
    close = n in SQUARE_LENGTHS
    if p.ending == 1:               # the part closes where the ending was drawn to close it
        return frozenset({":|2"}) if close else CONTINUE
    # a repeat opened with |: closes with :| (or ::); abc2midi wants it
    closing = REPEAT_CLOSE if repeat_open else CLOSE
    if rules.form is not None:
        repeated = plan(rules.form)
        i = min(p.parts_closed, len(repeated) - 1)
        last = p.parts_closed >= len(repeated) - 1
        closing = (frozenset({":|"}) if repeated[i] else frozenset({"||", "|]"} if not last else {"|]"}))
        if repeat_open:
            closing = frozenset({":|"})
    if p.parts_closed + 1 >= MAX_PARTS or p.tune_bars + n >= MAX_BARS:
        # the tune must end after this part: no bar line that opens a repeat (abc2midi:
        # "Missing :| at end of tune")
        closing = frozenset(closing - {"::", "|:"}) or frozenset({":|"})
    if n >= max(SQUARE_LENGTHS):
        return closing
    if close and decide is not None:
        close = decide(n)
        if close:
            return closing
    allowed = (CONTINUE | closing) if close else CONTINUE
    k = next((k for k in (1, 2) if n + k in SQUARE_LENGTHS), 0)
    if k and may_repeat(rules, p) and (repeat_open or not p.after_repeat):   # of 1 or 2 bars
        if start_ending is None:
            return allowed | {"|1"}
        if start_ending(n, k):
            return frozenset({"|1"})
    return allowed


def may_end(rules: FormRules, p: Place) -> bool:
    """May the tune end here (a part has just closed and it is long enough)?"""
    if not rules.folk:
        return True
    if not p.just_closed or p.opens_repeat or p.tune_bars < MIN_BARS:
        return False
    return rules.form is None or p.parts_closed >= len(plan(rules.form))


def must_end(rules: FormRules, p: Place) -> bool:
    if not rules.folk or not p.just_closed or p.opens_repeat:
        return False
    wanted = len(plan(rules.form)) if rules.form is not None else MAX_PARTS
    return p.parts_closed >= wanted or p.tune_bars >= MAX_BARS


def line_start(rules: FormRules, r, chars: frozenset, fields: frozenset) -> set[str]:
    """What a line of the body may begin with (row ``r``, the guide's Row; ``chars``: the
    vocabulary; ``fields``: the letters of body fields): ``<`` of ``<end>`` only where the
    tune may end (and must, once its last part closed), ``P`` only where a part closed."""
    if must_end(rules, r.place):
        return {"<"}
    # no digit: abc2midi reads "|" at a line's end and "1" at the next one's start as
    # an ending "|1", which the lexer (line by line) does not
    start = ({c for c in chars if not c.isalpha() and not c.isdigit()} | NOTE_LETTERS
             | set("xzZ") | fields) - {"\n"}
    if rules.folk:
        start = symbols.line_start(start, r.text, fields)
        if not (r.place.just_closed or r.place.parts_closed + r.place.bars == 0):
            start.discard("P")              # a part label ("P:B") closes a part
        if not r.text[r.body_start:].strip():
            start.discard("K")              # the header's key, changed before any music (make
            # demo's "K:Dmix" then "K:D"; no tune of the bundled corpus or Ryan's Mammoth does)
    empty = r.open_bar(r.text).duration == 0      # no music since the last bar line
    if r.no_end or not (empty and may_end(rules, r.place)):
        start.discard("<")                  # after a refused ending, or mid-part: more music
    return start


def part_label(line: str, body: str, parts_closed: int, names=()) -> set[str]:
    """On a part label line of the body (``line``: "P:" so far; ``body``: the tune's body
    up to it, or to its end), what makes it the next part's letter, the one after the
    last label or after as many parts as have closed (guided tunes skipped letters: a
    lone "P:E"), or, once a part has closed, one of the names the model's corpus gives
    parts (``names``: the profile's ``part_names``; "Variations:" and the like in 15% of
    the bundled corpus's tunes)."""
    before = body[: len(body) - len(line)] if body.endswith(line) else body    # not this line
    labels = re.findall(r"^P:([A-Z])[ \t]*$", before, re.M)
    label = chr(ord(labels[-1]) + 1) if labels and labels[-1] < "Z" else chr(ord("A") + min(parts_closed, 25))
    value = line[2:]
    options = (label, *names) if parts_closed else (label,)     # a name after music only
    return ({o[len(value)] for o in options if o.startswith(value) and len(o) > len(value)}
            | ({"\n"} if value in options else set()))
