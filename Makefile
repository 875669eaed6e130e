# Two entry points for a fresh machine with python3 >= 3.11 and make:
#   make run   - the service (sandbox mode against the local ABC simulator without ABC_API_KEY)
#   make test  - lint, format check, type-check and the whole test suite (starts redis-server if installed
#                and not running; without Redis, the Redis tests are skipped and listed)
# and, for rule authors (docs/rules.md), without typing the .venv/bin/ path:
#   make check, make try MSG="are you open today?", make chat
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check try chat bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "python3 >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/responder serve

test: $(STAMP)
	$(BIN)/ruff check responder tests bench app.py
	$(BIN)/ruff format --check responder tests bench app.py
	$(BIN)/mypy
	@.ci/ensure-redis || echo "the Redis tests will be skipped (see the summary at the end)"
	$(BIN)/pytest -q

check: $(STAMP)
	$(BIN)/responder check

try: $(STAMP)
	@test -n "$(MSG)" || { echo 'say which message, like:  make try MSG="are you open today?"'; exit 2; }
	$(BIN)/responder try "$(MSG)"

chat: $(STAMP)
	$(BIN)/responder chat

bench: $(STAMP)
	$(BIN)/python bench/match.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
