# Closeloop: the entry point for people. `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench lock clean help catalogs

help:
	@echo "make run    start the broker and the three services (Ctrl-C stops everything)"
	@echo "make test   install what the tests need and run the whole suite"
	@echo "make bench  measure throughput, latency and memory, and print the report"
	@echo "make lint   ruff and mypy"
	@echo "make catalogs  collect the customer pages' words into the language catalogs and compile them"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m shared.i18n compile
	@touch $(STAMP)

# the customer pages' words: read the code and templates into messages.pot, bring every
# language's messages.po up to date (new words come in empty), compile them
catalogs: $(STAMP)
	$(VENV)/bin/pybabel extract -F services/intake/translations/babel.cfg -k lazy_gettext --no-location \
	  --sort-output --project=closeloop --copyright-holder=closeloop -o services/intake/translations/messages.pot .
	$(VENV)/bin/pybabel update -i services/intake/translations/messages.pot -d services/intake/translations \
	  --no-fuzzy-matching
	$(VENV)/bin/pybabel extract -F services/notify/translations/babel.cfg --no-location \
	  --sort-output --project=closeloop --copyright-holder=closeloop -o services/notify/translations/messages.pot .
	$(VENV)/bin/pybabel update -i services/notify/translations/messages.pot -d services/notify/translations \
	  --no-fuzzy-matching
	$(PY) -m shared.i18n compile

run: $(STAMP)
	$(PY) tools/dev.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check shared services tools tests
	$(VENV)/bin/mypy

lock:
	rm -rf /tmp/closeloop-lock && $(PYTHON) -m venv /tmp/closeloop-lock
	/tmp/closeloop-lock/bin/pip install --quiet .
	/tmp/closeloop-lock/bin/pip freeze --exclude closeloop > requirements.txt

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
