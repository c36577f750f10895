"""Every option of every command explains itself, and none is there for nothing."""
from __future__ import annotations

import argparse

from abcrnn.cli.main import build_parser


def commands():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices.items()


def test_every_option_and_argument_of_every_command_has_help():
    missing = [f"{name} {a.option_strings or a.dest}" for name, p in commands() for a in p._actions
               if not (a.help or "").strip()]
    assert not missing, missing


def test_no_option_says_it_is_unused():
    unused = [f"{name} {a.option_strings}" for name, p in commands() for a in p._actions
              if "unused" in (a.help or "").lower()]
    assert not unused, unused


def test_choices_and_defaults_are_said_in_the_train_help():
    text = dict(commands())["train"].format_help()
    for said in ("{rnn,lstm,gru}", "{constant,cosine}", "{auto,cpu,cuda}", "(default: 64)", "recipe"):
        assert said in text, said


def test_docs_flags_md_is_what_the_parser_says():
    from pathlib import Path

    from abcrnn.cli.flagsdoc import flags_markdown
    doc = Path(__file__).resolve().parents[2] / "docs" / "flags.md"
    assert doc.read_text() == flags_markdown(), "run: python -m abcrnn.cli.flagsdoc > docs/flags.md"
