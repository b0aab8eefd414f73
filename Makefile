# Two commands for a fresh machine:
#   make serve   set up, then run aptmagic on embedded defaults with the tiny offline models
#   make test    set up, then run the whole test suite
.PHONY: setup serve test bench clean

PORT ?= 8000
# Test processes (pytest-xdist); two suit a 2-core machine. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

setup:
	./scripts/setup.sh

serve: setup
	.venv/bin/aptmagic serve --demo --port $(PORT)

test: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: setup
	HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_jobs.py

clean:
	rm -rf .venv .pytest_cache
