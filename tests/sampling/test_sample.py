import pytest
import torch

from abcrnn.notation.tunes import END
from abcrnn.model.vocab import VocabError
from abcrnn.sampling.draw import draw, inverse_cdf, pick
from abcrnn.sampling.sample import NUM_TUNES_CAP, sample, tunes_to_abc
from conftest import tiny_model


def test_seeded_sampling_is_reproducible(vocab):
    model = tiny_model(vocab)
    a = sample(model, vocab, num_tunes=3, max_len=50, seed=5, guide=False)
    b = sample(model, vocab, num_tunes=3, max_len=50, seed=5, guide=False)
    c = sample(model, vocab, num_tunes=3, max_len=50, seed=6, guide=False)
    assert [s.text for s in a] == [s.text for s in b]
    assert [s.text for s in a] != [s.text for s in c]


def test_temperature_zero_is_greedy(vocab):
    model = tiny_model(vocab)
    out = sample(model, vocab, prime="<start>\nX:", num_tunes=2, max_len=30, temperature=0, seed=1, guide=False)
    ids = vocab.encode(out[0].text)
    with torch.inference_mode():
        logits, _, _ = model(torch.tensor([ids]))
    n_prime = len("<start>\nX:")
    # every generated character is the argmax given everything before it
    assert ids[n_prime:] == logits[0, n_prime - 1:-1].argmax(-1).tolist()
    assert out[0].text == out[1].text


def test_top_k_one_equals_greedy():
    logits = torch.randn(5, 20)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(pick(logits, 1.0, 1, 1.0, gen), logits.argmax(-1))


def test_top_p_only_samples_from_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(2000, 1)
    ids = pick(logits, 1.0, 0, 0.75, torch.Generator().manual_seed(0))
    assert set(ids.tolist()) == {0, 1}


def test_draw_follows_the_probabilities_and_never_picks_a_zero():
    probs = torch.tensor([[0.5, 0.0, 0.3, 0.2, 0.0]]).repeat(200_000, 1)
    ids = draw(probs, torch.Generator().manual_seed(0))
    freq = torch.bincount(ids, minlength=5).double() / len(ids)
    # 200k draws: the standard error of each frequency is at most 0.0011
    assert torch.allclose(freq, probs[0].double(), atol=0.005)
    assert freq[1] == 0 and freq[4] == 0


def test_inverse_cdf_at_the_top_of_the_unit_interval_stays_on_a_possible_id():
    probs = torch.tensor([[0.25, 0.75, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3, 0.0]])
    top = torch.full((2, 1), 1.0, dtype=torch.float64).nextafter(torch.zeros(2, 1, dtype=torch.float64))
    assert inverse_cdf(probs, top).tolist() == [1, 2]
    # even u = 1 (outside [0, 1), so rounding cannot bite either)
    assert inverse_cdf(probs, torch.ones(2, 1, dtype=torch.float64)).tolist() == [1, 2]
    assert inverse_cdf(probs, torch.zeros(2, 1, dtype=torch.float64)).tolist() == [0, 0]
    # the boundary between id 0 and id 1 belongs to id 1: [cdf[k-1], cdf[k])
    assert inverse_cdf(probs[:1], torch.tensor([[0.25]], dtype=torch.float64)).tolist() == [1]


@pytest.mark.parametrize("row", [[0.0, 0.0, 0.0], [float("nan"), 0.5, 0.5]])
def test_draw_refuses_a_row_with_nothing_to_draw(row):
    probs = torch.tensor([[0.2, 0.3, 0.5], row])
    with pytest.raises(ValueError, match="all zero or NaN"):
        draw(probs, torch.Generator().manual_seed(0))


class NextCharTable(torch.nn.Module):
    """A model whose next character depends only on the current one (a lookup table)."""

    def __init__(self, vocab, table: dict[str, str]):
        super().__init__()
        self.logits = torch.full((len(vocab), len(vocab)), -30.0)
        for a, b in table.items():
            self.logits[vocab.stoi[a], vocab.stoi[b]] = 30.0

    def forward(self, idx, targets=None, state=None):
        return self.logits[idx], None, state


def test_generation_stops_at_end_marker(vocab):
    # after the prime: "A" then "<end>", then (if not stopped) "A" forever
    table = {"\n": "A", "A": "<", "<": "e", "e": "n", "n": "d", "d": ">", ">": "A"}
    model = NextCharTable(vocab, table)
    out = sample(model, vocab, prime="<start>\n", num_tunes=3, max_len=500, seed=0, guide=False)
    assert [s.text for s in out] == ["<start>\nA<end>"] * 3
    assert all(s.ended for s in out)


def test_generation_without_end_stops_at_max_len(vocab):
    model = NextCharTable(vocab, {"\n": "A", "A": "A"})
    out = sample(model, vocab, prime="<start>\n", max_len=25, seed=0, guide=False)
    assert out[0].text == "<start>\n" + "A" * 25 and not out[0].ended


def test_generation_respects_max_len_and_end(vocab):
    model = tiny_model(vocab)
    for s in sample(model, vocab, num_tunes=4, max_len=40, seed=3, guide=False):
        gen = s.text[len("<start>\n"):]
        if s.ended:
            assert gen.endswith(END) and END not in gen[:-len(END)]
        else:
            assert len(gen) == 40


def test_unknown_prime_characters_are_named(vocab):
    model = tiny_model(vocab)
    with pytest.raises(VocabError, match="'€'"):
        sample(model, vocab, prime="X:1\nT:€uro\n", guide=False)


@pytest.mark.parametrize("kw,match", [
    ({"temperature": -1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"top_k": -1}, "top-k"), ({"top_p": 0.0}, "top-p"), ({"top_p": 1.5}, "top-p"),
    ({"max_len": 0}, "max-len"), ({"num_tunes": 0}, "num-tunes"),
    ({"num_tunes": NUM_TUNES_CAP + 1}, "num-tunes")])
def test_out_of_range_settings_are_refused(vocab, kw, match):
    with pytest.raises(ValueError, match=match):
        sample(tiny_model(vocab), vocab, **kw, guide=False)


def test_output_is_clean_numbered_abc(vocab):
    from abcrnn.sampling.net import Generated
    samples = [Generated("<start>\nX:9\nT:a\nK:G\nGAB|\n<end>", True),
               Generated("<start>\nT:b\nK:D\nDEF", False)]
    text = tunes_to_abc(samples)
    assert text == "X:1\nT:a\nK:G\nGAB|\n\nX:2\nT:b\nK:D\nDEF\n"
