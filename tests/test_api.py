"""The public Python API (abcrnn.load_model(...).generate(...) and friends) and the
README's example, run as written."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TUNES, marked

import abcrnn
from abcrnn.cli.main import main
from abcrnn.notation.tunes import header_and_body

ROOT = Path(__file__).resolve().parents[1]


def test_import_abcrnn_is_cheap_and_lists_its_api():
    code = "import sys, abcrnn; print(sorted(m for m in sys.modules if m.startswith(('torch', 'abcrnn.'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert set(abcrnn.__all__) <= set(dir(abcrnn)) and callable(abcrnn.load_model)
    with pytest.raises(AttributeError):
        abcrnn.no_such_thing          # noqa: B018


def test_generate_gives_tunes_with_their_facts():
    model = abcrnn.load_model()
    tunes = model.generate(num_tunes=2, seed=7, max_len=400)
    assert [t.index for t in tunes] == [0, 1] and [t.seed for t in tunes] == [7, 8]
    assert all(t.abc.startswith(f"X:{i + 1}\n") and t.guide and t.temperature == 1.0
               for i, t in enumerate(tunes))
    assert [t.abc for t in model.generate(num_tunes=2, seed=7, max_len=400)] == [t.abc for t in tunes]
    fresh = model.generate(seed=None, max_len=200)[0]
    assert model.generate(seed=fresh.seed, max_len=200)[0].abc == fresh.abc


def test_each_tune_of_a_batch_is_the_tune_its_own_seed_gives():
    model = abcrnn.load_model()
    batch = model.generate(num_tunes=3, seed=20, max_len=600)
    alone = model.generate(num_tunes=1, seed=batch[2].seed, max_len=600)[0]
    assert alone.abc.split("\n", 1)[1] == batch[2].abc.split("\n", 1)[1]      # all but X:


def test_the_cli_and_the_api_write_the_same_tunes(tmp_path, capsys):
    assert main(["generate", "--num-tunes", "3", "--seed", "11", "--max-len", "500"]) == 0
    cli = capsys.readouterr().out
    api = abcrnn.load_model().generate(num_tunes=3, seed=11, max_len=500)
    assert cli == "\n\n".join(t.abc.rstrip("\n") for t in api) + "\n"


def test_generate_refuses_bad_settings_in_words():
    model = abcrnn.load_model()
    for kw, words in [({"temperature": -1}, "temperature"), ({"seed": -3}, "seed"),
                      ({"seed": 1.5}, "seed"), ({"num_tunes": 0}, "num-tunes")]:
        with pytest.raises(ValueError, match=words):
            model.generate(**kw)


def test_train_evaluate_render_and_load_corpus_on_a_tiny_corpus(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_bytes(marked(TUNES).encode())
    assert len(abcrnn.load_corpus(corpus).tunes) == len(TUNES)
    model = abcrnn.train(corpus=str(corpus), out=str(tmp_path / "run"), max_steps=4, eval_interval=2,
                         hidden_size=16, embed_size=8, seq_len=16, progress=False)
    assert model.meta["step"] == 4 and (tmp_path / "run" / "model.json").is_file()
    tunes = model.generate(num_tunes=2, seed=1, max_len=120)
    report = abcrnn.evaluate(tunes, corpus=TUNES)
    assert report.aggregate["n_tunes"] == 2 and [r["ended"] for r in report.rows] == [t.ended for t in tunes]
    files = abcrnn.render(TUNES[:2], tmp_path / "r", formats=("mid",))
    assert [sorted(f) for f in files] == [["mid"], ["mid"]] and all(f["mid"].stat().st_size for f in files)


def readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "the README has no Python example"
    return blocks[0]


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path):
    out = subprocess.run([sys.executable, "-c", readme_python()], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "X:1" in out.stdout
    assert list((tmp_path / "out" / "api-demo").glob("*.svg"))


def test_the_api_names_are_not_shadowed_by_subpackages():
    """A subpackage imported as abcrnn.<name> becomes an attribute of abcrnn: none may
    share a name with the API (abcrnn.train was once the training subpackage)."""
    import importlib
    import pkgutil
    for sub in pkgutil.iter_modules(abcrnn.__path__):
        if sub.name != "__main__":                  # that one runs the command line
            importlib.import_module(f"abcrnn.{sub.name}")
    for name in abcrnn.__all__:
        assert not isinstance(getattr(abcrnn, name), type(abcrnn)), name


def test_the_neural_cache_fitted_at_training_can_be_mixed_into_sampling(tmp_path):
    shipped = abcrnn.load_model()
    assert shipped.cache_config().lam > 0
    plain = shipped.generate(num_tunes=2, seed=3, max_len=300)
    cached = shipped.generate(num_tunes=2, seed=3, max_len=300, cache=True)
    assert [t.abc for t in plain] != [t.abc for t in cached]
    (tmp_path / "m").mkdir()
    meta = json.loads((shipped.path / "model.json").read_text())
    del meta["cache"]
    shutil.copy(shipped.path / meta["weights"]["file"], tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="no fitted cache"):
        abcrnn.load_model(tmp_path / "m").generate(cache=True)


def test_plain_sampling_writes_the_asked_header_and_form_names_the_structure():
    model = abcrnn.load_model()
    tune = model.generate(seed=2, guide=False, meter="6/8", key="D", max_len=100)[0]
    assert tune.abc.startswith("X:1\nM:6/8\nL:1/8\nK:D\n")      # the meter's unit, not left implied
    free = model.generate(seed=8, form="free", headers="all", max_len=400)[0].abc
    assert free == model.generate(seed=8, structure="free", headers="all", max_len=400)[0].abc
    with pytest.raises(ValueError, match="vocabulary"):
        model.generate(title="T€st")


def test_an_openings_header_lines_merge_with_the_settings_one_field_each():
    model = abcrnn.load_model()
    for guide in (True, False):
        tune = model.generate(seed=3, max_len=300, guide=guide, meter="3/4", title="Asked",
                              opening="X:5\nT:My Tune\nM:6/8\n|:GAB")[0]
        header, body = header_and_body(tune.abc)
        assert [ln for ln in header if ln[:2] in ("M:", "T:")] == ["T:My Tune", "M:6/8"], tune.abc
        assert header[-1].startswith("K:") and "L:1/8" in header
        assert "\n".join(body).startswith("|:GAB") and "T:" not in "\n".join(body)
        assert tune.notes == ("the opening's T:My Tune is used instead of the title Asked you chose",
                              "the opening's M:6/8 is used instead of the meter 3/4 you chose")


def test_a_header_prime_with_settings_is_merged_as_an_opening():
    model = abcrnn.load_model()
    tune = model.generate(seed=3, max_len=100, prime="X:1\nM:6/8\nK:G\n", meter="3/4")[0]
    header, _ = header_and_body(tune.abc)
    assert [ln for ln in header if ln.startswith("M:")] == ["M:6/8"] and header[-1] == "K:G"
    assert tune.notes == ("the opening's M:6/8 is used instead of the meter 3/4 you chose",)


def test_a_chosen_meter_implies_its_corpus_unit_not_abcs_sixteenths():
    for tune in abcrnn.load_model().generate(num_tunes=3, seed=1, max_len=60, meter="2/4", title="P"):
        assert "L:1/8" in header_and_body(tune.abc)[0], tune.abc


def test_the_cli_merges_the_opening_as_the_api_does_and_says_what_gave_way(capsys):
    args = ["generate", "--seed", "4", "--max-len", "300", "--meter", "3/4",
            "--opening", r"M:6/8\n|:GAB"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    api = abcrnn.load_model().generate(seed=4, max_len=300, meter="3/4", opening="M:6/8\n|:GAB")
    assert out == api[0].abc.rstrip("\n") + "\n"
    assert "abcrnn: note: the opening's M:6/8 is used instead of the meter 3/4 you chose" in err
