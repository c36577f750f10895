"""docs/flags.md, written from the parser itself (every command, every flag, its help,
choices and default), so the reference cannot drift from the code:

    python -m abcrnn.cli.flagsdoc > docs/flags.md

tests/cli/test_help.py checks that the file is what this writes."""
from __future__ import annotations

import argparse
import sys

from abcrnn.cli.main import build_parser


def _flag_row(action: argparse.Action) -> str:
    names = ", ".join(f"`{n}`" for n in action.option_strings) or f"`{action.dest}` (argument)"
    text = (action.help or "").replace("|", "\\|").replace("\n", " ")
    if action.choices and "{" not in text:
        text += " Choices: " + ", ".join(f"`{c}`" for c in action.choices) + "."
    default = action.default
    if action.option_strings and default not in (None, False, argparse.SUPPRESS) and "default" not in text:
        text += f" Default: `{default}`."
    return f"| {names} | {text} |"


def flags_markdown() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    out = ["# abcrnn's commands and flags", "",
           "Written by `python -m abcrnn.cli.flagsdoc` from the command line's own definitions "
           "(the training flags from `TrainConfig`'s fields, `src/abcrnn/training/config.py`). "
           "Training settings marked \"the recipe's\" are chosen from the corpus's size, the "
           "time budget and the machine's measured speed when left unset "
           "(`src/abcrnn/training/recipe.py`).", ""]
    for name, p in sub.choices.items():
        out += [f"## `abcrnn {name}`", "", helps.get(name, "") + ".", "", "| flag | what it does |",
                "|---|---|"]
        out += [_flag_row(a) for a in p._actions if not isinstance(a, argparse._HelpAction)]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(flags_markdown())
