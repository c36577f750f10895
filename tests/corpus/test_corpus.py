
import pytest

from abcrnn.corpus.read import CorpusError, load_corpus
from abcrnn.notation.tunes import wrap
from abcrnn.model.tuneset import TuneSet
from abcrnn.model.vocab import Vocab
from abcrnn.corpus.split import split_tunes
from conftest import TUNES, marked

import torch


def test_marked_file_gives_every_tune_without_markers_and_crlf(corpus_file):
    corpus = load_corpus(corpus_file)
    assert corpus.tunes == TUNES
    assert all("\r" not in t and "<start>" not in t for t in corpus.tunes)


def test_plain_abc_file_splits_at_x_and_blank_lines(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text("%abc-2.1\nfile header\n\n" + "\n\n".join(TUNES[:3]) + "\n")
    assert load_corpus(path).tunes == TUNES[:3]


def test_folder_reads_both_kinds_recursively(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.abc").write_text("\n\n".join(TUNES[:2]))
    (tmp_path / "sub" / "b.txt").write_bytes(marked(TUNES[2:4]).encode())
    (tmp_path / "ignored.mid").write_bytes(b"MThd")
    corpus = load_corpus(tmp_path)
    assert corpus.tunes == TUNES[:4] and len(corpus.sources) == 2


def test_fragments_without_key_or_notes_are_dropped_and_counted(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(marked(TUNES[:2] + ["X:9\nT:No key\nABC", "X:10\nT:No notes\nK:G\n\"Am\" |"]))
    corpus = load_corpus(path)
    assert corpus.tunes == TUNES[:2] and len(corpus.fragments) == 2


def test_tune_cut_by_stray_markers_is_rejoined(tmp_path):
    path = tmp_path / "c.txt"
    cut = "X:7\nT:Cut\nC:Anon (\n<end>\n<start>\nXIVth c.)\nM:2/4\nL:1/8\nK:G\nGABc|d4|]"
    path.write_text(marked([TUNES[0]]) + f"<start>\n{cut}\n<end>\n")
    corpus = load_corpus(path)
    assert corpus.rejoined == 1
    assert "C:Anon (XIVth c.)" in corpus.tunes[1]


def test_corpus_with_no_complete_tune_is_refused(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(marked(["X:1\nT:nothing"]))
    with pytest.raises(CorpusError, match="no complete tune"):
        load_corpus(path)


def test_split_is_by_tune_disjoint_and_deterministic():
    train, val = split_tunes(100, 0.1, seed=7)
    assert len(val) == 10 and not set(train) & set(val)
    assert sorted(train + val) == list(range(100))
    assert (train, val) == split_tunes(100, 0.1, seed=7)
    assert val != split_tunes(100, 0.1, seed=8)[1]


def test_vocab_round_trip(vocab):
    text = "<start>\n" + TUNES[0] + "\n<end>"
    assert vocab.decode(vocab.encode(text)) == text
    assert Vocab(vocab.to_list()) == vocab


def test_batches_are_slices_of_single_tunes(vocab):
    ts = TuneSet.build(TUNES, vocab)
    wrapped = {wrap(t) for t in TUNES}
    idx, targets = ts.get_batch(8, 20, torch.Generator().manual_seed(0))
    assert idx.shape == targets.shape == (8, 20)
    for row in range(8):
        real = targets[row] >= 0
        x = vocab.decode(idx[row][real])
        assert any(x in w for w in wrapped)
        assert torch.equal(idx[row, 1:][real[1:]], targets[row, :-1][real[1:]])


def test_every_character_is_about_equally_likely_to_be_trained_on(vocab):
    ts = TuneSet.build(TUNES, vocab)
    idx, targets = ts.get_batch(20000, 16, torch.Generator().manual_seed(0))
    starts_at_tune_start = (idx[:, 0] == vocab.stoi["<"]) & (idx[:, 1] == vocab.stoi["s"])
    assert 0.15 < starts_at_tune_start.float().mean() < 0.5
    # the first character after <start>\n (X) is a target about as often as any other
    x_targets = (targets == vocab.stoi["X"]).sum() / len(TUNES)
    per_char = (targets >= 0).sum() / len(ts.flat)
    assert 0.6 < x_targets / per_char < 1.4


def test_short_tunes_are_padded_with_ignored_targets(vocab):
    ts = TuneSet.build(TUNES, vocab)
    idx, targets = ts.get_batch(4, 500, torch.Generator().manual_seed(0))
    wrapped = {wrap(t) for t in TUNES}
    for row in range(4):
        real = targets[row] >= 0
        # the whole tune: every character but the last as input, all but the first as target
        whole = vocab.decode(idx[row][real]) + vocab.decode(targets[row][real][-1:])
        assert whole in wrapped
    assert (targets[:, -1] == -1).all()
