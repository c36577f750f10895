"""The abcrnn command: build the parser, run the command, and turn every error a
user can fix into one line (``abcrnn: error: ...``, exit 1)."""
from __future__ import annotations

import argparse
import sys

from abcrnn.cli.common import UserError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, as every other error is (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"abcrnn: error: {self.prog.removeprefix('abcrnn ')}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from abcrnn.cli import core, study
    parser = Parser(prog="abcrnn", description="Compose folk tunes in ABC notation "
                    "with character-level recurrent networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    core.add_parsers(sub)        # corpus, train, generate, evaluate, render, serve
    study.add_parsers(sub)       # sweep, heatmap, neurons, temperature-study
    return parser


def _user_facing(e: BaseException) -> bool:
    """Errors a user can act on; anything else is a bug and keeps its traceback."""
    if isinstance(e, (UserError, ValueError, OSError, FloatingPointError)):
        return True
    return isinstance(e, RuntimeError) and type(e).__module__.startswith("abcrnn")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:             # --help (0) or a usage error (2), already printed
        return e.code if isinstance(e.code, int) else 2
    try:
        args.func(args)
    except Exception as e:  # noqa: BLE001 - filtered just below
        if not _user_facing(e):
            raise
        msg = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.strerror}: {e.filename}"
        print(f"abcrnn: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        # Ctrl-C: 130 (128 + SIGINT) like any interrupted program; train says where it
        # saved. serve is the exception: Ctrl-C is how it stops, uvicorn ends it with 0.
        print(f"abcrnn: {str(e) or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
