"""The shipped model's TRAINING.md says how it was made: its command, parsed by the
train command's own parser, gives every setting model.json recorded, and leaves
nothing to the recipe or to defaults that may change."""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import fields

from abcrnn.cli.main import build_parser
from abcrnn.resources import shipped_model
from abcrnn.training.config import TrainConfig
from abcrnn.training.recipe import choose

PATHS = {"corpus", "out", "device"}       # where it ran, not what it trained


def training_command() -> list[str]:
    text = (shipped_model() / "TRAINING.md").read_text()
    block = re.search(r"```sh\n(abcrnn train .*?)```", text, re.S)
    assert block, "TRAINING.md has no abcrnn train command"
    return shlex.split(block.group(1).replace("\\\n", " "))[1:]


def test_training_md_reproduces_every_setting_of_model_json():
    args = build_parser().parse_args(training_command())
    saved = json.loads((shipped_model() / "model.json").read_text())["train_config"]
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    for name, value in saved.items():
        if name not in PATHS:
            assert given.get(name) == value, f"--{name.replace('_', '-')}: {given.get(name)} != {value}"
    recipe = set(choose(10, 400_000)[0]) | {"split_seed", "eval_interval"}
    assert not recipe - set(given), f"left to the recipe: {sorted(recipe - set(given))}"
    newer = set(given) - set(saved)          # settings added since: at the value that had no effect
    assert {n: given[n] for n in newer} == {n: 0 for n in newer}
