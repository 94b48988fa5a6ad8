# The two commands of the README: `make run` and `make test`. Only Python 3.11+ and make needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test lint bench bench-api bench-webhooks bench-sync bench-verify bench-scim bench-login fuzz \
	stateful image-check \
	image-check-stand-in clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-deps

## Start the server on 127.0.0.1:$(PORT) (SQLite in ./instance unless DATABASE_URL is set).
run: $(VENV)/.run-deps
	$(BIN)/rolecall run --port $(PORT)

## Lint, then the whole test suite on SQLite and (when PostgreSQL is installed) on PostgreSQL.
test: $(VENV)/.test-deps lint
	scripts/test-all

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## Benchmarks (not part of `make test`): figures in docs/performance.md.
bench: $(VENV)/.test-deps
	$(BIN)/python bench/membership.py
	scripts/with-postgres $(BIN)/python bench/membership.py

## Long fuzz run (not part of `make test`): FUZZ_EXAMPLES random requests to a live gunicorn,
## on SQLite and then PostgreSQL; ROLECALL_FUZZ_SEED=N replays a run's seed.
## Then schemathesis on /api/v1 with SCHEMATHESIS_EXAMPLES cases per operation and mode.
FUZZ_EXAMPLES ?= 20000
SCHEMATHESIS_EXAMPLES ?= 1000
fuzz: $(VENV)/.test-deps
	env -u DATABASE_URL -u ROLECALL_TEST_DATABASE_URL ROLECALL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest -q -s tests/scim/test_fuzz.py
	ROLECALL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) scripts/with-postgres \
		$(BIN)/pytest -q -s tests/scim/test_fuzz.py
	env -u DATABASE_URL -u ROLECALL_TEST_DATABASE_URL ROLECALL_SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) \
		$(BIN)/pytest -q -s tests/api/test_api_schemathesis.py
	ROLECALL_SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) scripts/with-postgres \
		$(BIN)/pytest -q -s tests/api/test_api_schemathesis.py

## The RBAC state machines at length (not part of `make test`, which runs 30 and 20 examples):
## STATEFUL_EXAMPLES random sequences each, on SQLite and then PostgreSQL.
STATEFUL_EXAMPLES ?= 300
stateful: $(VENV)/.test-deps
	env -u DATABASE_URL -u ROLECALL_TEST_DATABASE_URL ROLECALL_STATEFUL_EXAMPLES=$(STATEFUL_EXAMPLES) \
		ROLECALL_AUTHORITY_EXAMPLES=$(STATEFUL_EXAMPLES) $(BIN)/pytest -q tests/rbac/test_rbac_stateful.py \
		tests/rbac/test_authority_stateful.py
	ROLECALL_STATEFUL_EXAMPLES=$(STATEFUL_EXAMPLES) ROLECALL_AUTHORITY_EXAMPLES=$(STATEFUL_EXAMPLES) \
		scripts/with-postgres $(BIN)/pytest -q tests/rbac/test_rbac_stateful.py \
		tests/rbac/test_authority_stateful.py

## POST /api/v1/check over HTTP against the stack's floor (bare Flask, one PK read), both backends.
bench-api: $(VENV)/.test-deps
	$(BIN)/python bench/api_check.py
	scripts/with-postgres $(BIN)/python bench/api_check.py

## Webhook delivery lag under a steady event rate: SQLite (one worker), PostgreSQL (two).
bench-webhooks: $(VENV)/.test-deps
	$(BIN)/python bench/webhooks.py
	scripts/with-postgres $(BIN)/python bench/webhooks.py

## A full IdP sync (10 000 users, 100 groups x 1 000 members) plus churn over HTTP, both backends.
bench-sync: $(VENV)/.test-deps
	$(BIN)/python bench/sync.py
	scripts/with-postgres $(BIN)/python bench/sync.py

## `rolecall verify` of an organization with 100 000 memberships, both backends.
bench-verify: $(VENV)/.test-deps
	$(BIN)/python bench/verify.py
	scripts/with-postgres $(BIN)/python bench/verify.py

## SCIM's latency under a flood of sign-in attempts, bounded and not, both backends.
bench-login: $(VENV)/.test-deps
	$(BIN)/python bench/login_flood.py
	scripts/with-postgres $(BIN)/python bench/login_flood.py

## SCIM side by side: the stack's floor, scim2-server 0.8.3 (own virtualenv) and Rolecall.
bench-scim: $(VENV)/.test-deps
	$(BIN)/python bench/scim_side_by_side.py --install-peer
	scripts/with-postgres $(BIN)/python bench/scim_side_by_side.py

## Build the Dockerfile's image and run its processes from it against a throwaway PostgreSQL
## (root, podman, buildah; docs/deploy.md). The stand-in variant builds a Debian base here, for
## machines that cannot reach Docker Hub (also needs debootstrap).
image-check: $(VENV)/.test-deps
	scripts/check-image
image-check-stand-in: $(VENV)/.test-deps
	scripts/check-image --stand-in-base

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
