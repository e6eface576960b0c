# vaelite: two commands.
#   make test    the library tests, then every chapter notebook (pytest --nbval-lax)
#   make book    the HTML book in _build/html (open _build/html/index.html)
# Both create the virtual environment .venv first if it is missing or older than
# requirements.txt / pyproject.toml. Only Python 3.10+ is needed (make PYTHON=python3.12 ...).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_TIMEOUT ?= 300

# Numba writes its compile cache here (a writable folder, also on CI)
NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export NUMBA_CACHE_DIR

# What the chapters' outputs depend on besides the notebooks themselves: when one of these
# changes, the execution cache is dropped and every chapter runs again.
LIBRARY := $(shell find vaelite -name '*.py' -o -name '*.npz' 2>/dev/null) requirements.txt pyproject.toml

.PHONY: help test book venv clean

help:
	@echo "make test    run the tests and every chapter notebook"
	@echo "make book    build the book into _build/html"
	@echo "make clean   remove _build and the caches"

venv: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null || \
	    { echo "vaelite needs Python 3.10 or newer; try: make PYTHON=python3.12 $(MAKECMDGOALS)"; exit 1; }; \
	  echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV) || \
	    { echo "could not create $(VENV) (on Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }; \
	fi
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

test: $(INSTALLED)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --timeout=$(TEST_TIMEOUT) tests book

# A clean _build/html every time (so -W sees every page's warnings), but keep the
# execution cache _build/.jupyter_cache: unchanged chapters are not run again.
book: $(INSTALLED) _build/.library-stamp
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open $(CURDIR)/_build/html/index.html"

_build/.library-stamp: $(LIBRARY)
	rm -rf _build/.jupyter_cache
	mkdir -p _build
	touch $@

clean:
	rm -rf _build .numba_cache .pytest_cache
