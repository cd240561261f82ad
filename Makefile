# make run   - set everything up on the embedded default and start web + worker (Ctrl+C stops both)
# make test  - the whole test suite (on DATABASE_URL / REDIS_URL when they are set), in
#              TEST_WORKERS parallel processes (pytest-xdist; TEST_WORKERS=0 runs it in one)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# Most of the suite's time is spent waiting on subprocesses (qclusters, Chromium, gunicorn), so
# more workers than cores pays: on 2 cores, 4 beat 2 (both sat through the 90-s cluster tests)
# and matched 6 with less CPU.
TEST_WORKERS ?= 4

.PHONY: run test faults lint install setup clean

# The runtime set and the tests' (both pinned with hashes: scripts/compile_requirements.sh).
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# Development defaults for `make run` only; real environment values win.
run setup: export DJANGO_DEBUG ?= true

setup: install
	$(MANAGE) migrate --noinput
	$(MANAGE) setup_schedules
	@# Louis Segond 1910 from eBible.org, once; offline, one line says so and the curated verses serve.
	@$(MANAGE) import_bible --download --if-missing || true
	$(MANAGE) ensure_admin
	$(MANAGE) seed_demo_users --count 200 --if-empty

run: setup
	./scripts/run_dev.sh $(BIN)/python

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load --maxschedchunk 1

# ruff: lint and format check (ruff.toml); `.venv/bin/ruff format .` formats.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Fault tests (minutes): a qcluster killed with SIGKILL mid-run, then restarted.
faults: install
	$(BIN)/python -m pytest -m faults -s

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* var .pytest_cache
