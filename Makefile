# Every target sets itself up: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: install test plan lint typecheck workflows bench check clean

$(BIN)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

test: install          ## the offline test-suite (Pulumi mocks, moto)
	$(BIN)/pytest

plan: install          ## resources a stack would create, offline: make plan STACK=prod
	$(BIN)/trainops plan --stack $(STACK)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/pyright

workflows: install     ## GitHub workflows: schema-valid and clean under zizmor (offline)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --min-severity medium .github

bench: install          ## measurements and budgets, printed as the README's table
	$(BIN)/python -m benchmarks.run

check: lint typecheck workflows test

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
