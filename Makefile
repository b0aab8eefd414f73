# Two commands for a fresh machine:
#   make serve   set up, then run aptmagic on embedded defaults with the tiny offline models
#   make test    set up, then run the whole test suite
.PHONY: setup serve test test-random check bench docs clean

PORT ?= 8000
# Test processes (pytest-xdist); two suit a 2-core machine. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

setup:
	./scripts/setup.sh

serve: setup
	.venv/bin/aptmagic serve --demo --port $(PORT)

test: setup check
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The same suite in a random order (pytest-randomly; the seed is printed, SEED=N repeats one).
test-random: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -n $(TEST_WORKERS) -p randomly $(if $(SEED),--randomly-seed=$(SEED)) $(PYTEST_ARGS)

# Lint, format and type checks (make test runs them first).
check: setup
	.venv/bin/ruff check aptmagic tests bench
	.venv/bin/ruff format --check aptmagic tests bench
	.venv/bin/mypy aptmagic

bench: setup
	HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_jobs.py

# Regenerate docs/operations/configuration.md from Settings (aptmagic/config.py).
docs:
	.venv/bin/python -m aptmagic.config_docs

clean:
	rm -rf .venv .pytest_cache
