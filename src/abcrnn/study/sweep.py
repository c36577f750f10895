"""Sweeps: a grid of training settings -> one run folder each -> a results table.

A sweep file (TOML or YAML) has up to three parts, all optional but
at least one run must come out::

    [base]                      # settings every run shares (any TrainConfig field)
    minutes = 4
    max_steps = 1000000

    [[grid]]                    # a cartesian product; several [[grid]] tables are united
    cell = ["lstm", "rnn"]
    hidden_size = [150, 200, 250]

    [[runs]]                    # single runs, each merged over [base]
    cell = "gru"
    hidden_size = 200

Runs with identical settings are kept once. Each run is a real ``abcrnn train``
subprocess in ``OUT/<name>`` (so parallel runs each own their threads and a crash
stays in its folder); the name spells the settings that vary across the sweep.
A run whose folder holds ``sweep.json`` with the same settings is finished and
skipped; one with a ``last.json`` but no ``sweep.json`` was cut short and resumes.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import tomllib

from abcrnn.files import atomic_write
from abcrnn.training import recipe
from abcrnn.training.config import TrainConfig

FIXED = {"out"}                          # set by the sweep itself, per run
_ALWAYS = ["cell", "num_layers", "hidden_size", "dropout"]
COLUMNS = ["name", "status", "num_params", "best_train_loss", "best_val_loss", "best_step",
           "steps", "train_minutes", "chars_per_s"]


class SweepError(ValueError):
    """A sweep file or grid that cannot run."""


@dataclass
class RunSpec:
    name: str
    settings: dict          # TrainConfig fields that differ from the defaults, plus the varying ones

    def config(self, out: Path) -> TrainConfig:
        return TrainConfig(**(self.settings | {"out": str(out / self.name)}))


def read_sweep_file(path: Path) -> dict:
    """TOML or YAML -> {"base": {}, "grid": [{}], "runs": [{}]}."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SweepError(f"sweep file {path} is not UTF-8 text") from None
    if Path(path).suffix in (".yaml", ".yml"):
        import yaml
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise SweepError(f"sweep file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    else:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SweepError(f"sweep file {path} is not valid TOML: {e}") from None
    if not isinstance(doc, dict) or not doc or not set(doc) <= {"base", "grid", "runs"}:
        raise SweepError(f"sweep file {path}: expected only [base], [[grid]] and [[runs]] tables")
    grid = doc.get("grid", [])
    return {"base": doc.get("base", {}), "grid": [grid] if isinstance(grid, dict) else grid,
            "runs": doc.get("runs", [])}


def parse_set(items: list[str]) -> dict:
    """``--set key=v1,v2`` flags -> {key: [v1, v2]} with TOML-typed values."""
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise SweepError(f"--set {item!r}: expected KEY=VALUE[,VALUE...]")
        grid[key.strip().replace("-", "_")] = [_value(v.strip()) for v in values.split(",")]
    return grid


def _value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text                      # a bare word: lstm, data/x.txt...


def expand(spec: dict) -> list[RunSpec]:
    """Base + grids + runs -> validated, de-duplicated, named runs."""
    names = {f.name for f in fields(TrainConfig)} - FIXED
    combos = []
    for grid in spec["grid"]:
        _check_keys(grid, names, "grid")
        axes = {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
        if any(not v for v in axes.values()):
            raise SweepError("a grid axis has no values")
        combos += [dict(zip(axes, vals)) for vals in itertools.product(*axes.values())]
    for run in spec["runs"]:
        _check_keys(run, names, "runs")
        combos.append(dict(run))
    _check_keys(spec["base"], names, "base")
    settings, seen = [], set()
    for combo in combos or [{}]:
        s = spec["base"] | combo
        key = json.dumps(s, sort_keys=True)
        if key not in seen:
            seen.add(key)
            settings.append(s)
    if not combos and not set(spec["base"]) - {"seed", "split_seed"}:
        raise SweepError("the sweep has no runs: give a sweep file or --set KEY=VALUES")
    varying = [k for k in names if len({json.dumps(s.get(k)) for s in settings}) > 1]
    runs = [RunSpec(run_name(s, sorted(varying)), s) for s in settings]
    for r in runs:
        _validate(r)
    return runs


def _check_keys(table, names: set, where: str) -> None:
    if not isinstance(table, dict):
        raise SweepError(f"[{where}] must be a table of settings")
    unknown = sorted(set(table) - names)
    if unknown:
        raise SweepError(f"[{where}]: unknown setting {unknown[0]!r}; settings are the "
                         f"`abcrnn train` options: {', '.join(sorted(names))}")


def _validate(run: RunSpec) -> None:
    """Check types, then build the configs, so a bad value fails before any run starts."""
    for k, v in run.settings.items():
        kind = TrainConfig.__dataclass_fields__[k].metadata["type"]
        if not _same_kind(v, kind):
            said = {bool: "true or false", int: "a whole number", float: "a number"}.get(kind, "text")
            raise SweepError(f"run {run.name}: {k} = {v!r} should be {said}")
    try:
        cfg, _ = recipe.resolve(run.config(Path(".")), 10**6)     # the shape it would train
        cfg.model_config(1)
    except (TypeError, ValueError) as e:
        raise SweepError(f"run {run.name}: {e}") from None


def _same_kind(v, kind) -> bool:
    if kind is bool or isinstance(v, bool):
        return isinstance(v, bool) and kind is bool
    if kind is float:
        return isinstance(v, (int, float))
    return isinstance(v, kind)


def run_name(settings: dict, varying: list[str]) -> str:
    """Folder name from the settings that vary, e.g. ``cell-lstm_hidden_size-200``."""
    parts = [f"{k}-{settings.get(k, getattr(TrainConfig, k))}" for k in varying]
    name = "_".join(parts) or "run"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def train_argv(cfg: TrainConfig, resume: bool) -> list[str]:
    """The `abcrnn train` command line that reproduces ``cfg`` exactly."""
    argv = [sys.executable, "-m", "abcrnn", "train", "--quiet"]
    for k, v in asdict(cfg).items():
        if (k == "corpus" and not v) or v is None:
            continue       # train's own default (the bundled corpus, the recipe's choice)
        flag = "--" + k.replace("_", "-")
        argv += [flag if v else "--no-" + flag[2:]] if isinstance(v, bool) else [flag, str(v)]
    return argv + (["--resume"] if resume else [])


def run_sweep(runs: list[RunSpec], out: Path, parallel: int = 0, progress: bool = True,
              env: dict | None = None) -> list[dict]:
    """Run every unfinished run (``parallel`` at a time; 0 = one per core, each
    with an equal share of the cores), then write results.csv/.md/.json and the
    overlay plot. Returns one result row per run, in grid order."""
    if parallel < 0:
        raise SweepError(f"--parallel must be >= 0 (0 = one run per core), got {parallel}")
    _check_names(runs, out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if not _finished(r, out)]
    cores = os.cpu_count() or 1
    parallel = parallel or max(1, min(len(todo), cores))
    threads = max(1, cores // parallel)
    child_env = (env or os.environ) | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    from tqdm import tqdm
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run", disable=not progress,
               desc="sweep", dynamic_ncols=True)
    with ThreadPoolExecutor(parallel) as pool:
        for name, ok in pool.map(lambda r: (r.name, _execute(r, out, child_env)), todo):
            bar.update(1)
            bar.set_postfix_str(f"{name}: {'done' if ok else 'FAILED'}")
    bar.close()
    rows = [result_row(r, out) for r in runs]
    write_results(rows, runs, out)
    return rows


def _check_names(runs: list[RunSpec], out: Path) -> None:
    """A folder holding another run's settings is never overwritten."""
    for r in runs:
        done = out / r.name / "sweep.json"
        if done.is_file() and json.loads(done.read_text())["settings"] != r.settings:
            raise SweepError(f"{done.parent} holds a run with other settings; "
                             "choose another --out or remove that folder")


def _finished(run: RunSpec, out: Path) -> bool:
    return (out / run.name / "sweep.json").is_file()


def _execute(run: RunSpec, out: Path, env: dict) -> bool:
    """One `abcrnn train` subprocess; its output goes to the run's train.log.
    ``sweep.json`` is written only when the run ends well: it marks it finished."""
    folder = out / run.name
    folder.mkdir(parents=True, exist_ok=True)
    cfg = run.config(out)
    resume = (folder / "last.json").is_file()
    with open(folder / "train.log", "a", encoding="utf-8") as log:
        log.write(" ".join(train_argv(cfg, resume)) + "\n")
        log.flush()
        code = subprocess.run(train_argv(cfg, resume), stdout=log, stderr=subprocess.STDOUT,
                              env=env, stdin=subprocess.DEVNULL).returncode
    if code == 0:
        atomic_write(folder / "sweep.json", json.dumps({"name": run.name, "settings": run.settings}))
    return code == 0


def result_row(run: RunSpec, out: Path) -> dict:
    """Settings + figures read back from the run's own checkpoint metadata."""
    folder = out / run.name
    row = {"name": run.name, "status": "done" if _finished(run, out) else "failed"}
    row |= {k: v for k, v in asdict(run.config(out)).items() if k not in ("out", "corpus")}
    meta = folder / "last.json"
    if not meta.is_file():
        return row
    doc = json.loads(meta.read_text())
    hist = doc["history"]
    if not hist:
        return row
    best = min(hist, key=lambda h: h["val_loss"])
    row |= {"num_params": doc["num_params"],
            "best_train_loss": min(h["train_loss"] for h in hist),
            "best_val_loss": best["val_loss"], "best_step": best["step"],
            "steps": hist[-1]["step"], "train_minutes": round(hist[-1]["seconds"] / 60, 2),
            "chars_per_s": round(sum(h["chars_per_s"] for h in hist) / len(hist))}
    return row


def write_results(rows: list[dict], runs: list[RunSpec], out: Path) -> None:
    keys = _setting_columns(runs)
    cols = ["name"] + keys + COLUMNS[1:]
    lines = [",".join(cols)] + [",".join(_csv(r.get(c, "")) for c in cols) for r in rows]
    atomic_write(out / "results.csv", "\n".join(lines) + "\n")
    atomic_write(out / "results.json", json.dumps(rows, indent=1))
    shared = [k for k in keys if len({json.dumps(r.get(k)) for r in rows}) == 1]
    note = ", ".join(f"{k}={rows[0].get(k)}" for k in shared if k not in _ALWAYS)
    md = markdown_table(rows, [k for k in keys if k in _ALWAYS or k not in shared])
    atomic_write(out / "results.md", (f"Shared by every run: {note}\n\n" if note else "") + md)
    from abcrnn.study.plots import plot_run_panels, plot_sweep
    histories = {r.name: _history(out / r.name) for r in runs}
    plot_sweep(histories, out / "val_curves.png", cells={r.name: r.config(out).cell for r in runs})
    plot_run_panels(histories, out / "loss_curves.png")


def _setting_columns(runs: list[RunSpec]) -> list[str]:
    """Model-shape settings always; other settings only when some run sets them."""
    seen = {k for r in runs for k in r.settings} - set(_ALWAYS) - {"corpus"}
    return _ALWAYS + sorted(seen)


def _csv(v) -> str:
    s = str(v)
    return f'"{s}"' if "," in s else s


def markdown_table(rows: list[dict], keys: list[str]) -> str:
    head = ["run"] + keys + ["params", "best train", "best val", "steps", "minutes", "chars/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(rows, key=lambda r: r.get("best_val_loss", float("inf"))):
        cells = [r["name"] + ("" if r["status"] == "done" else " (failed)")]
        cells += [str(r.get(k, getattr(TrainConfig, k))) for k in keys]
        cells += [f"{r['num_params']:,}" if "num_params" in r else "",
                  _fmt(r.get("best_train_loss")), _fmt(r.get("best_val_loss")),
                  str(r.get("steps", "")), str(r.get("train_minutes", "")),
                  f"{r['chars_per_s']:,}" if "chars_per_s" in r else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return "" if x is None else f"{x:.4f}"


def _history(folder: Path) -> list[dict]:
    path = folder / "last.json"
    return json.loads(path.read_text())["history"] if path.is_file() else []
