"""The package's shape: imports run one way along the data's path, no cycles, no
private names borrowed across modules, torch-free parts stay torch-free, small files."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "abcrnn"
# The data's way: text -> corpus -> model -> train / sampling -> music -> study -> api -> web -> cli.
# A module may import its own subpackage and anything in a lower layer; train and
# sampling are peers that must not import each other.
LAYERS = {
    "files": 0, "resources": 0, "figures": 1,
    "notation": 1, "tools": 2, "corpus": 3, "model": 4, "training": 5, "sampling": 5,
    "music": 6, "study": 7, "api": 8, "web": 9, "cli": 10,
}
MAX_LINES = 320
TORCH_FREE = ["abcrnn", "abcrnn.files", "abcrnn.resources", "abcrnn.figures", "abcrnn.api",
              "abcrnn.model.vocab", "abcrnn.model.config", "abcrnn.training.config",
              "abcrnn.music.evaluate", "abcrnn.music.render", "abcrnn.music.tunebook",
              "abcrnn.music.diversity", "abcrnn.cli.main"]


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(["abcrnn", *parts])] = path
    return out


MODULES = modules()


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import of abcrnn code,
    at any depth (function-level imports count: they are cycles all the same)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "abcrnn":
            for alias in node.names:      # `from abcrnn.notation import lexer` imports a module
                sub = f"{node.module}.{alias.name}"
                found.append((sub, [], node.lineno) if sub in MODULES
                             else (node.module, [alias.name], node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append(("relative", [], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "abcrnn"]
    return found


def layer(module: str) -> tuple[int, str] | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in ("__main__",):
        return None
    return LAYERS[parts[1]], parts[1]


def test_every_subpackage_has_a_layer():
    assert {m.split(".")[1] for m in MODULES if m.count(".") >= 1} - {"__main__"} <= set(LAYERS)


def test_imports_run_one_way():
    wrong = []
    for mod, path in MODULES.items():
        here = layer(mod)
        if here is None:                         # abcrnn/__init__ (lazy API) and __main__
            continue
        for target, _, line in imports(path):
            assert target != "relative", f"{path}:{line}: use absolute imports"
            there = layer(target)
            if there is None or there[1] == here[1]:
                continue
            if there[0] >= here[0]:
                wrong.append(f"{mod} ({here[1]}) imports {target} ({there[1]}) at line {line}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    graph = {m: {t for t, _, _ in imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    graph["abcrnn"] = set()      # the root's __getattr__ loads abcrnn.api on demand: a leaf here
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str):
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_private_name_is_imported_across_modules():
    tests = Path(__file__).resolve().parent
    files = list(MODULES.values()) + list(tests.rglob("*.py")) + list((tests.parent / "bench").glob("*.py"))
    found = [f"{path}:{line}: {name} from {target}"
             for path in files for target, names, line in imports(path)
             for name in names if name.startswith("_") and not name.startswith("__")]
    assert not found, "\n".join(found)


def test_modules_stay_small():
    big = {str(p.relative_to(SRC)): n for p in MODULES.values()
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, big


def test_the_torch_free_parts_do_not_import_torch():
    code = ("import importlib, sys\n"
            f"for m in {TORCH_FREE!r} + [n for n in {sorted(MODULES)!r} "
            "if n.startswith(('abcrnn.notation', 'abcrnn.corpus', 'abcrnn.tools'))]:\n"
            "    importlib.import_module(m)\n"
            "from abcrnn.cli.main import build_parser\n"
            "build_parser().parse_args(['render', 'x.abc'])\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_layout_test_sees_a_wrong_import(tmp_path, monkeypatch):
    """The direction check itself: a notation module importing the model must fail it."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from abcrnn.model.charrnn import CharRNN\n")
    monkeypatch.setitem(MODULES, "abcrnn.notation.bad", bad)
    with pytest.raises(AssertionError, match="abcrnn.notation.bad"):
        test_imports_run_one_way()
