# Two commands for a fresh machine:
#   make serve   set up, then run aptmagic on embedded defaults with the tiny offline models
#   make test    set up, then run the whole test suite
.PHONY: setup serve test bench clean

PORT ?= 8000

setup:
	./scripts/setup.sh

serve: setup
	.venv/bin/aptmagic serve --demo --port $(PORT)

test: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_jobs.py

clean:
	rm -rf .venv .pytest_cache
