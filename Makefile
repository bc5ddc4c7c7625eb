# Two commands for a fresh clone:  make quickstart   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch goes in first: a plain `torch` requirement would pull several GB
# of CUDA packages. Elsewhere, point pip at a CPU wheel index with PIP_EXTRA_INDEX_URL.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.neurosim-installed
# Optional extras to install; CI adds neurogym and snntorch so their tests run there.
EXTRAS ?= test,distributed

.PHONY: quickstart test test-all lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/neurosim sweep experiments/quickstart.toml

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q --runslow

lint: $(STAMP)
	$(BIN)/ruff check neurosim tests experiments benchmarks

# Every benchmark at full size (about 15 min on 2 idle cores), then the README's Speed paragraph.
bench: $(STAMP)
	$(BIN)/python benchmarks/optimizer_step.py
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/fit_sizes.py
	$(BIN)/python benchmarks/song_stdp.py --inputs poisson
	$(BIN)/python benchmarks/song_stdp.py --inputs pregenerated --skip-runtime
	$(BIN)/python benchmarks/ei_network.py
	$(BIN)/python benchmarks/readme.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
