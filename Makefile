# The two commands of the README: `make demo` and `make test`.
PY := .venv/bin/python
SEED ?= 1337
NUM ?= 8

.PHONY: setup demo test clean

setup:
	@bash scripts/setup.sh

demo: setup
	@mkdir -p out/demo
	$(PY) -m abcrnn generate --num-tunes $(NUM) --temperature 1.0 --seed $(SEED) --out out/demo/tunes.abc
	$(PY) -m abcrnn evaluate out/demo/tunes.abc --out out/demo/evaluation
	$(PY) -m abcrnn render out/demo/tunes.abc --out out/demo/book --tunebook --quality out/demo/evaluation/evaluation.json --title "abcrnn demo"
	@echo "demo: tunes in out/demo/tunes.abc; open out/demo/book/index.html"

test: setup
	$(PY) -m pytest

clean:
	rm -rf out .pytest_cache
