# The README's two commands, `make run` and `make test`, work on a fresh machine:
# both depend on `setup`, which is idempotent (re-runs only when pyproject.toml changes).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup browser reports-tools run fleet fleet-down test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium for the playwright pool and the console's browser tests
# (`playwright install` cannot download here), a CJK font so screenshots show Chinese, and
# a colour emoji font so the emoji in posts render (not as empty boxes).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ] \
		|| [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then \
		echo "installing Debian chromium, fonts-wqy-microhei and fonts-noto-color-emoji"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q chromium fonts-wqy-microhei fonts-noto-color-emoji; \
	fi

# The briefings: Pango for WeasyPrint's PDF, a Chinese font for the charts and the PDF
# text, and for the report tests poppler (pdftoppm, pdffonts) and tesseract's Chinese OCR.
reports-tools:
	@if ! command -v pdftoppm >/dev/null || ! command -v tesseract >/dev/null \
		|| [ ! -d /usr/share/fonts/truetype/wqy ] || [ ! -f /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] \
		|| ! ldconfig -p | grep -q libpangoft2-1.0; then \
		echo "installing Pango, fonts-wqy-microhei, poppler-utils, tesseract-ocr-chi-sim"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei \
			poppler-utils tesseract-ocr tesseract-ocr-chi-sim; \
	fi

run: setup
	$(VENV)/bin/xianban run

# The loop as separate processes on Kafka + PostgreSQL (deploy/README.md, "The fleet"):
# tansu, the simulator, the scheduler, a worker per stage, the supervisor, the console.
FLEET_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
fleet: setup
	XIANBAN_DATABASE_URL="$${XIANBAN_DATABASE_URL:-$(FLEET_DATABASE_URL)}" $(VENV)/bin/xianban fleet up

fleet-down: setup
	$(VENV)/bin/xianban fleet down

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

# One pytest-xdist worker per core; each worker starts its own tansu broker and creates
# its own PostgreSQL databases (tests/fixtures). `make test TEST_WORKERS=0` runs serially.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test: setup browser reports-tools lint
	$(PY) -m pytest -ra --durations=20 -n $(TEST_WORKERS) --dist loadgroup

bench: setup
	mkdir -p bench
	$(VENV)/bin/xianban bench all --out bench/

clean:
	rm -rf $(VENV) .xianban .pytest_cache .mypy_cache .ruff_cache
