"""Settings and inputs that used to fail with a message from deep inside (an overflow,
"cannot draw from a row...", a device called a folder): each now says what is wrong."""
from __future__ import annotations

import pytest
from test_bad_inputs import model_dir, refused, ws  # noqa: F401 - fixtures

import abcrnn


@pytest.mark.parametrize("command", [["generate"], ["corpus"], ["temperature-study"], ["heatmap"]])
def test_a_seed_out_of_range_is_refused_in_words(command, ws, capsys):
    refused([*command, "--seed", "1e23"], capsys, [ws],
            "argument --seed: a seed is a whole number from 0 to 9223372036854775807, got '1e23'", code=2)


def test_the_classifier_seed_is_bounded_by_what_scikit_learn_takes(ws, capsys):
    refused(["evaluate", str(ws / "tunes.abc"), "--c2st", "--seed", str(2**32)], capsys, [ws],
            f"a seed is a whole number from 0 to 4294967295, got '{2**32}'", code=2)


def test_a_train_seed_too_big_names_the_range(ws, capsys):
    refused(["train", "--out", str(ws / "run"), "--seed", str(10**23)], capsys, [ws],
            f"seed must be a whole number from 0 to {2**63 - 1}, got {10**23}")


@pytest.mark.parametrize("temperature", ["1e-320", "1e-300", "1e-7"])
def test_a_temperature_too_small_to_sample_with_says_so(temperature, model_dir, ws, capsys):
    refused(["generate", "--model", str(model_dir), "--temperature", temperature], capsys, [ws, model_dir],
            f"temperature {float(temperature):g} is too small to sample with", "or 0 for always the likeliest")


def test_the_smallest_temperature_allowed_still_samples(model_dir):
    greedy = abcrnn.load_model(model_dir).generate(2, temperature=0, seed=3, max_len=40, guide=False)
    tiny = abcrnn.load_model(model_dir).generate(2, temperature=1e-6, seed=3, max_len=40, guide=False)
    assert [t.abc for t in tiny] == [t.abc for t in greedy]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_as_corpus_is_named_a_device_not_a_folder(device, ws, capsys):
    refused(["train", "--corpus", device, "--out", str(ws / "run"), "--max-steps", "2"], capsys, [ws],
            f"corpus path {device} is neither an ABC file nor a folder")


def test_generate_reports_progress_until_every_tune_is_finished(model_dir):
    calls = []
    abcrnn.load_model(model_dir).generate(3, seed=1, max_len=300, progress=lambda f, n: calls.append((f, n)))
    assert calls[-1] == (3, 3) and len(calls) >= 2
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)


def test_a_rhythm_nobody_knows_is_refused_but_the_corpus_own_are_taken(model_dir, ws, capsys):
    refused(["generate", "--model", str(model_dir), "--rhythm", "foo"], capsys, [ws, model_dir],
            "rhythm 'foo' is neither one abcrnn knows", "nor one the model's corpus has")
    from abcrnn.sampling.form import FormRules
    assert FormRules(rhythm="Slow Air", profile={"rhythms": ["slow air"]}).rhythm == "Slow Air"
    assert FormRules(rhythm="Double Jig").rhythm == "Double Jig"        # the table's, by another name
