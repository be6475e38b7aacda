# Every target sets itself up: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: install test test-lambda-runtime plan lint typecheck workflows bench check clean deploy-env

$(BIN)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# On every core, a module's tests on one worker (module fixtures that build large stacks are
# built once), then the tests that measure time on an otherwise idle machine.
test: install          ## the offline test-suite (Pulumi mocks, moto)
	$(BIN)/pytest -n auto --dist loadfile -m 'not timing'
	$(BIN)/pytest -m timing

# The functions run on Lambda's python3.13 (components/platform/lambda_function.py RUNTIME); the code they
# run is tested on that Python too, in its own venv installed from pyproject.toml.
LAMBDA_RUNTIME := python3.13
LAMBDA_VERSION := $(subst python,,$(LAMBDA_RUNTIME))
# That interpreter: on PATH, or pyenv's latest $(LAMBDA_VERSION) (pyenv's shim runs it only
# when that version is selected).
LAMBDA_PYTHON ?= $(shell $(LAMBDA_RUNTIME) -c 'import sys; print(sys.executable)' 2>/dev/null \
	|| PYENV_VERSION="$$(pyenv latest $(LAMBDA_VERSION) 2>/dev/null)" \
	$(LAMBDA_RUNTIME) -c 'import sys; print(sys.executable)' 2>/dev/null)
LAMBDA_VENV ?= .venv-lambda
LAMBDA_TESTS ?= tests/handlers tests/e2e tests/test_history_replay.py tests/test_submit.py

$(LAMBDA_VENV)/bin/.installed: pyproject.toml requirements.txt
	@test -n "$(LAMBDA_PYTHON)" || { echo "$(LAMBDA_RUNTIME) not found: install it (pyenv install $(LAMBDA_VERSION))"; exit 1; }
	$(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LAMBDA_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

test-lambda-runtime: $(LAMBDA_VENV)/bin/.installed  ## handler and end-to-end tests on python3.13
	$(LAMBDA_VENV)/bin/python --version
	$(LAMBDA_VENV)/bin/pytest -q -n auto -m 'not timing' $(LAMBDA_TESTS)
	@# pytest exits 5 when no test is selected: none of these measures wall-clock time today.
	$(LAMBDA_VENV)/bin/pytest -q -m timing $(LAMBDA_TESTS) || test $$? -eq 5

plan: install          ## resources a stack would create, offline: make plan STACK=prod
	$(BIN)/trainops plan --stack $(STACK)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml

typecheck: install
	$(BIN)/pyright

workflows: install     ## GitHub workflows: schema-valid and clean under zizmor (offline)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --min-severity medium .github

bench: install          ## measurements and budgets, printed as docs/performance.md's tables
	$(BIN)/python -m benchmarks.run

# What `pulumi up` gets: Pulumi's pip toolchain installs requirements.txt (`-e .`, no dev
# extras) into a fresh virtualenv. The program must run there, not only beside the test tools.
DEPLOY_VENV ?= .venv-deploy
deploy-env:            ## the program and the CLI under the production install, offline
	rm -rf $(DEPLOY_VENV)
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(DEPLOY_VENV)/bin/trainops plan --stack dev > /dev/null
	$(DEPLOY_VENV)/bin/trainops plan --stack prod > /dev/null
	$(DEPLOY_VENV)/bin/trainops submit --stack dev --model churn --dry-run > /dev/null
	rm -rf $(DEPLOY_VENV)

check: lint typecheck workflows test

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) $(LAMBDA_VENV) .pytest_cache .ruff_cache
