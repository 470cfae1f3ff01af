# idebook: build the book and run every test from one virtual environment.
#
#   make book   -> _build/html/index.html (notebooks are committed executed; nothing is re-run)
#   make test   -> ruff + unit tests + nbval on every notebook in book/
#
# Both targets create .venv with $(PYTHON) and install requirements.txt first, and reinstall
# whenever requirements.txt or pyproject.toml change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SANITIZE := nbval_sanitize.cfg

# Keep numba's on-disk cache (cache=True functions) out of the source tree.
export NUMBA_CACHE_DIR := $(CURDIR)/$(VENV)/numba-cache
# (MPLBACKEND is deliberately left unset: ipykernel then uses the inline backend, so nbval sees
# the same figure outputs as the committed notebooks; headless unit tests fall back to Agg.)

.PHONY: all book test lint venv clean distclean
.DEFAULT_GOAL := all

all: test book

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	@touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .

# One pytest run for the unit tests (tests/) and the notebooks (book/, via nbval).
# Exit code 5 ("no tests collected") is accepted only while book/ has no notebook yet.
test: lint
	@notebooks="$$(find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)"; \
	paths=""; for d in tests book; do if [ -d "$$d" ]; then paths="$$paths $$d"; fi; done; \
	cmd="$(BIN)/python -m pytest $$paths --nbval --nbval-current-env"; \
	cmd="$$cmd --nbval-sanitize-with $(SANITIZE) -p no:cacheprovider"; \
	echo "$$cmd"; $$cmd; rc=$$?; \
	if [ $$rc -eq 5 ] && [ -z "$$notebooks" ]; then \
	    echo "pytest collected no tests, and book/ has no notebook yet: OK"; exit 0; \
	fi; \
	exit $$rc

clean:
	rm -rf _build .pytest_cache

distclean: clean
	rm -rf $(VENV)
