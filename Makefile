# Two entry points a fresh clone needs: `make demo` and `make test`.
# Both create .venv on first use and install turnout into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@scripts/system-deps build
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q src >/dev/null  # bytecode now: every command starts faster
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/turnout demo

test: $(STAMP)
	@scripts/system-deps test
	$(BIN)/python -m pytest -q -n 2 --dist loadfile  # tests mostly wait on servers: two at a time

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src --ignore-missing-imports

bench: $(STAMP)
	$(BIN)/python bench/sqlite_full.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
