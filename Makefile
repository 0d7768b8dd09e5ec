# The two entry points a newcomer needs; both build the virtualenv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean alfworld sandbox-env

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The ALFWorld engine (`trajkit collect alfworld`); compiles fast-downward, ~4-6 min on 2 cores.
# fast-downward's build runs `python` from PATH, which must be this venv's interpreter.
alfworld: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pip install -q -e '.[alfworld]'

# The local sandbox's Python: a venv holding the pinned stack of collect/sandbox/stack.py (the
# docker image's list), under .venv/share/trajkit/sandbox-envs; ~30 s and ~560 MB the first time
# (PyPI), about a second afterwards. `trajkit collect` would prepare it too, on first use.
sandbox-env: $(STAMP)
	$(BIN)/trajkit sandbox env >/dev/null

demo: $(STAMP) sandbox-env
	$(BIN)/trajkit demo

# Static gates first (seconds), then the suite. mypy and import-linter read the package as
# it is installed, laid out by tools/package_tree.py under build/package-tree.
test: $(STAMP) sandbox-env
	$(BIN)/ruff check .
	$(BIN)/python tools/package_tree.py >/dev/null
	cd build/package-tree && PYTHONPATH=. ../../$(BIN)/lint-imports --no-cache ../../pyproject.toml
	cd build/package-tree && ../../$(BIN)/mypy --config-file ../../pyproject.toml
	$(BIN)/python tools/typecheck_scripts.py
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) build out/runs out/datasets
