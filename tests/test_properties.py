"""Properties over generated inputs (hypothesis): corpus splitting keeps every tune,
vocabularies round-trip, evaluation reports any non-tune as invalid, and sampling only
ever writes vocabulary characters.

The bar checker's "never raises on arbitrary text" property already lives in
tests/test_bars.py (300 examples) and evaluation's "never raises" in
tests/test_evaluate.py; they are not repeated here. The evaluation property below
asks more: text without a K: field is *reported* invalid, with a reason."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import TUNES, tiny_model
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from abcrnn.corpus.read import load_corpus
from abcrnn.notation.tunes import format_tunebook, is_fragment, set_x, split_abc, wrap
from abcrnn.model.vocab import Vocab, VocabError
from abcrnn.notation.tunes import END, START
from abcrnn.sampling.sample import sample, tunes_to_abc

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- corpus splitting ------------------------------------------------------------------

# Any character that can sit inside one line of a UTF-8 text file (no line breaks, no NUL).
line_char = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00")
MUSIC = "ABCDEFGabcdefgzx|:[]()<>/23468,'^_=-~.!\"{} "
NOTES = "ABCDEFGabcdefg"


def clean_line(s: str) -> str:
    """Readers drop trailing whitespace of every line, so generated lines have none."""
    return s.rstrip()


@st.composite
def tune_texts(draw) -> str:
    """A whole tune (not a fragment): X:, T:, optional M:/L:/other fields, K:, music.
    Lines are never blank and never a bare <start>/<end> marker."""
    header = [f"X:{draw(st.integers(0, 10_000))}",
              "T:" + clean_line(draw(st.text(line_char, max_size=30)))]
    if draw(st.booleans()):
        header.append("M:" + draw(st.sampled_from(["4/4", "6/8", "3/4", "C|", "2/4"])))
    if draw(st.booleans()):
        header.append("L:" + draw(st.sampled_from(["1/8", "1/4", "1/16"])))
    extra = st.tuples(st.sampled_from("CORSZNH"), st.text(line_char, max_size=20))
    header += [f"{f}:{clean_line(v)}" for f, v in draw(st.lists(extra, max_size=3))]
    header.append("K:" + draw(st.sampled_from(["G", "D", "Am", "Em", "C", "Bb", "F#m", "Dmix"])))
    notes = draw(st.text(st.sampled_from(NOTES), min_size=2, max_size=2))   # never a field line
    first = notes + clean_line(draw(st.text(MUSIC, max_size=30)))
    more = draw(st.lists(st.text(MUSIC, max_size=40) | st.text(line_char, max_size=40), max_size=5))
    body = [first] + [clean_line(m) for m in more]
    lines = header + [ln for ln in body if ln.strip() and ln.strip() not in (START, END)]
    tune = "\n".join(lines)
    assert not is_fragment(tune)
    return tune


@FAST
@given(st.lists(tune_texts(), min_size=1, max_size=6), st.booleans())
def test_splitting_a_corpus_into_tunes_loses_no_tune_content(tunes, crlf):
    eol = "\r\n" if crlf else "\n"
    marked = "".join(f"{START}{eol}{t.replace(chr(10), eol)}{eol}{END}{eol}" for t in tunes)
    plain = "%abc-2.1\n% a file header, skipped\n\n" + "\n\n".join(tunes) + "\n"
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        (folder / "a.txt").write_bytes(marked.encode())
        (folder / "b.abc").write_bytes(plain.replace("\n", eol).encode())
        for name in ("a.txt", "b.abc"):
            corpus = load_corpus(folder / name)
            assert corpus.tunes == tunes and corpus.fragments == [] and corpus.rejoined == 0
        assert load_corpus(folder).tunes == tunes + tunes        # a folder: both files, sorted
    # joining them into a tunebook and splitting it again gives them back, renumbered
    book = format_tunebook(tunes)
    assert split_abc(book) == [set_x(t, i + 1) for i, t in enumerate(tunes)]


# --- vocabulary ----------------------------------------------------------------------------

@FAST
@given(st.lists(st.text(), min_size=1, max_size=5), st.data())
def test_encoding_then_decoding_gives_back_any_text_over_the_vocabulary(texts, data):
    vocab = Vocab.from_texts(texts)
    assert vocab.itos == sorted(set("".join(texts))) and len(vocab.stoi) == len(vocab)
    for text in texts:
        ids = vocab.encode(text)
        assert all(0 <= i < len(vocab) for i in ids) and vocab.decode(ids) == text
    if len(vocab):   # any new text over the same characters round-trips too
        text = data.draw(st.text(st.sampled_from(vocab.itos), max_size=50))
        assert vocab.decode(vocab.encode(text)) == text
    stranger = data.draw(st.characters(blacklist_categories=("Cs",)).filter(lambda c: c not in vocab.stoi))
    with pytest.raises(VocabError, match="not in the model's vocabulary"):
        vocab.encode("".join(texts) + stranger)


# --- evaluation --------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200) | st.text(alphabet="XTML:/1234ABCabcz|[]()\"!{}\n ", max_size=200),
       st.lists(st.booleans(), min_size=2, max_size=2))
def test_evaluation_reports_any_text_without_a_key_as_invalid(text, ended):
    from abcrnn.music import evaluate as ev
    assume("K:" not in text)
    tunes = [text, "X:1\nT:t\nM:4/4\nL:1/8\n" + text]
    report = ev.evaluate_tunes(tunes, TUNES, ended)
    assert [r["valid"] for r in report.rows] == [False, False]
    assert all(r["errors"] for r in report.rows)                 # every invalid tune says why
    assert [r["ended"] for r in report.rows] == ended
    assert all(set(r) == set(ev.ROW_FIELDS) for r in report.rows)
    assert report.aggregate["n_tunes"] == 2 and report.aggregate["pct_valid"] == 0


# --- sampling -------------------------------------------------------------------------------------

VOCAB = Vocab.from_texts([wrap(t) for t in TUNES])
MODELS = {cell: tiny_model(VOCAB, cell) for cell in ("lstm", "gru", "rnn")}
PRIME_CHARS = [c for c in VOCAB.itos if c not in "<>"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell=st.sampled_from(sorted(MODELS)), guide=st.booleans(),
       temperature=st.sampled_from([0.0]) | st.floats(0.05, 3.0),
       top_k=st.integers(0, len(VOCAB) + 3), top_p=st.floats(0.01, 1.0),
       prime=st.sampled_from(["", "X:1\nT:A\nM:4/4\nL:1/8\nK:G\n"]) | st.text(PRIME_CHARS, max_size=12),
       max_len=st.integers(1, 40), num_tunes=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_sampled_text_only_holds_vocabulary_characters(cell, guide, temperature, top_k, top_p, prime,
                                                       max_len, num_tunes, seed):
    samples = sample(MODELS[cell], VOCAB, prime, num_tunes, max_len, temperature, top_k, top_p, seed,
                     guide=guide)
    assert len(samples) == num_tunes
    for s in samples:
        assert set(s.text) <= set(VOCAB.itos), VOCAB.missing(s.text)
        assert s.text.startswith(f"{START}\n")
        assert len(s.text) <= len(f"{START}\n{prime}") + max_len
        if s.ended:
            assert s.text.endswith(END)
    book = tunes_to_abc(samples)
    assert START not in book and END not in book
