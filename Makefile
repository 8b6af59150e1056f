# Two commands on a fresh machine: `make run` (set up what serving needs, index the bundled corpus, serve)
# and `make test` (that set-up plus the test and Ray extras, run the whole suite). `make install` does the
# serving set-up alone.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
INDEX_DIR ?= $(or $(FUNDSTELLE_INDEX_DIR),var/index)
BIN := $(VENV)/bin
STAMP := $(VENV)/.fundstelle-installed
# The test and Ray extras (Playwright, schemathesis, Ray: most of the .venv's size), for `make test` only.
TEST_STAMP := $(VENV)/.fundstelle-test-installed
MODEL := models/multilingual-e5-small/fundstelle_recipe.json
# ONNX fp32 + int8 exports of the model (models/export.py); offline, idempotent, a few minutes once.
EXPORTS := models/multilingual-e5-small/onnx/fundstelle_export.json
# The reading model's serving form (int8 ONNX) from its committed weights on the e5 folder; offline, a few minutes once.
READER := models/reader/serving/serving.json
# The German compound splitter's tables (text/compounds_build.py): 23 MB of arrays from the compound-split package's
# 39 MB of dicts, so no process holds those (360 MB resident); offline, seconds.
COMPOUNDS := text/compound_tables/build.json

.PHONY: install run test check bench quality clean

install: $(STAMP) $(MODEL) $(EXPORTS) $(READER) $(COMPOUNDS)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build in pyproject.toml; install it first so nothing pulls CUDA.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $(TEST_STAMP)

# Each build does nothing when its output is current; the touch tells make so (else a newer stamp, after a
# reinstall, would have make run the three builds' checks again on every call).
$(MODEL): models/build_e5.py $(STAMP)
	$(BIN)/fundstelle model build
	touch $(MODEL)

$(EXPORTS): models/export.py $(MODEL)
	HF_HUB_OFFLINE=1 $(BIN)/python -m models.export
	touch $(EXPORTS)

$(READER): models/reader/build.py $(wildcard models/reader/weights/*) $(MODEL)
	HF_HUB_OFFLINE=1 $(BIN)/python -m models.reader.build
	touch $(READER)

$(COMPOUNDS): text/compounds_build.py text/compounds.py $(STAMP)
	$(BIN)/python -m text.compounds_build
	touch $(COMPOUNDS)

run: install
	test -f $(INDEX_DIR)/fundstelle.sqlite3 || $(BIN)/fundstelle index --index-dir $(INDEX_DIR)
	$(BIN)/fundstelle serve --index-dir $(INDEX_DIR) --host $(HOST) --port $(PORT)

# `make test`: the whole suite, as CI runs it (browser, Ray-cluster and crash tests too), slowest 25 listed.
# `make check`: the inner loop: lint, the layering and every test but those three kinds (README, "Tests").
test: install $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest --durations=25

check: install $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "not browser and not ray and not slow"

# `make bench`: every benchmark in bench/ at modest sizes (the scripts' own defaults take hours on
# 2 cores); `make bench BENCH_SIZES=10000,100000 BENCH_STORAGE_N=1000000` for the
# BENCHMARKS.md runs. Results go to bench/results/. Retrieval quality has its own target (`make quality`).
BENCH_SIZES ?= 10000
BENCH_QUESTIONS ?= 200
BENCH_STORAGE_N ?= 100000
BENCH_FILTERS_N ?= 100000
BENCH_GNAD_PASSAGES ?= 400

bench: install $(TEST_STAMP)
	# txtai and OpenVINO, for txtai_compare.py and encoders.py
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/throughput.py data/corpus --queries 30
	$(BIN)/python bench/encoders.py --gnad-passages $(BENCH_GNAD_PASSAGES) --questions $(BENCH_QUESTIONS)
	$(BIN)/python bench/storage.py --n $(BENCH_STORAGE_N) --compare-n 0
	$(BIN)/python bench/filters.py --n $(BENCH_FILTERS_N)
	$(BIN)/python bench/txtai_compare.py --articles 12 --distractors 100
	$(BIN)/python bench/scaleout.py --xquad-articles 12 --questions 40
	$(BIN)/python bench/http_latency.py --sizes $(BENCH_SIZES) --questions $(BENCH_QUESTIONS)
	# the "no answer" confidence: shipped coefficients vs a refit (reports only, changes nothing)
	$(BIN)/python bench/calibrate.py --articles 16 --distractors 300
	$(BIN)/python bench/reader_cost.py
	# the figures of BENCHMARKS.md (docs/bench-*.png) from bench/results/*.json
	$(BIN)/python bench/plots.py

quality: install
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) var artifacts models/multilingual-e5-small text/compound_tables
