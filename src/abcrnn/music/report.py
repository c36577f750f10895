"""An evaluation's results: the Report (rows per tune, aggregate, histograms), its
table with the corpus column beside it, its files (evaluation.json / .csv) and the
short quality row shown beside a tune (tunebook, web)."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from abcrnn.files import atomic_write

NEAR_COPY = 0.95
HISTOGRAMS = ("pitch_class", "interval", "length")


@dataclass
class Report:
    rows: list[dict]                       # one per tune (evaluate.ROW_FIELDS)
    aggregate: dict                        # evaluate.AGGREGATE_FIELDS
    histograms: dict = field(default_factory=dict)   # name -> {"tunes": [...], "corpus": [...]}

    def to_dict(self) -> dict:
        return {"aggregate": self.aggregate, "histograms": self.histograms, "rows": self.rows}


def quality_row(row: dict) -> dict:
    """The figures of one tune worth showing beside it (tunebook, web)."""
    bars = f"{row['bars_ok']}/{row['bars_checked']}" if row["bars_checked"] else "-"
    out = {"valid (abc2midi)": row["valid"], "errors": "; ".join(row["errors"]) or "none",
           "header fields in order": row["headers_ok"], "bars of the right length": bars,
           "parts (bars each)": " + ".join(map(str, row["parts"])) or "-",
           "every part 4, 8 or 16 bars": row["square"],
           "ends on the tonic": row["tonic_ending"],
           "R: agrees with M:": row["rhythm_meter"],
           "nearest corpus tune similarity": row["max_similarity"],
           "longest copied run (chars)": row["longest_copy"],
           "pitch-class overlap": row["pitch_class_overlap"]}
    if row["ended"] is not None:
        out["ended at <end>"] = row["ended"]
    return out


def _cell(value) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return "" if value is None else value


def write_report(report: Report, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``evaluation.json`` (everything) and ``evaluation.csv`` (per-tune rows) atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "evaluation.json", json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(report.rows[0]) if report.rows else [],
                            lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    atomic_write(out / "evaluation.csv", buf.getvalue())
    return out / "evaluation.json", out / "evaluation.csv"


TABLE = (("tunes", "n_tunes", "{:.0f}"), ("valid (abc2midi) %", "pct_valid", "{:.1f}"),
         ("headers ok %", "pct_headers_ok", "{:.1f}"), ("bars ok %", "pct_bars_ok", "{:.1f}"),
         ("bars checked", "bars_checked", "{:.0f}"), ("ended at <end> %", "pct_ended", "{:.1f}"),
         ("square tunes %", "pct_square", "{:.1f}"), ("parts of 4/8/16 bars %", "pct_parts_4_8_16", "{:.1f}"),
         ("parts", "n_parts", "{:.0f}"), ("R: agrees with M: %", "pct_rhythm_meter", "{:.1f}"),
         ("tunes with a known R:", "rhythm_checked", "{:.0f}"),
         ("ends on the tonic %", "pct_tonic_ending", "{:.1f}"),
         ("restated bars %", "pct_restated_bars", "{:.1f}"),
         ("tunes under 8 bars %", "pct_under_8_bars", "{:.1f}"),
         ("mean length, bars", "mean_tune_bars", "{:.1f}"),
         ("claims a source (Z:, D:...) %", "pct_provenance", "{:.1f}"),
         (f"near copies (>{NEAR_COPY}) %", "pct_near_copies", "{:.1f}"),
         ("mean max similarity", "mean_max_similarity", "{:.3f}"),
         ("longest copy, mean chars", "longest_copy_mean", "{:.1f}"),
         ("longest copy, max chars", "longest_copy_max", "{:.0f}"),
         *((f"{h.replace('_', '-')} {s}", f"{h}_{s}", "{:.3f}") for h in HISTOGRAMS
           for s in ("overlap", "kl")),
         ("classifier accuracy (0.5 = alike)", "c2st_accuracy", "{:.3f}"),
         ("seconds", "seconds", "{:.1f}"))


def format_table(report: Report, reference: Report | None = None, top: int = 10,
                 label: str = "generated") -> str:
    """The aggregate figures, with the reference (corpus) column beside them."""
    def cell(rep, key, fmt):
        value = None if rep is None else rep.aggregate.get(key)
        return "-" if value is None else fmt.format(value)

    head = f"{'metric':<34}{label:>12}" + (f"{'corpus':>12}" if reference else "")
    lines = [head, "-" * len(head)]
    for name, key, fmt in TABLE:
        lines.append(f"{name:<34}{cell(report, key, fmt):>12}"
                     + (f"{cell(reference, key, fmt):>12}" if reference else ""))
    counts = report.aggregate.get("error_category_counts") or {}
    ref_counts = reference.aggregate.get("error_category_counts") or {} if reference else {}
    if counts:
        lines += ["", "error categories (tunes)"]
        for cat, n in list(counts.items())[:top]:
            lines.append(f"  {n:>5}" + (f" {ref_counts.get(cat, 0):>5}" if reference else "") + f"  {cat}")
    return "\n".join(lines)
