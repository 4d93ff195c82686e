# subreg — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test install system-deps lint bench-check screenshots

# Debian packages the full test suite uses (Tesseract reads the MRZ from card photos, and the printed text of
# stored ID scans in Vietnamese for the back-office queue: tesseract-ocr-vie).
# Installed when missing and we may (root with apt-get); otherwise those tests skip with a reason.
SYSTEM_PKGS := tesseract-ocr tesseract-ocr-vie

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# face_recognition (the face model's API) without its dependencies: it names `dlib`, which would be built
	@# from source; dlib-bin, a dependency of subreg, is the same module prebuilt.
	$(BIN)/python -m pip install --quiet --no-deps 'face_recognition==1.3.0'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

system-deps:
	@if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx vie; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(SYSTEM_PKGS)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PKGS)) >/dev/null; \
	  else echo "note: $(SYSTEM_PKGS) not installed; tests that need it will be skipped"; fi; \
	fi
	@# Kannel (bearerbox, smsbox, fakesmsc) for the SMS gateway end-to-end tests (Debian's packages).
	@if [ ! -x /usr/lib/kannel/test/fakesmsc ] || ! command -v bearerbox >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing kannel kannel-extras"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras) >/dev/null; \
	  else echo "note: kannel not installed; the Kannel tests will be skipped"; fi; \
	fi
	@# OsmoHLR for the network provisioning tests (Debian's package). The tests start their own osmo-hlr on a
	@# loopback address of their own; Debian's package does not enable its service, and should a system
	@# instance run after the install it is stopped (its example config's GSUP port is NATS's here).
	@if ! command -v osmo-hlr >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing osmo-hlr"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq osmo-hlr) >/dev/null; \
	    if [ -d /run/systemd/system ] && systemctl is-active --quiet osmo-hlr; then systemctl disable --now osmo-hlr; fi; \
	  else echo "note: osmo-hlr not installed; the OsmoHLR tests will be skipped"; fi; \
	fi
	@# Jasmin, the SMPP server of the SMPP tests, in its own virtualenv (.venv-jasmin; a no-op when present).
	@./scripts/jasmin-env.sh || echo "note: Jasmin could not be installed; the SMPP tests will be skipped"
	@# Headless Chromium for the browser tests (Debian's package; Playwright drives it, downloads nothing).
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "note: chromium not installed; the browser tests will be skipped"; fi; \
	fi

## make run: create the venv, initialise ./var (database, keys), load the demo operator, serve (web + worker).
run: install
	$(BIN)/subreg init
	$(BIN)/subreg demo-data --count 3000 --seed 2018 --if-empty
	$(BIN)/subreg snapshot --skip-existing
	$(BIN)/subreg backoffice queue-fill
	@# The worker beside the web server (both stop together): 1414 and the SMS outbox through the built-in SMS
	@# centre, network orders to the built-in network, restorations within seconds, the daily enforcement sweep.
	$(BIN)/subreg worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; $(BIN)/subreg serve

## make test: install test dependencies, lint, and run the whole suite.
test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	# On every core; the API fuzz file alone after: schemathesis makes its cases at run time, which xdist cannot spread.
	$(BIN)/python -m pytest -n auto --ignore=tests/e2e/test_fuzz_api.py
	$(BIN)/python -m pytest tests/e2e/test_fuzz_api.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-check: install
	$(BIN)/python bench/check.py --rows 1000000

## make screenshots: run the browser tests and keep their screenshots in docs/screenshots/ (shown by docs/pos.md).
screenshots: install system-deps
	SUBREG_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser
