# The two entry points a newcomer needs; both build the virtualenv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean alfworld

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The ALFWorld engine (`trajkit collect alfworld`); compiles fast-downward, ~4-6 min on 2 cores.
# fast-downward's build runs `python` from PATH, which must be this venv's interpreter.
alfworld: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pip install -q -e '.[alfworld]'

demo: $(STAMP)
	$(BIN)/trajkit demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) out/runs out/datasets
