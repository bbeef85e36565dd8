# Kreiswissen – set-up, demo, tests and benchmarks. See README.md.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
KW     := $(VENV)/bin/kreiswissen
DATASET ?= xquad_de
DATA_DIR ?= ../shared/data
DEMO_PORT ?= 8080

.PHONY: install demo test lint bench-retrieval bench-latency bench-ingest bench-questions bench-pii bench-answers bench-load bench-minutes bench-routing clean

# axe-core (npm, exactly as locked) for the browser tests' accessibility checks; Playwright drives Debian's chromium.
AXE    := tests/e2e/node_modules/axe-core/axe.min.js

install: $(VENV)/.installed $(AXE)

$(VENV)/.installed: pyproject.toml scripts/install-system-deps.sh
	./scripts/install-system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Order-only on the venv: the system script installs npm first. npm dates extracted files to 1985, hence the touch.
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json | $(VENV)/.installed
	npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	HF_HUB_OFFLINE=1 $(KW) ingest samples/statutes
	HF_HUB_OFFLINE=1 $(KW) ask "Wie hoch ist die Hundesteuer für einen zweiten Hund in Bad Boll?"
	HF_HUB_OFFLINE=1 $(KW) search "Gebühren Kindergarten Eschenbach" --top-k 3
	HF_HUB_OFFLINE=1 $(KW) cases catalogue import samples/leistungen/leistungskatalog.yaml
	HF_HUB_OFFLINE=1 $(KW) cases blocks import samples/leistungen/textbausteine.yaml
	HF_HUB_OFFLINE=1 $(KW) cases import samples/anfragen
	@echo "Die Weboberfläche startet; im Browser öffnen: http://127.0.0.1:$(DEMO_PORT)/ (Strg+C beendet)"
	HF_HUB_OFFLINE=1 KREISWISSEN_COOKIE_SECURE=false $(KW) serve --demo --port $(DEMO_PORT)

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src

bench-retrieval: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/retrieval.py --dataset $(DATASET) --data-dir $(DATA_DIR)

bench-latency: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/latency.py

bench-ingest: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/ingest.py

bench-questions: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/sample_questions.py

bench-answers: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/answer_overhead.py

bench-minutes: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/minutes.py

bench-routing: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/routing.py

bench-load: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/load.py

bench-pii: install
	$(PY) benchmarks/pii.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache tests/e2e/node_modules
