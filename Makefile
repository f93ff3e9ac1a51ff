# The hub guide. `make run` and `make test` are all a newcomer needs; both
# create whatever is missing first (environments, database, model).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON310 ?= $(shell command -v python3.10 2>/dev/null)
APP := .venv/app/bin/python
export PYTHONPATH := $(CURDIR)
# Rasa sends usage data to its makers unless told not to; residents' service does not.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help setup train run cluster test bench lint lock clean check-sources translations

help: ## list the targets
	@grep -hE '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup: ## install both Python environments and the web chat widget, all at once (first time: a few minutes)
	@$(MAKE) --no-print-directory --silent -j3 .venv/app/.installed .venv/rasa/.installed node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the web chat widget: install Node.js (for example 'apt-get install nodejs npm') and run make again." >&2; exit 1; }
	@echo "== installing the web chat widget from the npm registry"
	@npm ci --ignore-scripts --no-audit --no-fund --omit=peer --loglevel=error | sed -u '/^$$/d; s/^/  [web chat] /'
	@touch $@

# A made environment stays (make would remove it as an intermediate file).
.PRECIOUS: .venv/%/bin/python
.venv/%/bin/python:
	@if [ -z "$(PYTHON310)" ] || ! "$(PYTHON310)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "Python 3.10 is needed (Rasa 3.6 runs only on 3.8-3.10): install it, for example 'pyenv install 3.10' or 'apt-get install python3.10', then run make again." >&2; exit 1; fi
	@"$(PYTHON310)" -m venv .venv/$*

# The two environments install at the same time. The packages both pin alike (requirements/*.lock)
# are fetched once, before, so neither install downloads what the other does; pip's cache
# (~/.cache/pip) keeps every download for the next install.
.venv/shared-wheels/.fetched: requirements/app.lock requirements/rasa.lock | .venv/app/bin/python
	@echo "== fetching the packages both environments use"
	@.venv/app/bin/pip download --disable-pip-version-check --no-deps --dest $(@D) \
	  -r <(comm -12 <(sort requirements/app.lock) <(sort requirements/rasa.lock)) 2>&1 \
	  | tee .venv/shared.download.log | { grep --line-buffered -E "^Collecting" || true; } | sed -u 's/^/  [both] /' \
	  || { tail -n 30 .venv/shared.download.log; echo "fetching the shared packages failed; full log: .venv/shared.download.log" >&2; exit 1; }
	@touch $@

.venv/%/.installed: pyproject.toml requirements/%.lock .venv/shared-wheels/.fetched | .venv/%/bin/python
	@echo "== installing the $* environment into .venv/$* (first time: a few minutes)"
	@.venv/$*/bin/pip install --disable-pip-version-check --find-links .venv/shared-wheels -c requirements/$*.lock -e '.[$*]' 2>&1 \
	  | tee .venv/$*.install.log | { grep --line-buffered -E "^Collecting" || true; } | sed -u 's/^/  [$*] /' \
	  || { tail -n 30 .venv/$*.install.log; echo "installing the $* environment failed; full log: .venv/$*.install.log" >&2; exit 1; }
	@.venv/$*/bin/python -c 'import $(if $(filter rasa,$*),rasa,fastapi)'
	@echo "== the $* environment is ready"
	@touch $@

train: setup ## train the Rasa model if its data or config changed
	@$(APP) -m stack.model

run: setup train ## start the Rasa server, action server and gateway (Ctrl-C stops them)
	@$(APP) -m stack

cluster: setup train ## several gateway replicas behind HAProxy on PostgreSQL and Redis (Ctrl-C stops them)
	@$(APP) -m stack.cluster

test: setup train ## run the whole test suite (unit, Rasa data, end to end)
	@$(APP) -m pytest $(PYTEST_ARGS)

BENCHES ?= langid slice sms_load cluster_load handoff nlu_cv places devset
bench: setup train ## benchmarks (BENCHES="langid slice sms_load cluster_load handoff nlu_cv places devset"); reports in reports/
	@for b in $(BENCHES); do echo "== bench.$$b"; $(APP) -m bench.$$b || exit 1; done

translations: setup ## extract the Swedish texts, merge them into every catalogue (locale/), regenerate the other languages, report
	@$(APP) -m common.translations

check-sources: setup ## facts not checked for 12 months, and sources that changed or vanished (needs the network)
	@$(APP) -m common.sources --fetch

lint: .venv/app/.installed ## ruff (lint and format) and mypy, with the settings in pyproject.toml; CI runs it
	@.venv/app/bin/ruff check common gateway nlu actions stack tests bench
	@.venv/app/bin/ruff format --check --quiet common gateway nlu actions stack tests bench
	@.venv/app/bin/mypy

lock: ## rewrite requirements/*.lock from the installed environments
	@for env in app rasa; do .venv/$$env/bin/pip freeze --exclude-editable | grep -v hubguide > requirements/$$env.lock; done

clean: ## remove environments, models and local data
	rm -rf .venv models var .pytest_cache
