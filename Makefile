# Two entry points: `make demo` and `make test`. Both create the environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: env browser demo test bench clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The local CPU build; a looser spec would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# The source of the Bible gold, for the test that rebuilds it; its own requirements
	# (Django, JupyterLab) are for its web app, never imported here.
	$(BIN)/pip install --quiet --no-deps bible-alignments==0.4.2
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

env: $(STAMP)

demo: env
	$(BIN)/python -m pipeline.run --output out/demo

# Headless Chromium renders the evaluation report in tests/test_report_browser.py. As root
# with apt-get (CI, containers) it is installed here and then required; elsewhere the
# browser tests run when a chromium is on PATH and otherwise skip, saying why (-rs).
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: env browser
	XLNER_REQUIRE_CHROMIUM=$$( [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo 1 || echo 0) \
	  $(BIN)/python -m pytest -q -rs tests

clean:
	rm -rf out .pytest_cache .hypothesis
