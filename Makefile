# idebook: build the book and run every test from one virtual environment.
#
#   make book   -> _build/html/index.html (notebooks are committed executed; nothing is re-run)
#   make check  -> the inner loop while working (under 2 minutes on 2 cores): lint, then the
#                  unit tests on two pytest-xdist workers, without notebooks, browser, Binder or
#                  the tests marked slow; it includes the machine-independent check of the
#                  committed notebooks' printed outputs
#   make test   -> every check below, in this order; each step prints its wall time:
#     lint          ruff check .
#     unit          pytest tests/ (unit and widget tests, the output check, slow tests) + nbval
#                   on every notebook in book/
#     book          the HTML book, with the JavaScript it needs copied in (works offline)
#     browser       headless Chromium: every page of _toc.yml (console, MathJax, images, links,
#                   widgets, no request to another host, screenshots in _build/screenshots/),
#                   dark mode, and a slider moved against a live kernel (Voila)
#     binder-check  what Binder builds: a fresh venv with runtime.txt's Python and
#                   requirements.txt alone, then ./postBuild (warms the numba cache with a
#                   generic CPU target, see ./start); times a first `import idebook` with a cold
#                   and with the warmed cache; then executes every notebook there through
#                   ./start, on "another machine": a C library whose exp, log, pow, ... return
#                   other last bits (tests/libm_jitter.c), glibc's non-FMA variants and a
#                   generic numba target (another BLAS kernel is a manual run, see README).
#                   Their checked outputs must equal the committed ones, so together with
#                   nbval every notebook has been executed twice, on two machines'
#                   arithmetic, with the same outputs
#
# .venv is created with $(PYTHON) from requirements.txt and reinstalled whenever
# requirements.txt or pyproject.toml change. Missing system tools (npm, chromium) are installed
# with apt-get when running as root, as in CI.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SANITIZE := nbval_sanitize.cfg
CHROMIUM ?= /usr/bin/chromium
# The Binder check's throw-away environment (inside _build/, so each checkout has its own),
# built with the Python that runtime.txt pins for Binder (e.g. python-3.11 -> python3.11).
BINDER_VENV ?= $(CURDIR)/_build/binder-venv
BINDER_PYTHON := python$(shell sed -n 's/^python-\([0-9]*\.[0-9]*\).*/\1/p' runtime.txt)
# JavaScript copied from node_modules/ (npm ci) for the HTML; see _config.yml (html_static_path).
VENDOR := _vendor
NPM_STAMP := node_modules/.idebook-installed
VENDOR_STAMP := $(VENDOR)/.idebook-vendored
HTML_MANAGER := node_modules/@jupyter-widgets/html-manager
# The machine the Binder check executes the notebooks on is made another machine: other last
# bits from exp, log, pow, ... (tests/libm_jitter.c, preloaded; glibc's non-FMA variants below
# it), and numba compiling for a generic CPU (./start). OpenBLAS's kernel is not set here: that
# check is a manual nbval run with OPENBLAS_CORETYPE=Prescott in its own shell (README).
OTHER_MACHINE := LD_PRELOAD=$(BINDER_VENV)/libm_jitter.so LIBM_JITTER_SEED=1 \
	IDEBOOK_OTHER_LIBM=1 GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA,-AVX
TIMINGS := _build/timings.txt

# Keep numba's on-disk cache (cache=True functions) out of the source tree.
export NUMBA_CACHE_DIR := $(CURDIR)/$(VENV)/numba-cache
# (MPLBACKEND is deliberately left unset: ipykernel then uses the inline backend, so nbval sees
# the same figure outputs as the committed notebooks; headless unit tests fall back to Agg.)

# Wall time of a step: $(START) first, $(STOP) last in its recipe (also appended to $(TIMINGS)).
START = @mkdir -p _build && date +%s.%N > _build/.start-$(subst /,_,$@)
STOP = @s=$$(cat _build/.start-$(subst /,_,$@)); rm -f _build/.start-$(subst /,_,$@); \
	e=$$(awk -v a=$$s -v b=$$(date +%s.%N) 'BEGIN { printf "%.1f", b - a }'); \
	echo "[time] $@: $$e s"; echo "$@: $$e s" >> $(TIMINGS)

# $(call apt_install,PACKAGES): install Debian packages (root only; otherwise say what to do).
define apt_install
if [ "$$(id -u)" != 0 ]; then \
    echo "error: missing $(1); install it with: sudo apt-get install $(1)"; exit 1; fi; \
export DEBIAN_FRONTEND=noninteractive; apt-get update -q && \
    apt-get install -y -q --no-install-recommends $(1)
endef

.PHONY: all book check test lint unit vendor browser binder-check binder-python chromium venv \
	timings-reset clean distclean
.DEFAULT_GOAL := all

all: test

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(START)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	@touch $@
	$(STOP)

# --- the book ----------------------------------------------------------------------------------

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(call apt_install,nodejs npm); }
	$(START)
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@
	$(STOP)

# MathJax 3 (es5 build, with its fonts and extensions), RequireJS and the widgets HTML manager.
$(VENDOR_STAMP): $(NPM_STAMP)
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/mathjax $(VENDOR)/requirejs $(VENDOR)/html-manager
	cp -R node_modules/mathjax/es5/. node_modules/mathjax/LICENSE $(VENDOR)/mathjax/
	cp node_modules/requirejs/require.js $(VENDOR)/requirejs/
	find $(HTML_MANAGER)/dist -maxdepth 1 -type f ! -name '*.map' \
	    -exec cp {} $(VENDOR)/html-manager/ \;
	@touch $@

vendor: $(VENDOR_STAMP)

book: $(STAMP) vendor
	$(START)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"
	$(STOP)

# --- the checks --------------------------------------------------------------------------------

test: timings-reset lint unit book browser binder-check
	@echo "== make test: wall time of each step =="; cat $(TIMINGS)

check: timings-reset lint
	$(START)
	$(BIN)/python -m pytest tests --ignore=tests/browser --ignore=tests/test_book_notebooks.py \
	    -m "not slow" -p no:cacheprovider -q -n 2
	$(STOP)

timings-reset:
	@mkdir -p _build && rm -f $(TIMINGS)

lint: $(STAMP)
	$(START)
	$(BIN)/ruff check .
	$(STOP)

# One pytest run for the unit tests (tests/) and the notebooks (book/, via nbval), on two
# pytest-xdist workers; --dist loadfile keeps every notebook's cells, in order, in one kernel.
# Exit code 5 ("no tests collected") is accepted only while book/ has no notebook yet.
unit: $(STAMP)
	$(START)
	@notebooks="$$(find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)"; \
	paths=""; for d in tests book; do if [ -d "$$d" ]; then paths="$$paths $$d"; fi; done; \
	cmd="$(BIN)/python -m pytest $$paths --ignore=tests/browser"; \
	cmd="$$cmd --ignore=tests/test_book_notebooks.py --nbval --nbval-current-env"; \
	cmd="$$cmd --nbval-sanitize-with $(SANITIZE) -p no:cacheprovider --durations=15"; \
	cmd="$$cmd -n 2 --dist loadfile"; \
	echo "$$cmd"; $$cmd; rc=$$?; \
	if [ $$rc -eq 5 ] && [ -z "$$notebooks" ]; then \
	    echo "pytest collected no tests, and book/ has no notebook yet: OK"; exit 0; \
	fi; \
	exit $$rc
	$(STOP)

chromium:
	@test -x $(CHROMIUM) || { $(call apt_install,chromium fonts-dejavu-core); }
	@$(CHROMIUM) --version

# Needs the built book (make book); `$(BIN)/python -m pytest tests/browser` re-runs the checks
# against the current _build/html without rebuilding.
browser: book chromium
	$(START)
	IDEBOOK_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests/browser -p no:cacheprovider -v -rs
	$(STOP)

# Binder's interpreter: the Python version runtime.txt pins, installed with apt-get (as root)
# when the machine lacks it; otherwise stop and say which interpreter is missing.
binder-python:
	@command -v $(BINDER_PYTHON) >/dev/null 2>&1 && $(BINDER_PYTHON) -c 'import ensurepip, venv' \
	    2>/dev/null || { $(call apt_install,$(BINDER_PYTHON) $(BINDER_PYTHON)-venv); } || { \
	    echo "error: Binder's Python ($(BINDER_PYTHON), pinned by runtime.txt) is missing;" \
	         "install $(BINDER_PYTHON) with its venv module"; exit 1; }
	@$(BINDER_PYTHON) --version

# What Binder does: a new venv with runtime.txt's Python, `pip install -r requirements.txt`,
# ./postBuild (through ./start, as repo2docker runs it), and every session through ./start.
# pip's cache makes the install fast after the first time. The first `import idebook` of a
# session is timed with an empty numba cache (cold) and with the cache postBuild left (warm).
# Then every notebook is executed there, in a fresh kernel, and compared with its committed
# outputs (tests/test_book_notebooks.py).
binder-check: binder-python
	$(START)
	rm -rf $(BINDER_VENV)
	$(BINDER_PYTHON) -m venv $(BINDER_VENV)
	@s=$$(date +%s); $(BINDER_VENV)/bin/python -m pip install --disable-pip-version-check -q \
	    -r requirements.txt && line="binder-check (pip install -r requirements.txt):" && \
	    line="$$line $$(( $$(date +%s) - s )) s" && echo "[time] $$line" && \
	    echo "$$line" >> $(TIMINGS)
	PATH=$(BINDER_VENV)/bin:$$PATH NUMBA_CACHE_DIR=$(BINDER_VENV)/numba-cache ./postBuild
	@for cache in cold:$(BINDER_VENV)/numba-cold warm:$(BINDER_VENV)/numba-cache; do \
	    rm -rf $(BINDER_VENV)/numba-cold; \
	    NUMBA_CACHE_DIR=$${cache#*:} ./start $(BINDER_VENV)/bin/python -c 'import time; \
	    t = time.perf_counter(); import idebook; print(f"{time.perf_counter() - t:.1f}")' \
	    > $(BINDER_VENV)/import-time || exit 1; \
	    line="binder-check (first import idebook, $${cache%%:*} numba cache):"; \
	    line="$$line $$(cat $(BINDER_VENV)/import-time) s"; echo "[time] $$line"; \
	    echo "$$line" >> $(TIMINGS); done
	@command -v $(CC) > /dev/null || { $(call apt_install,gcc libc6-dev); }
	$(CC) -O2 -Wall -shared -fPIC -o $(BINDER_VENV)/libm_jitter.so tests/libm_jitter.c -ldl -lm
	JUPYTER_PATH=$(BINDER_VENV)/share/jupyter NUMBA_CACHE_DIR=$(BINDER_VENV)/numba-cache \
	    IDEBOOK_EXECUTE_NOTEBOOKS=1 IDEBOOK_EXPECT_PREFIX=$(BINDER_VENV) $(OTHER_MACHINE) \
	    ./start $(BINDER_VENV)/bin/python -m pytest tests/test_book_notebooks.py \
	    -p no:cacheprovider -v -rP --durations=0 -n 2
	$(STOP)

clean:
	rm -rf _build .pytest_cache $(VENDOR)

distclean: clean
	rm -rf $(VENV) node_modules
