"""bench/run.py runs end to end and reports every figure issue 5 asks for.

Benchmarks are not tests: nothing here looks at how fast anything was, only that the
command works and its last line is the JSON object with the required keys."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RATES = ("kernel_chars_per_s", "train_chars_per_s", "naive_chars_per_s")
SECONDS = ("sample_64x600_s", "sample_1x600_s", "peak_rss_mb")


@pytest.mark.slow
def test_quick_benchmark_ends_with_one_json_line_of_every_figure(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    for key in RATES + SECONDS:
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    assert result["train_over_kernel"] == round(result["train_chars_per_s"] / result["kernel_chars_per_s"], 3)
    assert result["train_over_naive"] == round(result["train_chars_per_s"] / result["naive_chars_per_s"], 1)
    # --quick stops training after 30 steps, long before 1.40: reported as not reached
    assert "time_to_1_40_s" in result and result["time_to_1_40_s"] is None
    assert result["time_to_1_40_runs"][0]["reached"] is False
    assert (tmp_path / "t140-0" / "model.json").is_file()     # the sampling model is that run's
    # the table names every target before the JSON line
    table = "\n".join(lines[:-1])
    for key in result["targets"]:
        assert key in table


@pytest.mark.slow
def test_sampling_benchmark_measures_every_setting_and_ends_with_json():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "sampling.py"), "--tunes", "2"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result["results"]) == {"idle, 1 thread", "idle, 2 threads", "training beside, 1 thread",
                                      "training beside, 2 threads"}
    assert all(r["seconds"] > 0 and r["ended"] == 2 for r in result["results"].values())
