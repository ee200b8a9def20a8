# The two commands of the README, plus `down`. See ../shared/CONTRACT.md.
#   make demo   set everything up, start the stack, ingest the demo collection, print the URL
#   make test   the whole suite, integration tests against the real stack included
#   make down   stop everything this checkout started

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
GALLERY := $(VENV)/bin/gallery

.PHONY: demo demo-cluster demo-data test test-cluster test-deps down install lint

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[worker,ml,api,dev]'
	@touch $@

install: $(STAMP)

demo: install demo-data
	$(GALLERY) demo

# The production topology on this machine (3 brokers, 2 Connect workers, 2 Elasticsearch
# nodes, 2 workers); `make down` stops it. Stop a running single-node stack first.
demo-cluster: install demo-data
	$(GALLERY) demo --cluster

# Debian packages with real images, when this machine can install packages: openclipart-png
# (8,121 clip-art PNGs), gcompris-qt-data (20 paintings, as puzzle pieces) and opencv-doc (The
# Starry Night). Without them the demo has the Met paintings and the generated ones only.
DEMO_DEBS := openclipart-png gcompris-qt-data opencv-doc
demo-data:
	@missing=""; for p in $(DEMO_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing for the demo collection"; \
		apt-get install -y -q $$missing >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1; } || \
		echo "could not install$$missing: the demo goes on without them"; \
	fi

# In CI (CI=true) a missing browser fails the browser tests instead of skipping them.
test: install test-deps demo-data
	GALLERY_REQUIRE_BROWSER=$${GALLERY_REQUIRE_BROWSER:-$${CI:+1}} \
	GALLERY_REQUIRE_REAL_PAINTINGS=$${GALLERY_REQUIRE_REAL_PAINTINGS:-$${CI:+1}} $(VENV)/bin/pytest

# Kill -9 a broker, a Connect worker and an Elasticsearch node of the local cluster during
# streams of 2,000 images (not in `make test`: it needs the cluster's ports and ~20 minutes).
test-cluster: install
	$(GALLERY) down
	$(VENV)/bin/pytest -m cluster tests/cluster

# Debian's Chromium for the browser tests (a test tool's own browser download fails here).
test-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests"; \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
		echo "could not install chromium"; \
	fi

down:
	@if [ -x $(GALLERY) ]; then $(GALLERY) down; else echo "nothing installed, nothing running"; fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy gallery_core devstack gallery_cli gallery_api benchmarks producer vectorizer training
