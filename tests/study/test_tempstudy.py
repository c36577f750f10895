"""Temperature study: diversity figures, the study on a tiny model, the command and its bad input."""
import csv
import json
import math

import pytest

from abcrnn.music import diversity
from abcrnn.notation.form import restated_bars
from abcrnn.study import tempstudy
from abcrnn.model.checkpoint import save_checkpoint
from abcrnn.cli.main import main
from conftest import TUNES, tiny_model

KEYS = [k for k, _, _ in tempstudy.METRICS]


def _save_model(folder, vocab):
    model = tiny_model(vocab)
    meta = {"model_config": model.config.to_dict(), "vocab": vocab.to_list()}
    save_checkpoint(folder, "model", model, meta, 1)
    return folder


def _defined_or_documented(row: dict) -> None:
    """Every metric present; finite, or None only where DEFINITIONS says it may be."""
    for key in KEYS:
        assert key in row, key
        value = row[key]
        if value is None:
            allowed = {"pct_bars_ok": row["bars_checked"] == 0,
                       "pitch_class_overlap": row["pct_valid"] == 0,
                       "pct_ended": row["temperature"] == "corpus",
                       "pct_repeated_bars": row["n_bars"] == 0,
                       "distinct_4": row["longest_body"] < 4, "distinct_8": row["longest_body"] < 8}
            assert allowed.get(key), f"{key} is None at T={row['temperature']}"
        else:
            assert math.isfinite(value), (key, value)


def test_parse_temperatures_reads_a_comma_separated_list():
    assert tempstudy.parse_temperatures("0.5, 0.8,1,2") == [0.5, 0.8, 1.0, 2.0]


@pytest.mark.parametrize("text", ["", "0.5,x", "0.5,,1", "0.5,-1", "nan", "inf", "1,1.0"])
def test_parse_temperatures_refuses_bad_lists(text):
    with pytest.raises(ValueError, match="temperatures"):
        tempstudy.parse_temperatures(text)


def test_distinct_n_is_distinct_over_all_ngrams_pooled_over_bodies():
    assert diversity.distinct_n(["abab"], 2) == pytest.approx(2 / 3)     # ab, ba, ab
    assert diversity.distinct_n(["abc", "abc"], 3) == pytest.approx(1 / 2)
    assert diversity.distinct_n(["ab", "c"], 3) is None


def test_repeated_bars_are_bars_equal_to_an_earlier_bar_of_the_same_tune():
    tune = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\nABcd|ABcd|efga|AB cd|]"
    assert restated_bars(tune) == (2, 4)
    other = "X:2\nT:u\nM:4/4\nL:1/8\nK:D\nABcd|dcBA|]"
    # the second tune's ABcd is new in that tune: repeats are counted within a tune
    assert diversity.repeated_bar_share([tune, other]) == pytest.approx(2 / 6)


def test_diversity_of_a_tune_repeated_forever_is_low():
    loop = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n" + "ABcd|" * 40
    fig = diversity.diversity([loop])
    assert fig["pct_repeated_bars"] == pytest.approx(100 * 39 / 40)
    assert fig["distinct_8"] < 0.05 < diversity.diversity(TUNES)["distinct_8"]


def test_example_is_the_first_tune_that_renders(tmp_path):
    two = TUNES[0] + "\n\n" + TUNES[2]                   # a sample that wrote a second tune
    no_key = "X:2\nT:a\n\nK:C\nabc|"                       # the header ends before K:
    ex = tempstudy.render_example([two, no_key, TUNES[1], TUNES[3]], tmp_path)
    assert ex["index"] == 3 and [s["index"] for s in ex["skipped"]] == [1, 2]
    assert (tmp_path / "example.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "example.mid").read_bytes()[:4] == b"MThd"
    assert (tmp_path / "example.abc").read_text().strip() == TUNES[1]


def test_temperature_study_on_a_tiny_model_produces_every_metric_for_every_t(tmp_path, vocab):
    study = tempstudy.Study([0.5, 1.0, 2.0], num_tunes=3, max_len=80, seed=3)
    result = tempstudy.run_study(tiny_model(vocab), vocab, TUNES, study, tmp_path, {"model": "tiny"})
    assert [r["temperature"] for r in result["rows"]] == [0.5, 1.0, 2.0]
    for row in result["rows"] + [result["corpus_reference"]]:
        _defined_or_documented(row)
    assert result["guide"] is False and result["decoding"] == "plain"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["temperature"] for r in table] == ["0.5", "1.0", "2.0", "corpus"]
    assert set(KEYS) <= set(table[0])
    md = (tmp_path / "results.md").read_text()
    assert all(f"| {t} |" in md for t in ("0.5", "1", "2", "corpus")) and "plain sampling" in md
    assert (tmp_path / "temperature.png").read_bytes()[:4] == b"\x89PNG"
    for t in ("T0.5", "T1.0", "T2.0"):
        side = json.loads((tmp_path / t / "tunes.abc.json").read_text())
        assert len(side["ended"]) == 3 and side["guide"] is False
        assert (tmp_path / t / "evaluation" / "evaluation.json").is_file()


def test_same_seed_gives_the_same_study(tmp_path, vocab):
    study = tempstudy.Study([1.0], num_tunes=2, max_len=40, seed=5)
    a = tempstudy.run_study(tiny_model(vocab), vocab, TUNES, study, tmp_path / "a")
    b = tempstudy.run_study(tiny_model(vocab), vocab, TUNES, study, tmp_path / "b")
    tunes = [(tmp_path / run / "T1.0" / "tunes.abc").read_text() for run in ("a", "b")]
    assert tunes[0] == tunes[1]
    assert a["rows"][0]["distinct_4"] == b["rows"][0]["distinct_4"]


def test_temperature_study_command_writes_every_file(tmp_path, vocab, corpus_file, capsys):
    model = _save_model(tmp_path / "model", vocab)
    out = tmp_path / "study"
    assert main(["temperature-study", "--model", str(model), "--corpus", str(corpus_file),
                 "--temperatures", "0.5,2", "--num-tunes", "2", "--max-len", "50", "--guide",
                 "--seed", "1", "--out", str(out)]) == 0
    assert "| 0.5 |" in capsys.readouterr().out
    result = json.loads((out / "results.json").read_text())
    assert result["guide"] is True and result["model"] == str(model)
    for row in result["rows"]:
        _defined_or_documented(row)
    for name in ("results.csv", "results.md", "temperature.png", "T0.5/tunes.abc", "T2.0/tunes.abc"):
        assert (out / name).is_file(), name


@pytest.mark.parametrize("flags, message", [
    (["--temperatures", "0.5,hot"], "temperatures must be comma-separated numbers"),
    (["--temperatures", "0.5,-1"], "finite numbers >= 0"),
    (["--num-tunes", "0"], "num-tunes must be between"),
    (["--workers", "0"], "workers must be at least 1"),
    (["--model", "NOMODEL"], "no model at"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, vocab, corpus_file, capsys, flags, message):
    model = _save_model(tmp_path / "model", vocab)
    out = tmp_path / "study"
    argv = ["temperature-study", "--model", str(model), "--corpus", str(corpus_file),
            "--out", str(out), *flags]
    argv = [str(tmp_path / a) if a == "NOMODEL" else a for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("abcrnn: error: ") and message in err[0]
    assert not out.exists()
