"""abcrnn.evaluate with the real abc2midi on tiny hand-written tunes."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abcrnn.music.evaluate import AGGREGATE_FIELDS, ROW_FIELDS, body_text, evaluate_corpus, evaluate_tunes
from abcrnn.music.report import HISTOGRAMS, format_table, write_report
from abcrnn.music.musicstats import kl_divergence, midi_histograms, overlap
from abcrnn.music.novelty import CopyIndex
from abcrnn.tools.abc2midi import HARMLESS_ERRORS, parse_abc2midi, run_abc2midi
from abcrnn.music import musicstats

pytestmark = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi")

GOOD = """X:1
T:Good Reel
M:4/4
L:1/8
K:G
GA|:B2dB GBdB|c2ec BcdB|(3ABc dB AGFA|G2G2 G2:|"""

CORPUS = [
    """X:1
T:Scale Reel
M:4/4
L:1/8
K:D
DEFG ABcd|dcBA GFED|DEFG ABcd|d8|]""",
    """X:2
T:Jig
M:6/8
L:1/8
K:G
GAB cde|dBG AFD|GAB cde|d3 d3|]""",
    GOOD.replace("X:1", "X:3").replace("Good Reel", "Copy"),
]


def one(tune: str, **kw) -> dict:
    return evaluate_tunes([tune], CORPUS, **kw).rows[0]


def test_known_good_tune_passes_every_check():
    row = one(GOOD, ended=[True])
    assert row["valid"] and row["midi_written"] and row["notes"] > 20
    assert row["errors"] == [] and row["headers_ok"] and row["header_problems"] == []
    assert row["bars_checked"] == row["bars_ok"] == 5
    assert row["ended"] is True


def test_missing_key_fails_headers_and_validity():
    row = one(GOOD.replace("K:G\n", ""))
    assert not row["headers_ok"] and "missing K:" in row["header_problems"]
    assert not row["valid"]
    assert row["bars_checked"] == 0


def test_missing_unit_length_fails_headers_only():
    row = one(GOOD.replace("L:1/8\n", ""))
    assert row["header_problems"] == ["missing L:"] and row["valid"]


def test_header_field_in_body_is_an_error():
    row = one(GOOD + "\nC:Someone\nGABc dedB|")
    assert "Field not allowed in tune body" in row["errors"] and not row["valid"]
    assert "C: after K:" in row["header_problems"]


def test_bad_bar_length_fails_the_bar_check_but_stays_valid():
    row = one(GOOD.replace("c2ec BcdB", "c2ec BcdBA"))
    assert row["valid"]                      # abc2midi only warns about bar lengths
    assert row["bars_ok"] == row["bars_checked"] - 1


def test_garbage_is_invalid_and_does_not_crash():
    for text in ("hello world", "X:1\n}}}]]]|||::", "", "X:1\nT:t\nK:G\n"):
        row = one(text)
        assert not row["valid"]
    assert one("hello world")["errors"] == ["No tune processed. Possible missing X: field"]
    assert one("X:1\nT:t\nK:G\n")["errors"] == ["no notes"]


def test_harmless_errors_do_not_invalidate_a_tune():
    jig = "X:1\nT:t\nR:Hornpipe\nI:abc2nwc\nQ:fast\nM:6/8\nL:1/8\nK:G\nGAB cde|d6|]"
    row = one(jig)
    assert row["valid"] and row["errors"] == []
    assert set(row["harmless"]) == set(HARMLESS_ERRORS)


def test_malformed_chord_symbols_count_as_errors():
    row = one("X:1\nT:t\nM:6/8\nL:1/8\nK:G\n\"Xq\"GAB cde|d6|]")
    assert not row["valid"] and row["errors"] == ["Guitar chord does not start with A-G or a-g"]


def test_error_messages_are_grouped_into_categories():
    output = ("4.84 January 20 2023 abc2midi\n"
              "Error in line-char 7-9 : Field not allowed in tune body\n"
              "Error in line-char 12-0 : Unrecognized character: ?\n"
              "Error in line-char 13-1 : Unrecognized character: #\n"
              "Error in line-char 2-0 : Hornpipe must be in 2/4 or 4/4 time\n"
              "Error in line-char 3-0 : I: key ' abc2nwc' not recognized\n"
              "Warning in line-char 6-16 : Track 0 Bar 2 has 3/2 time units while ...\n")
    errors, harmless = parse_abc2midi(output)
    assert errors == ["Field not allowed in tune body"] + ["Unrecognized character: …"] * 2
    assert harmless == ["Hornpipe must be in N/N or N/N time", "I: key '…' not recognized"]


def test_a_copied_tune_is_a_near_copy():
    row = one(GOOD.replace("Good Reel", "New title"))
    assert row["max_similarity"] == 1.0 and row["near_copy"] and row["nearest_index"] == 2
    assert row["longest_copy"] == len(body_text(GOOD))


def test_a_new_tune_is_not_a_near_copy():
    row = one(GOOD.replace("B2dB GBdB|c2ec BcdB", "e2fe d2cB|A2FA d2fa"))
    assert not row["near_copy"] and 0.5 < row["max_similarity"] < 0.95
    assert 10 < row["longest_copy"] < len(body_text(GOOD))


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="abcd|", max_size=30), st.lists(st.text(alphabet="abcd|", max_size=30),
                                                       min_size=1, max_size=4))
def test_longest_copy_matches_brute_force(query, texts):
    def brute():
        return max((n for i in range(len(query)) for n in range(1, len(query) - i + 1)
                    if any(query[i:i + n] in t for t in texts)), default=0)
    assert CopyIndex(texts).longest_copy(query) == brute()


def test_corpus_reference_compares_each_tune_with_the_others():
    report = evaluate_corpus(CORPUS)
    rows = report.rows
    assert all(r["nearest_index"] not in (i, -1) for i, r in enumerate(rows))
    assert not any(r["near_copy"] for r in rows)     # no tune is matched with itself
    assert report.aggregate["pitch_class_overlap"] == pytest.approx(1.0)
    assert report.aggregate["pitch_class_kl"] == pytest.approx(0.0, abs=1e-9)
    assert report.aggregate["pct_ended"] is None


def test_corpus_duplicates_are_near_copies_of_each_other():
    rows = evaluate_corpus(CORPUS + [CORPUS[0]]).rows
    assert rows[0]["near_copy"] and rows[3]["near_copy"] and rows[3]["nearest_index"] == 0
    assert rows[0]["longest_copy"] == len(body_text(CORPUS[0]))


def test_histograms_come_from_the_midi_notes():
    _, midi = run_abc2midi("X:1\nT:s\nM:4/4\nL:1/8\nK:C\nCDEF GABc|c8|]")
    hist = midi_histograms(midi)
    assert hist["pitch_class"] == [3, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    assert hist["interval"][12 + 2] == 5 and hist["interval"][12 + 1] == 2 and hist["interval"][12] == 1
    assert hist["length"][musicstats.LENGTH_BINS.index(1 / 2)] == 8 and hist["length"][-1] == 1


def test_guitar_chords_do_not_count_as_melody():
    _, midi = run_abc2midi('X:1\nT:s\nM:4/4\nL:1/8\nK:C\n"C"C8|"G"G8|]')
    assert sum(midi_histograms(midi)["pitch_class"]) == 2


def test_overlap_and_kl_of_histograms():
    p, q = [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]
    assert overlap(p, p) == 1 and overlap(p, q) == 0.5
    assert kl_divergence(p, p) == pytest.approx(0) and kl_divergence(p, q) > 1
    assert overlap(None, p) is None and kl_divergence(p, None) is None


def test_report_json_and_csv_have_every_field(tmp_path):
    report = evaluate_tunes([GOOD, "garbage"], CORPUS, ended=[True, False])
    json_path, csv_path = write_report(report, tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert list(data["aggregate"]) == list(AGGREGATE_FIELDS)
    assert all(list(row) == list(ROW_FIELDS) for row in data["rows"])
    assert set(data["histograms"]) == set(HISTOGRAMS)
    agg = data["aggregate"]
    assert agg["n_tunes"] == 2 and agg["pct_valid"] == 50 and agg["pct_ended"] == 50
    assert agg["error_category_counts"] == {"No tune processed. Possible missing X: field": 1}
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(ROW_FIELDS) and len(rows) == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["evaluation.csv", "evaluation.json"]


def test_format_table_puts_the_corpus_beside_the_tunes():
    report = evaluate_tunes([GOOD, "garbage"], CORPUS)
    table = format_table(report, evaluate_corpus(CORPUS))
    assert "generated" in table.splitlines()[0] and "corpus" in table.splitlines()[0]
    valid = next(line for line in table.splitlines() if line.startswith("valid"))
    assert valid.split()[-2:] == ["50.0", "100.0"]
    assert "No tune processed" in table
    assert "corpus" not in format_table(report).splitlines()[0]


def test_ended_must_match_the_tunes():
    with pytest.raises(ValueError):
        evaluate_tunes([GOOD], CORPUS, ended=[True, False])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.text(alphabet="XTMLK:/1234ABCabc|[]()\"!{}\n ", max_size=300))
def test_evaluate_never_raises_on_arbitrary_text(text):
    report = evaluate_tunes([text, "X:1\nT:t\nM:4/4\nL:1/8\nK:C\n" + text], CORPUS)
    assert len(report.rows) == 2 and report.aggregate["n_tunes"] == 2


# --- form and the classifier test -------------------------------------------------------

def test_rows_and_aggregate_carry_the_form_measures():
    square = "X:1\nT:s\nR:reel\nM:C|\nL:1/8\nK:D\n|:" + "|".join(["ABcd efga"] * 8) + ":|"
    odd = "X:2\nT:o\nZ:id:made-up\nR:jig\nM:C|\nL:1/8\nK:D\n" + "|".join(["ABcd efga"] * 5) + "|]"
    report = evaluate_tunes([square, odd], CORPUS)
    assert [r["parts"] for r in report.rows] == [[8], [5]]
    assert [r["square"] for r in report.rows] == [True, False]
    assert [r["rhythm_meter"] for r in report.rows] == [True, False]
    assert [r["provenance"] for r in report.rows] == [[], ["Z"]]
    agg = report.aggregate
    assert agg["pct_square"] == 50 and agg["pct_parts_4_8_16"] == 50 and agg["pct_rhythm_meter"] == 50
    assert agg["pct_under_8_bars"] == 50 and agg["pct_provenance"] == 50
    assert "square tunes %" in format_table(report, evaluate_corpus(CORPUS))


def test_the_classifier_test_tells_different_sets_apart_and_not_equal_ones():
    pytest.importorskip("sklearn")
    from abcrnn.music.c2st import two_sample_accuracy
    import random
    rng = random.Random(0)
    a = ["".join(rng.choice("ABcdefg") for _ in range(60)) for _ in range(40)]
    b = ["".join(rng.choice("z234|:") for _ in range(60)) for _ in range(40)]
    assert two_sample_accuracy(a, b, seed=1).accuracy == 1.0
    same = two_sample_accuracy(a[:20], a[20:], seed=1)
    assert same.accuracy < 0.75 and same.per_class == 20
    assert two_sample_accuracy(a, b[:30], seed=3) == two_sample_accuracy(a, b[:30], seed=3)


def test_evaluate_c2st_from_the_command_line(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from abcrnn.cli.main import main
    tunes = tmp_path / "t.abc"
    tunes.write_text("\n\n".join(CORPUS * 5) + "\n")
    corpus = tmp_path / "c.abc"
    corpus.write_text("\n\n".join(CORPUS * 12) + "\n")
    assert main(["evaluate", str(tunes), "--corpus", str(corpus), "--c2st", "--out", str(tmp_path / "e")]) == 0
    assert "classifier accuracy" in capsys.readouterr().out
    agg = json.loads((tmp_path / "e" / "evaluation.json").read_text())["aggregate"]
    assert 0 <= agg["c2st_accuracy"] <= 1 and agg["c2st_tunes"] == len(CORPUS) * 5
