"""Score tunes against a corpus: validity (abc2midi), headers, bar durations,
ending, novelty and pitch/interval/length statistics.

* validity - abc2midi writes a MIDI file with at least one note and prints no
  ``Error`` line other than the ``HARMLESS_ERRORS``. abc2midi exits 0 even on
  garbage, so its text is parsed; messages are grouped into categories by
  ``error_category`` (numbers and quoted text removed). A run that crashes, passes
  a limit or exits non-zero, and a tune refused before it runs (tools/screen.py),
  fail with a category of their own (tools/abc2midi.py).
* headers  - X, T, M, L, K present, X on the first line, no header-only field
  after K: (the header ends at the first K:, ``abc.header_and_body``).
* bars     - ``abcbars.bar_report``; the share is bars correct / bars checked.
* novelty  - compares tune *bodies* (the music after K:; titles and
  transcribers' notes are left out): the nearest corpus body by rapidfuzz's
  ``fuzz.ratio`` (normalised Indel similarity, 0..1), near-copies above
  ``NEAR_COPY``, and the longest run of characters found verbatim in a corpus
  body (suffix array of the corpus). For the corpus itself
  (``evaluate_corpus``) each tune is compared with the *other* tunes.
* statistics - from abc2midi's MIDI (note tracks only, repeats played out) of
  valid tunes: pitch classes, melodic intervals (-12..12, clipped) and note
  lengths (quarter notes, nearest of ``LENGTH_BINS``). The aggregate pools the
  counts of all valid tunes; ``*_overlap`` is the MGEval-style overlapping area
  (sum of minima of the normalised histograms) with the corpus's pooled
  histogram, ``*_kl`` is KL(tunes || corpus) with ``KL_EPS`` smoothing. Rows
  give each tune's own overlap with the corpus.

The corpus side (its MIDI statistics and suffix array) is cached in memory for
the last corpus seen, so scoring several samples against one corpus pays once.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from abcrnn.notation.tunes import header_and_body
from abcrnn.notation.bars import BarReport, bar_report
from abcrnn.music import formscore
from abcrnn.music.musicstats import kl_divergence, midi_histograms, normalise, overlap
from abcrnn.music.novelty import CopyIndex, nearest
from abcrnn.music.report import HISTOGRAMS, NEAR_COPY, Report
from abcrnn.tools.abc2midi import abc2midi_path, parse_abc2midi, run_abc2midi

REQUIRED_FIELDS = ("X", "T", "M", "L", "K")
HEADER_ONLY_FIELDS = "ABCDFGHOSXZ"   # ABC 2.1 fields not allowed in the body

_FIELD = re.compile(r"^([A-Za-z]):")


def check_headers(tune: str) -> list[str]:
    """Problems with the header (empty list: fine)."""
    header, body = header_and_body(tune)
    present = {m.group(1) for m in map(_FIELD.match, header) if m}
    problems = [f"missing {f}:" for f in REQUIRED_FIELDS if f not in present]
    if not header or not header[0].startswith("X:"):
        problems.append("X: not first")
    late = sorted({m.group(1) for m in map(_FIELD.match, body) if m and m.group(1) in HEADER_ONLY_FIELDS})
    problems += [f"{f}: after K:" for f in late]
    return problems


def body_text(tune: str) -> str:
    """The music after K: (the whole text when there is no K:)."""
    header, body = header_and_body(tune)
    return "\n".join(body) if body else tune


ROW_FIELDS = ("index", "chars", "valid", "midi_written", "notes", "errors", "harmless",
              "headers_ok", "header_problems", "bars_checked", "bars_ok", "ended",
              "max_similarity", "nearest_index", "near_copy", "longest_copy",
              *(f"{h}_overlap" for h in HISTOGRAMS), *formscore.ROW_FIELDS)
AGGREGATE_FIELDS = ("n_tunes", "pct_valid", "pct_headers_ok", "pct_bars_ok", "bars_checked",
                    "pct_ended", *formscore.AGGREGATE_FIELDS,
                    "pct_near_copies", "mean_max_similarity", "longest_copy_mean",
                    "longest_copy_max", *(f"{h}_{s}" for h in HISTOGRAMS for s in ("overlap", "kl")),
                    "c2st_accuracy", "c2st_std", "c2st_tunes",
                    "error_category_counts", "harmless_counts", "seconds")


@dataclass
class _Check:                              # what abc2midi and the checkers say about one tune
    errors: list[str]
    harmless: list[str]
    midi: bool
    hist: dict | None
    headers: list[str]
    bars: BarReport

    @property
    def valid(self) -> bool:
        return self.midi and not self.errors and bool(self.hist and sum(self.hist["pitch_class"]))


def _check(tune: str) -> _Check:
    output, midi = run_abc2midi(tune)
    errors, harmless = parse_abc2midi(output)
    hist = None
    if midi:
        try:
            hist = midi_histograms(midi)
        except Exception:  # noqa: BLE001 - a MIDI file mido cannot read
            errors.append("unreadable MIDI file")
    if not errors and not midi:       # every invalid tune shows at least one category
        errors.append("no MIDI file written")
    elif not errors and not sum(hist["pitch_class"]):
        errors.append("no notes")
    return _Check(errors, harmless, midi is not None, hist, check_headers(tune), bar_report(tune))


def _check_all(tunes: list[str], workers: int) -> list[_Check]:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:   # abc2midi runs outside the GIL
        return list(pool.map(_check, tunes))


def _pooled(checks: list[_Check]) -> dict[str, list[float] | None]:
    out = {}
    for h in HISTOGRAMS:
        counts = [c.hist[h] for c in checks if c.valid]
        out[h] = normalise([sum(col) for col in zip(*counts)]) if counts else None
    return out


@dataclass
class _Corpus:
    checks: list[_Check]
    bodies: list[str]
    pooled: dict
    index: CopyIndex


_CACHE: dict = {}


def _corpus(corpus_tunes: list[str], workers: int) -> _Corpus:
    key = tuple(corpus_tunes)
    if _CACHE.get("key") != key:
        checks = _check_all(corpus_tunes, workers)
        bodies = [body_text(t) for t in corpus_tunes]
        _CACHE.clear()
        _CACHE.update(key=key, value=_Corpus(checks, bodies, _pooled(checks), CopyIndex(bodies)))
    return _CACHE["value"]


def evaluate_tunes(tunes: list[str], corpus_tunes: list[str], ended: list[bool] | None = None,
                   workers: int = 2, c2st_seed: int | None = None) -> Report:
    """Score ``tunes`` (``ended[i]``: did sampling stop at ``<end>``) against ``corpus_tunes``;
    with ``c2st_seed`` also the classifier two-sample test of their bodies (music/c2st.py)."""
    abc2midi_path()
    if ended is not None and len(ended) != len(tunes):
        raise ValueError(f"ended has {len(ended)} values for {len(tunes)} tunes")
    start = time.monotonic()
    ref = _corpus(list(corpus_tunes), workers)
    checks = _check_all(list(tunes), workers)
    bodies = [body_text(t) for t in tunes]
    near = nearest(bodies, ref.bodies)
    copies = [ref.index.longest_copy(b) for b in bodies]
    test = None
    if c2st_seed is not None:
        from abcrnn.music.c2st import two_sample_accuracy
        test = two_sample_accuracy(bodies, ref.bodies, c2st_seed)
    return _report(list(tunes), checks, ref, near, copies, ended, start, test)


def evaluate_corpus(corpus_tunes: list[str], workers: int = 2, c2st_seed: int | None = None,
                    c2st_tunes: int = 100) -> Report:
    """The reference row: the corpus scored like generated tunes. Novelty compares each
    tune with the *other* corpus tunes; the pooled statistics match trivially (overlap 1);
    the classifier test sets two disjoint samples of ``c2st_tunes`` corpus tunes apart."""
    abc2midi_path()
    start = time.monotonic()
    ref = _corpus(list(corpus_tunes), workers)
    near = nearest(ref.bodies, ref.bodies, skip_self=True)
    test = None
    if c2st_seed is not None:
        from abcrnn.music.c2st import corpus_against_itself
        test = corpus_against_itself(ref.bodies, c2st_tunes, c2st_seed)
    return _report(list(corpus_tunes), ref.checks, ref, near, ref.index.longest_shared(), None, start, test)


def _report(tunes, checks, ref, near, copies, ended, start, c2st=None) -> Report:
    rows = []
    for i, (tune, chk) in enumerate(zip(tunes, checks)):
        row = {"index": i, "chars": len(tune), "valid": chk.valid, "midi_written": chk.midi,
               "notes": sum(chk.hist["pitch_class"]) if chk.hist else 0,
               "errors": chk.errors, "harmless": chk.harmless,
               "headers_ok": not chk.headers, "header_problems": chk.headers,
               "bars_checked": chk.bars.checked, "bars_ok": chk.bars.correct,
               "ended": None if ended is None else bool(ended[i]),
               "max_similarity": near[i][0], "nearest_index": near[i][1],
               "near_copy": near[i][0] > NEAR_COPY, "longest_copy": int(copies[i])}
        for h in HISTOGRAMS:
            row[f"{h}_overlap"] = overlap(normalise(chk.hist[h]) if chk.valid else None, ref.pooled[h])
        row.update(formscore.form_row(tune))
        rows.append(row)
    pooled = _pooled(checks)
    agg = _aggregate(rows, ended is not None) | formscore.form_aggregate(rows)
    if c2st is not None:
        agg.update(c2st_accuracy=c2st.accuracy, c2st_std=c2st.std, c2st_tunes=c2st.per_class)
    for h in HISTOGRAMS:
        agg[f"{h}_overlap"] = overlap(pooled[h], ref.pooled[h])
        agg[f"{h}_kl"] = kl_divergence(pooled[h], ref.pooled[h])
    agg["seconds"] = time.monotonic() - start
    agg = {k: agg.get(k) for k in AGGREGATE_FIELDS}
    hists = {h: {"tunes": pooled[h], "corpus": ref.pooled[h]} for h in HISTOGRAMS}
    return Report(rows, agg, hists)


def _aggregate(rows: list[dict], with_ended: bool) -> dict:
    from collections import Counter
    n = len(rows)

    def pct(key):
        return 100 * sum(bool(r[key]) for r in rows) / n if n else None

    checked = sum(r["bars_checked"] for r in rows)
    copies = [r["longest_copy"] for r in rows]
    return {"n_tunes": n, "pct_valid": pct("valid"), "pct_headers_ok": pct("headers_ok"),
            "pct_bars_ok": 100 * sum(r["bars_ok"] for r in rows) / checked if checked else None,
            "bars_checked": checked, "pct_ended": pct("ended") if with_ended else None,
            "pct_near_copies": pct("near_copy"),
            "mean_max_similarity": sum(r["max_similarity"] for r in rows) / n if n else None,
            "longest_copy_mean": sum(copies) / n if n else None,
            "longest_copy_max": max(copies, default=None),
            # number of tunes showing each category (not of messages)
            "error_category_counts": dict(Counter(c for r in rows for c in set(r["errors"])).most_common()),
            "harmless_counts": dict(Counter(c for r in rows for c in set(r["harmless"])).most_common())}
