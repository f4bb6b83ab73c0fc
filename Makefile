# LINE CRM: `make run` starts the bot (with the local LINE sandbox when no channel is set),
# `make test` runs every test. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help setup migrate run test test-sqlite lint format bench messages clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) ## Create .venv and install pinned dependencies
	@mkdir -p instance

migrate: setup ## Apply database migrations (DATABASE_URL, default SQLite under instance/)
	$(BIN)/flask --app app db upgrade

run: migrate ## Start the bot; without a LINE channel, also the local LINE sandbox
	$(BIN)/python -m devserver

test: setup ## Run every test (SQLite and PostgreSQL; browser tests in Chromium)
	$(BIN)/pytest

test-sqlite: setup ## Run the tests on SQLite only
	$(BIN)/pytest -m "not postgres"

lint: setup ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Run the benchmarks and print their tables
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/handling.py
	$(BIN)/python bench/surveys.py
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/campaigns.py
	$(BIN)/python bench/loyalty.py
	$(BIN)/python bench/counter.py
	$(BIN)/python bench/faq.py

messages: setup ## Re-extract the inbox's texts and update the ja/en catalogues
	$(BIN)/pybabel extract -F inbox/babel.cfg -k _l --no-location --project "LINE CRM" -o inbox/translations/messages.pot .
	$(BIN)/pybabel update -i inbox/translations/messages.pot -d inbox/translations --no-wrap

clean: ## Remove .venv and local data
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
