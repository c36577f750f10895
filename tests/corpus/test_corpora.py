"""Bigger corpora: folders of many .abc files and their quirks, music21's collections,
the on-disk cache of encoded corpora, and the compact storage of encoded tunes."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TUNES, marked

from abcrnn.corpus import cache as corpuscache
from abcrnn.corpus import read as corpora
from abcrnn.corpus.read import CorpusError, load_corpus, repair_cp437
from abcrnn.notation.tunes import set_x, split_abc, wrap
from abcrnn.cli.main import main
from abcrnn.model.tuneset import TuneSet
from abcrnn.model.vocab import Vocab
from abcrnn.corpus.encode import encode_tunes
from abcrnn.corpus.split import fingerprint
from abcrnn.training.config import TrainConfig
from abcrnn.training.runstate import prepare

HAS_MUSIC21 = importlib.util.find_spec("music21") is not None


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test gets its own cache folder (never the user's)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("ABCRNN_CACHE", str(folder))
    return folder


def book(tunes) -> str:
    return "%abc-2.1\n% file header\n\n" + "\n\n".join(tunes) + "\n"


def vocab_of(tunes) -> Vocab:
    return Vocab.from_texts([wrap(t) for t in tunes])


def one_error_line(argv, capsys) -> str:
    assert main(argv) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("abcrnn: error: ") and out == "", err
    return lines[0]


# --- folders and the quirks of real ABC files -------------------------------------------

def test_folder_of_many_files_gives_every_tune_in_sorted_path_order(tmp_path):
    root = tmp_path / "books"
    for i in range(300):            # nested folders, names that sort differently as numbers
        sub = root / f"set{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"t{i}.abc").write_text(book([set_x(TUNES[i % 6], i)]))
    (root / ".git").mkdir()
    (root / ".git" / "junk.abc").write_text(book(TUNES))       # hidden: skipped
    corpus = load_corpus(root)
    files = sorted(root.rglob("t*.abc"))
    assert corpus.sources == [str(f) for f in files] and len(corpus.tunes) == 300
    assert corpus.tunes[0] == set_x(TUNES[0], 0)
    assert corpus.tunes == [split_abc(f.read_text())[0] for f in files]


def test_tunes_without_blank_lines_between_them_are_split_at_each_x(tmp_path):
    (tmp_path / "b.abc").write_text("\n".join(TUNES[:3]) + "\n")
    assert load_corpus(tmp_path / "b.abc").tunes == TUNES[:3]


def test_comments_and_directives_inside_a_tune_are_kept_and_the_file_header_skipped(tmp_path):
    tune = "X:1\nT:Kept\n%%MIDI program 1\nM:2/4\nL:1/8\n% a comment\nK:G\nGA Bc|d4|]"
    (tmp_path / "b.abc").write_text("% Copyright\n%%pagewidth 21cm\nfree text\n" + tune + "\n")
    assert load_corpus(tmp_path / "b.abc").tunes == [tune]


def test_declared_latin1_file_is_read_and_byte_order_mark_dropped(tmp_path):
    tune = "X:1\nT:Caf\u00e9\nM:2/4\nL:1/8\nK:G\nGA Bc|d4|]"
    (tmp_path / "l.abc").write_bytes(("%%abc-charset iso-8859-1\n\n" + tune).encode("latin-1"))
    (tmp_path / "u.abc").write_bytes(b"\xef\xbb\xbf" + tune.encode())
    assert load_corpus(tmp_path).tunes == [tune, tune]


def test_undeclared_latin1_file_is_refused_with_a_hint(tmp_path, capsys):
    (tmp_path / "l.abc").write_bytes("X:1\nT:Caf\u00e9\nK:G\nGA|]".encode("latin-1"))
    line = one_error_line(["corpus", str(tmp_path)], capsys)
    assert "l.abc is not valid UTF-8 (byte 9)" in line and "%%abc-charset iso-8859-1" in line


def test_unknown_declared_charset_is_refused(tmp_path):
    (tmp_path / "x.abc").write_bytes(b"I:abc-charset klingon-8\nX:1\nK:G\nGA|]")
    with pytest.raises(CorpusError, match="unknown abc-charset 'klingon-8'"):
        load_corpus(tmp_path)


def test_c1_mojibake_is_read_as_the_cp437_letters_it_stands_for():
    assert repair_cp437("eingef\x81hrt, Stra\x9een, \x8egypten, caf\u00e9") == \
        "eingef\u00fchrt, Stra\u00dfen, \u00c4gypten, caf\u00e9"


@pytest.mark.parametrize("make, needle", [
    (lambda d: None, "holds no .abc or .txt files"),
    (lambda d: (d / "notes.txt").write_text("just prose, no tune\n"), "holds no complete tune"),
    (lambda d: (d / "e.abc").write_text("  \n"), "holds only empty files"),
])
def test_folder_with_no_tune_is_refused_in_one_line(tmp_path, capsys, make, needle):
    folder = tmp_path / "c"
    folder.mkdir()
    make(folder)
    assert needle in one_error_line(["corpus", str(folder)], capsys)


def test_unreadable_file_is_named_in_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "a.abc").write_text(book(TUNES))
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied")) if p.name == "a.abc" else real(p))
    assert "cannot read" in one_error_line(["corpus", str(tmp_path)], capsys)


# --- music21 collections -------------------------------------------------------------------

@pytest.fixture
def fake_music21(tmp_path, monkeypatch):
    """A stand-in music21 package with one ABC collection, found before any real one."""
    pkg = tmp_path / "site" / "music21"
    (pkg / "corpus" / "tinyFolk").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('never imported')\n")
    (pkg / "corpus" / "tinyFolk" / "a.abc").write_text(book(TUNES[:3]))
    (pkg / "corpus" / "tinyFolk" / "b.abc").write_text(book(TUNES[3:]).replace("Tiny", "Tiny M\x81hle"))
    (pkg / "corpus" / "bach").mkdir()
    (pkg / "corpus" / "bach" / "x.mxl").write_bytes(b"PK")
    monkeypatch.delitem(__import__("sys").modules, "music21", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return pkg


def test_music21_collection_is_read_as_text_from_the_installed_package(fake_music21):
    corpus = load_corpus("music21:tinyFolk")
    assert len(corpus.tunes) == 6 and corpus.tunes[:3] == TUNES[:3]
    assert "T:Tiny M\u00fchle Polka" in corpus.tunes[3]          # mojibake mended
    assert corpus.sources[0] == str(fake_music21 / "corpus" / "tinyFolk" / "a.abc")


@pytest.mark.parametrize("spec, needle", [
    ("music21:nosuch", "music21 has no collection 'nosuch'; its ABC collections are tinyFolk"),
    ("music21:../../etc", "expected music21:NAME with NAME one of tinyFolk"),
    ("music21:bach", "music21 has no ABC files in 'bach'; its ABC collections are tinyFolk"),
])
def test_unknown_music21_collection_is_refused_with_the_list(fake_music21, capsys, spec, needle):
    assert needle in one_error_line(["corpus", spec], capsys)


def test_missing_music21_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(corpora.importlib.util, "find_spec", lambda name: None)
    line = one_error_line(["corpus", "music21:essenFolksong"], capsys)
    assert "pip install 'abcrnn[corpora]'" in line


@pytest.mark.skipif(not HAS_MUSIC21, reason="music21 is not installed (pip install 'abcrnn[corpora]')")
def test_real_essen_folksong_collection_loads_without_mojibake():
    corpus = load_corpus("music21:essenFolksong")
    assert len(corpus.tunes) == 8514 and not corpus.fragments
    chars = set("".join(corpus.tunes))
    assert not any(0x80 <= ord(c) < 0xA0 for c in chars) and len(vocab_of(corpus.tunes)) <= 256


# --- compact encoding ------------------------------------------------------------------------

def test_encoded_tunes_equal_per_character_encoding_in_one_byte_each(vocab):
    flat, lengths = encode_tunes(TUNES, vocab)
    assert flat.dtype == np.uint8 and lengths.tolist() == [len(wrap(t)) for t in TUNES]
    assert flat.tolist() == [i for t in TUNES for i in vocab.encode(wrap(t))]


def test_a_vocabulary_over_256_characters_is_stored_in_int16():
    tunes = [TUNES[0] + "\n%" + "".join(chr(0x400 + i) for i in range(300))]
    vocab = vocab_of(tunes)
    flat, _ = encode_tunes(tunes, vocab)
    assert flat.dtype == np.int16 and vocab.decode(flat) == wrap(tunes[0])


def test_a_character_outside_the_vocabulary_is_named(vocab):
    with pytest.raises(ValueError, match="not in the model's vocabulary: '\u00e9'"):
        encode_tunes([TUNES[0] + "\u00e9"], vocab)


def test_tune_set_keeps_one_byte_per_character_and_batches_are_int64(vocab):
    ts = TuneSet.build(TUNES, vocab)
    assert ts.flat.dtype == torch.uint8
    idx, targets = ts.get_batch(4, 16, torch.Generator().manual_seed(0))
    assert idx.dtype == targets.dtype == torch.long
    assert targets.min() >= -1 and idx.max() < len(vocab)
    idx, targets = ts.padded([0, 2])
    assert idx.dtype == torch.long and vocab.decode(idx[1][targets[1] >= 0]) == wrap(TUNES[2])[:-1]


def test_subset_of_an_encoded_corpus_equals_building_those_tunes(vocab):
    flat, lengths = encode_tunes(TUNES, vocab)
    part = TuneSet.from_encoded(flat, lengths, [4, 1])
    built = TuneSet.build([TUNES[4], TUNES[1]], vocab)
    assert torch.equal(part.flat, built.flat) and torch.equal(part.offsets, built.offsets)


# --- the cache ---------------------------------------------------------------------------------

def test_cache_misses_once_then_hits_with_the_same_ids(cache, vocab):
    fp = fingerprint(TUNES)
    first = corpuscache.encoded_corpus(TUNES, vocab, fp)
    second = corpuscache.encoded_corpus(TUNES, vocab, fp)
    assert (first.hit, second.hit) == (False, True)
    assert np.array_equal(first.flat, second.flat) and np.array_equal(first.lengths, second.lengths)
    doc = json.loads(next(cache.glob("*.json")).read_text())
    assert doc["fingerprint"] == fp and doc["dtype"] == "uint8" and doc["tunes"] == 6
    assert not list(cache.glob(".*.tmp"))
    assert np.load(cache / doc["files"]["ids"]["name"], allow_pickle=False).dtype == np.uint8


def test_changed_tunes_or_vocabulary_miss_the_cache(vocab):
    corpuscache.encoded_corpus(TUNES, vocab, fingerprint(TUNES))
    changed = TUNES[:5] + [TUNES[5].replace("F4", "F2F2")]
    assert not corpuscache.encoded_corpus(changed, vocab, fingerprint(changed)).hit
    bigger = Vocab(vocab.itos + ["\u00e9"])
    assert not corpuscache.encoded_corpus(TUNES, bigger, fingerprint(TUNES)).hit
    assert corpuscache.encoded_corpus(TUNES, vocab, fingerprint(TUNES)).hit


def test_damaged_cache_entry_is_encoded_again_and_rewritten(cache, vocab):
    fp = fingerprint(TUNES)
    corpuscache.encoded_corpus(TUNES, vocab, fp)
    ids = next(cache.glob("*.ids.npy"))
    data = bytearray(ids.read_bytes())
    data[-1] ^= 0xFF
    ids.write_bytes(bytes(data))
    again = corpuscache.encoded_corpus(TUNES, vocab, fp)
    assert not again.hit and again.flat.tolist() == encode_tunes(TUNES, vocab)[0].tolist()
    assert corpuscache.encoded_corpus(TUNES, vocab, fp).hit


def test_cache_off_or_unwritable_still_encodes(cache, vocab, monkeypatch, tmp_path):
    monkeypatch.setenv("ABCRNN_CACHE", "off")
    assert not corpuscache.encoded_corpus(TUNES, vocab, fingerprint(TUNES)).hit
    assert not cache.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ABCRNN_CACHE", str(blocker / "sub"))       # a file where a folder must be
    assert not corpuscache.encoded_corpus(TUNES, vocab, fingerprint(TUNES)).hit


def test_prepare_gives_the_same_sets_from_the_cache_as_from_the_text(tmp_path, cache):
    (tmp_path / "c.txt").write_bytes(marked(TUNES).encode())
    cfg = TrainConfig(corpus=str(tmp_path / "c.txt"), seq_len=16, val_frac=0.34)
    vocab1, _, split1, fp1 = prepare(cfg)
    _, sets2, _, fp2 = prepare(cfg)
    assert len(list(cache.glob("*.json"))) == 1 and fp1 == fp2 == fingerprint(TUNES)
    for name in ("train", "val"):
        texts = [TUNES[i] for i in split1[name]]
        expected = TuneSet.build(texts, vocab1)
        assert torch.equal(sets2[name].flat, expected.flat)
        assert torch.equal(sets2[name].lengths, expected.lengths)
