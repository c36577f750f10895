"""Temperature study (issue 4): sample N tunes at each temperature, score them, plot
every metric against T, render one example tune per T.

Per temperature the N tunes come from one batched ``sample.sample`` call with the
same seed for every T (common random numbers: the temperatures differ in T, not in
luck), plain by default (the model's own distribution, as the study sampled) or
structure-guided. They are scored exactly as ``abcrnn evaluate`` scores them
(``evaluate.evaluate_tunes`` with the ``ended`` flags), one sample per tune even
when a sample holds a blank line, plus the diversity figures of ``diversity.py``.
The corpus row scores the corpus itself (``evaluate.evaluate_corpus``; distinct-n
over disjoint groups of N corpus tunes, so its pooled length is comparable).

The example tune of each T is the first sample (X:1) that renders to MIDI and PNG;
samples that fail to render (a second tune inside, no K: field) are skipped and listed.

Output folder: results.csv / .md / .json, temperature.png, and per T a folder
``T<value>/`` with tunes.abc (+ .json sidecar like ``generate --out``),
evaluation/ (``evaluate --out`` files), example.abc, example.mid, example.png.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from abcrnn.notation.tunes import START, set_x, strip_markers

DEFAULT_TEMPERATURES = (0.5, 0.8, 1.0, 1.5, 2.0)
EXAMPLE_FORMATS = ("mid", "png")
# (key, label, format); every one of them is in each row, None where undefined
METRICS = (("pct_valid", "valid (abc2midi) %", "{:.1f}"), ("pct_headers_ok", "headers ok %", "{:.1f}"),
           ("pct_bars_ok", "bars ok %", "{:.1f}"), ("pct_ended", "ended at <end> %", "{:.1f}"),
           ("mean_chars", "mean length (chars)", "{:.0f}"), ("distinct_4", "distinct 4-grams", "{:.3f}"),
           ("distinct_8", "distinct 8-grams", "{:.3f}"),
           ("pct_repeated_bars", "repeated bars %", "{:.1f}"),
           ("mean_max_similarity", "nearest-corpus similarity", "{:.3f}"),
           ("pct_near_copies", "near copies %", "{:.1f}"),
           ("longest_copy_mean", "longest copy, mean chars", "{:.1f}"),
           ("longest_copy_max", "longest copy, max chars", "{:.0f}"),
           ("pitch_class_overlap", "pitch-class overlap", "{:.3f}"))
NOT_PLOTTED = {"longest_copy_max"}
DEFINITIONS = {
    "pct_valid .. pitch_class_overlap": "as in `abcrnn evaluate` (evaluate.py)",
    "pct_bars_ok": "None when no bar could be checked",
    "pitch_class_overlap": "None when no tune is valid (no MIDI to count)",
    "pct_ended": "None for the corpus (it was not sampled)",
    "distinct_4, distinct_8": "distinct / all character n-grams pooled over the N bodies (diversity.py); "
                              "None when no body is n characters long (longest_body < n)",
    "pct_repeated_bars": "bars equal (spaces ignored) to an earlier bar of the same tune, pooled "
                         "over the n_bars bars of the N tunes; None when n_bars is 0",
    "mean_chars": "characters per tune as written to tunes.abc (markers stripped, X: set)",
}


@dataclass
class Study:
    temperatures: list[float]
    num_tunes: int = 50
    max_len: int = 3000
    guide: bool = False
    seed: int = 1337
    workers: int = 2


def parse_temperatures(text: str) -> list[float]:
    """"0.5,0.8,1" -> [0.5, 0.8, 1.0]; ValueError for anything else."""
    items = [s.strip() for s in str(text).split(",")]
    try:
        values = [float(s) for s in items]
    except ValueError:
        raise ValueError(f"temperatures must be comma-separated numbers such as 0.5,1.0,2.0; "
                         f"got {text!r}") from None
    bad = [v for v in values if not math.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"temperatures must be finite numbers >= 0 (0 = greedy); got {bad[0]}")
    if len(set(values)) != len(values):
        raise ValueError(f"temperatures must not repeat; got {text!r}")
    return values


def check_study(study: Study) -> None:
    """ValueError for any setting out of range, before anything is sampled or written."""
    from abcrnn.sampling.sample import check_params
    if not study.temperatures:
        raise ValueError("give at least one temperature")
    for t in study.temperatures:
        check_params(t, 0, 1.0, study.max_len, study.num_tunes)
    if study.workers < 1:
        raise ValueError(f"workers must be at least 1, got {study.workers}")


def folder_name(t: float) -> str:
    return f"T{float(t)}"                     # T0.5, T1.0, T2.0


def run_study(model, vocab, corpus_tunes: list[str], study: Study, out, meta: dict | None = None,
              log=None) -> dict:
    """Run the study into ``out``; returns what results.json holds."""
    from abcrnn.music.render import find_tools
    from abcrnn.tools.abc2midi import abc2midi_path
    check_study(study)
    find_tools(EXAMPLE_FORMATS)               # a missing renderer fails before any sampling
    abc2midi_path()
    log = log or (lambda msg: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log(f"scoring the corpus ({len(corpus_tunes)} tunes) as the reference row")
    reference = corpus_reference(corpus_tunes, study)
    rows = []
    for t in study.temperatures:
        rows.append(_one_temperature(model, vocab, corpus_tunes, t, study, out / folder_name(t)))
        r = rows[-1]
        log(f"T={t}: valid {_cell(r['pct_valid'])}%, ended {_cell(r['pct_ended'])}%, "
            f"distinct-8 {_cell(r['distinct_8'], '{:.3f}')}, sampled in {r['seconds_sampling']:.1f} s")
    result = {**(meta or {}), **asdict(study), "decoding": "guided" if study.guide else "plain",
              "example_rule": "the first sample, in order from X:1, that renders to MIDI and PNG",
              "definitions": DEFINITIONS, "rows": rows, "corpus_reference": reference}
    write_results(result, out)
    return result


def corpus_reference(corpus_tunes: list[str], study: Study) -> dict:
    """The corpus scored like a sample: the row the temperatures are compared with."""
    from abcrnn.music.diversity import diversity, grouped_distinct
    from abcrnn.music.evaluate import evaluate_corpus
    agg = evaluate_corpus(corpus_tunes, workers=study.workers).aggregate
    row = {"temperature": "corpus", **diversity(corpus_tunes),
           **grouped_distinct(corpus_tunes, study.num_tunes, study.seed)}
    row.update({k: agg.get(k) for k, _, _ in METRICS if k in agg})
    return row | {"n_tunes": agg["n_tunes"], "bars_checked": agg["bars_checked"]}


def _one_temperature(model, vocab, corpus_tunes, t: float, study: Study, folder: Path) -> dict:
    from abcrnn.files import atomic_write
    from abcrnn.music.diversity import diversity
    from abcrnn.music.evaluate import evaluate_tunes
    from abcrnn.music.report import write_report
    from abcrnn.sampling.sample import sample, tunes_to_abc
    device = next(model.parameters()).device
    start = time.monotonic()
    samples = sample(model, vocab, START, study.num_tunes, study.max_len, t, 0, 1.0, study.seed,
                     device, guide=study.guide)
    sampled = time.monotonic() - start
    # the same text tunes_to_abc writes, one entry per sample
    tunes = [set_x(strip_markers(s.text), i + 1) for i, s in enumerate(samples)]
    ended = [s.ended for s in samples]
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "tunes.abc", tunes_to_abc(samples))
    sidecar = {"prime": START, "temperature": t, "top_k": 0, "top_p": 1.0, "max_len": study.max_len,
               "seed": study.seed, "guide": study.guide, "ended": ended}
    atomic_write(folder / "tunes.abc.json", json.dumps(sidecar, indent=1))
    start = time.monotonic()
    report = evaluate_tunes(tunes, corpus_tunes, ended, workers=study.workers)
    write_report(report, folder / "evaluation")
    row = {"temperature": t, **{k: report.aggregate.get(k) for k, _, _ in METRICS},
           **diversity(tunes), "n_tunes": len(tunes), "bars_checked": report.aggregate["bars_checked"]}
    row.update(seconds_sampling=sampled, seconds_scoring=time.monotonic() - start)
    row["example"] = render_example(tunes, folder)
    return row


def render_example(tunes: list[str], folder: Path) -> dict:
    """example.abc/.mid/.png in ``folder`` from the first tune that renders."""
    from abcrnn.files import atomic_write
    from abcrnn.tools.programs import MissingToolError
    from abcrnn.music.render import RenderError, render_tune
    skipped = []
    for i, tune in enumerate(tunes):
        try:
            files = render_tune(tune, folder, EXAMPLE_FORMATS, stem="example")
        except MissingToolError:
            raise                                  # not the tune's fault
        except (RenderError, ValueError) as e:     # ValueError: the sample holds two tunes
            skipped.append({"index": i + 1, "reason": str(e)})
            continue
        atomic_write(folder / "example.abc", tune + "\n")
        return {"index": i + 1, "files": {f: p.name for f, p in files.items()} | {"abc": "example.abc"},
                "skipped": skipped}
    return {"index": None, "files": {}, "skipped": skipped}


def _cell(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def markdown_table(rows: list[dict], reference: dict | None = None) -> str:
    """One row per temperature (and the corpus row), one column per metric."""
    head = ["T"] + [label for _, label, _ in METRICS]
    lines = ["| " + " | ".join(head).replace("<end>", "`<end>`") + " |", "|" + "---|" * len(head)]
    for r in rows + ([reference] if reference else []):
        cells = [f"{r['temperature']:g}" if isinstance(r["temperature"], float) else str(r["temperature"])]
        cells += [_cell(r.get(k), fmt) for k, _, fmt in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(result: dict, out: Path) -> None:
    """results.json, results.csv, results.md and temperature.png in ``out``."""
    from abcrnn.files import atomic_write
    rows, ref = result["rows"], result["corpus_reference"]
    atomic_write(out / "results.json", json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    cols = ["temperature", *(k for k, _, _ in METRICS), "n_tunes", "bars_checked",
            "seconds_sampling", "seconds_scoring"]
    lines = [",".join(cols)]
    for r in rows + [ref]:
        lines.append(",".join("" if r.get(c) is None else str(r.get(c)) for c in cols))
    atomic_write(out / "results.csv", "\n".join(lines) + "\n")
    head = (f"Model `{result.get('model', '?')}`, {result['decoding']} sampling "
            f"({'--guide' if result['guide'] else '--no-guide'}), {result['num_tunes']} tunes per T, "
            f"max-len {result['max_len']}, seed {result['seed']}; corpus row: "
            f"`{result.get('corpus', '?')}` scored itself (distinct-n over "
            f"{ref.get('distinct_groups')} groups of {result['num_tunes']} tunes).\n\n")
    atomic_write(out / "results.md", head + markdown_table(rows, ref) + "\n" + _examples_md(rows))
    plot_study(rows, ref, out / "temperature.png")


def _examples_md(rows: list[dict]) -> str:
    lines = ["Example tunes (the first sample of each T that renders):", ""]
    for r in rows:
        ex, folder = r["example"], folder_name(r["temperature"])
        files = ", ".join(f"{folder}/{name}" for name in ex["files"].values()) or "none rendered"
        lines.append(f"- T={r['temperature']:g}: tune {ex['index']} ({files})")
    return "\n".join(lines) + "\n"


def plot_study(rows: list[dict], reference: dict | None, path) -> None:
    """One small panel per metric against T; the corpus value as a dashed line."""
    from abcrnn.figures import pyplot, save_figure
    plt = pyplot()
    metrics = [m for m in METRICS if m[0] not in NOT_PLOTTED]
    cols = 4
    nrows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.0 * cols, 2.3 * nrows), sharex=True, squeeze=False)
    ts = [r["temperature"] for r in rows]
    for ax, (key, label, _) in zip(axes.flat, metrics):
        ys = [math.nan if r.get(key) is None else r[key] for r in rows]   # gaps where undefined
        ax.plot(ts, ys, marker="o", lw=1.2)
        if reference and reference.get(key) is not None:
            ax.axhline(reference[key], color="grey", ls="--", lw=0.9, label="corpus")
        ax.set_title(label, fontsize=8)
        ax.set_xticks(ts)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    if reference:
        axes.flat[0].legend(fontsize=7)
    fig.supxlabel("temperature T", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
