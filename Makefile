# The two commands of the README, plus `down`. See ../shared/CONTRACT.md.
#   make demo   set everything up, start the stack, ingest the demo collection, print the URL
#   make test   the whole suite, integration tests against the real stack included
#   make down   stop everything this checkout started

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
GALLERY := $(VENV)/bin/gallery

.PHONY: demo test down install lint

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[worker,ml,api,dev]'
	@touch $@

install: $(STAMP)

demo: install
	$(GALLERY) up

test: install
	$(VENV)/bin/pytest

down:
	@if [ -x $(GALLERY) ]; then $(GALLERY) down; else echo "nothing installed, nothing running"; fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy gallery_core devstack gallery_cli gallery_api benchmarks
