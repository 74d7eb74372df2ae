# `make run` starts the call center; `make test` runs every test. Both install what they need
# (Debian packages, a virtualenv, the Asterisk 22 root) on a fresh Debian machine, as root.

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
ASTERISK_ROOT ?= /var/cache/callcenter/asterisk-root
export CALLCENTER_ASTERISK_ROOT := $(ASTERISK_ROOT)

APT_PACKAGES := postgresql sip-tester debootstrap espeak-ng sox python3-venv util-linux procps iproute2 chromium
BIN := $(VENV)/bin

.PHONY: run test deps apt venv asterisk sounds db lint typecheck clean help bench bench-acd bench-reports load

help:
	@echo "make run   - install what is missing and start the call center (Ctrl-C stops it)"
	@echo "make test  - install what is missing and run every test (unit and end to end)"
	@echo "make lint  - ruff and mypy"

run: deps asterisk sounds
	$(BIN)/callcenter up

test: deps asterisk sounds lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

deps: apt venv

# apt-get runs only when a package is missing, so a warm `make` needs no network.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

# Reinstalled when pyproject.toml changes; the stamp lives in the venv, so deleting .venv/ rebuilds it.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

asterisk: venv
	$(BIN)/callcenter asterisk-root

# The private PostgreSQL cluster under .run/, with the schema migrated (`make run` does this itself).
db: venv
	$(BIN)/callcenter db start
	$(BIN)/callcenter db upgrade

sounds: venv
	$(BIN)/callcenter sounds

# The benchmarks (figures in bench/README.md): the ACD core against a naive full-scan router (~40 s), and
# reports over 10 M generated calls (the first run loads them, ~40 min; later runs reuse them, ~5 min).
bench: bench-acd bench-reports

bench-acd: venv
	$(BIN)/python -m bench.acd_bench

bench-reports: venv
	$(BIN)/python -m bench.reports_bench $(BENCH_ARGS)

# The whole call path under load (bench/load/, figures in bench/README.md "Load"): SIPp callers and agents,
# the rate search against the same IVR in plain dialplan, then 200 calls at once for 10 minutes (~30 min in
# all; LOAD_ARGS=--quick for about 2 minutes). Not part of `make bench`: it takes the whole machine.
load: deps asterisk sounds
	$(BIN)/python -m bench.load $(LOAD_ARGS)

lint: venv
	$(BIN)/ruff check callcenter tests bench
	$(BIN)/ruff format --check callcenter tests bench
	$(BIN)/mypy

clean:
	rm -rf .run $(VENV) sounds/ru sounds/en
