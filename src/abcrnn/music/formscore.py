"""The form columns of an evaluation: per tune (its parts, square or not, R:/M:,
tonic ending, restated bars, length, provenance) and pooled over tunes. The
measures themselves are notation/form.py's."""
from __future__ import annotations

from abcrnn.notation.form import SQUARE_LENGTHS, form_facts

ROW_FIELDS = ("parts", "square", "tune_bars", "rhythm", "rhythm_meter", "tonic_ending",
              "restated_bars", "bars_compared", "provenance")
AGGREGATE_FIELDS = ("pct_square", "pct_parts_4_8_16", "n_parts", "pct_rhythm_meter",
                    "rhythm_checked", "pct_tonic_ending", "pct_restated_bars", "pct_under_8_bars",
                    "mean_tune_bars", "pct_provenance")


def form_row(tune: str) -> dict:
    f = form_facts(tune)
    return {"parts": [p.bars for p in f.parts], "square": f.square, "tune_bars": f.bars,
            "rhythm": f.rhythm, "rhythm_meter": f.rhythm_meter, "tonic_ending": f.tonic_ending,
            "restated_bars": f.restated, "bars_compared": f.bars_compared, "provenance": f.provenance}


def _pct(hits: int, n: int) -> float | None:
    return 100 * hits / n if n else None


def form_aggregate(rows: list[dict]) -> dict:
    """Shares in percent: of tunes (square, under 8 bars, provenance), of parts (4/8/16),
    of tunes whose R: names a rhythm with a fixed meter, of tunes with a key (tonic), of
    bars (restated). None where nothing was there to count."""
    n = len(rows)
    parts = [b for r in rows for b in r["parts"]]
    rm = [r["rhythm_meter"] for r in rows if r["rhythm_meter"] is not None]
    tonic = [r["tonic_ending"] for r in rows if r["tonic_ending"] is not None]
    compared = sum(r["bars_compared"] for r in rows)
    return {"pct_square": _pct(sum(r["square"] for r in rows), n),
            "pct_parts_4_8_16": _pct(sum(b in SQUARE_LENGTHS for b in parts), len(parts)),
            "n_parts": len(parts),
            "pct_rhythm_meter": _pct(sum(rm), len(rm)), "rhythm_checked": len(rm),
            "pct_tonic_ending": _pct(sum(tonic), len(tonic)),
            "pct_restated_bars": _pct(sum(r["restated_bars"] for r in rows), compared),
            "pct_under_8_bars": _pct(sum(r["tune_bars"] < 8 for r in rows), n),
            "mean_tune_bars": sum(r["tune_bars"] for r in rows) / n if n else None,
            "pct_provenance": _pct(sum(bool(r["provenance"]) for r in rows), n)}
