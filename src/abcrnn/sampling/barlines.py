"""Which bar lines the guide lets a tune write where (folk form, form.py's rules),
and the bar line being written character by character (``Row.barline``)."""
from __future__ import annotations

from abcrnn.sampling import form
from abcrnn.sampling.checks import ends_with_barline
from abcrnn.sampling.row import Row

BARLINE_CHARS = frozenset("|:[]0123456789,-")


def closes(rules: form.FormRules, r: Row, n: int) -> bool:
    """Does the part close at n bars? Drawn once per place (a redrawn bar meets the
    same answer), from the row's own random stream."""
    key = (r.place.parts_closed, r.place.ending, n)
    if key not in r.drawn:
        r.drawn[key] = r.rng.random() < form.close_share(rules, n)
    return r.drawn[key]


def starts_ending(rules: form.FormRules, r: Row, n: int, k: int) -> bool:
    """Does the part start a first ending of k bars after n bars? Only where it closes
    at n + k (``closes``, drawn now); drawn once per place, like ``closes``."""
    key = ("ending", r.place.parts_closed, n)
    if key not in r.drawn:
        r.drawn[key] = closes(rules, r, n + k) and r.rng.random() < form.ending_chance(rules, n, k)
    return r.drawn[key]


def at_full_bar(rules: form.FormRules, r: Row, bar) -> frozenset[str] | None:
    """The bar lines allowed after a full bar (None: any)."""
    return form.barlines(rules, r.place, 1, lambda n: closes(rules, r, n), bar.repeat_open,
                         lambda n, k: starts_ending(rules, r, n, k))


def firsts(allowed: frozenset[str] | None, closing: bool = True) -> set[str]:
    """The characters that may begin the bar line after a full bar (``allowed``, as
    at_full_bar gives them): ``|`` and ``:`` while the redraws are not spent
    (``closing``), as the model wants a bar line to begin, whichever of them the form
    allows (``closers`` then offers those whole). Masked, the model's wish for a bar line
    went to spaces: where a part had to close with ``:|``, 5% of them came after two
    spaces (the corpus: 0.2%)."""
    if allowed is None or closing:
        return {"|", ":"}
    return {t[0] for t in allowed}


def tokens(rules: form.FormRules, r: Row, bar, ch: str):
    """The bar lines allowed at the end of the open bar ``bar`` (barscan.OpenBar): a set,
    None (any), or False (no bar line may come yet)."""
    dur, exp = bar.duration, bar.expected
    if dur == 0:        # no music since the last bar line: the body's start, or a bar line
        if bar.first or not rules.folk:    # beside one across a space or a line ("|\n|:")
            return None                    # which is read with it: it may close a part only
        if r.place.just_closed:            # where that one could (notation/form.py's parts)
            return frozenset({"|", "|:"})
        return form.barlines(rules, r.place, 0, lambda n: closes(rules, r, n), bar.repeat_open,
                             lambda n, k: starts_ending(rules, r, n, k))
    if exp is None or dur == exp:
        return at_full_bar(rules, r, bar)
    if dur > exp:
        return False
    if bar.first:                                  # a pick-up
        return None
    if not rules.folk:           # an ending's first bar, or closed by a repeat (":|"): it
        return None if ch == ":" or bar.in_ending else False      # pairs with the pick-up
    pair = bool(r.place.pickup) and dur + r.place.pickup == exp
    allowed = form.barlines(rules, r.place, 1 if pair else 0, None, bar.repeat_open) or frozenset()
    closing = frozenset(t for t in allowed if t not in form.CONTINUE and t != "|1")
    return closing if pair and closing else False


def mask(r: Row, chars: frozenset) -> set[str]:
    """The characters that go on with the bar line being written (or end it)."""
    start, allowed = r.barline
    typed = r.text[start:]
    nxt = {t[len(typed)] for t in allowed if t.startswith(typed) and len(t) > len(typed)}
    if typed in allowed:
        nxt |= set(chars) - BARLINE_CHARS
    return nxt


def fits(r: Row, before: str, ch: str) -> bool:
    start, allowed = r.barline
    typed = before[start:]
    if ch in BARLINE_CHARS and any(t.startswith(typed + ch) for t in allowed):
        return True
    if typed in allowed and ch not in BARLINE_CHARS:
        r.barline = None                         # the bar line is complete
        return True
    return False


def closers(rules: form.FormRules, r: Row, before: str, ch: str) -> list[str] | None:
    """Where a part must close and several bar lines may close it (``:|``, ``||``,
    ``|]``...), or where ``ch`` begins none of the bar lines allowed (``|`` where ``:|``
    must come; ``firsts``): those, for the sampler to choose among as whole bar lines
    (guided.py). Drawn a character at a time, the first ``|`` (the model's usual "next bar") would
    carry its mass into ``||`` and ``|]``, and ``:|`` would be rare."""
    line = before.rsplit("\n", 1)[-1]
    if ch not in "|:" or before[-1:] in ("|", ":", "[") or (line[:1].isalpha() and line[1:2] == ":"):
        return None                      # (a field line; "|:" begins music)
    if line.startswith("%") or ends_with_barline(before):
        return None
    bar = r.open_bar(before)
    if bar.inside or bar.duration == 0:
        return None
    allowed = tokens(rules, r, bar, ch)
    if not allowed:
        return None
    if not any(t.startswith(ch) for t in allowed):
        return sorted(allowed)           # the model's bar line is one of those allowed
    if allowed & form.CONTINUE or "|1" in allowed or len(allowed) < 2:
        return None
    return sorted(allowed)
