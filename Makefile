# The README's commands. Needs only python3, pip and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
PYTEST := $(BIN)/pytest
export OMP_NUM_THREADS ?= 1

.PHONY: demo test test-unit test-integration test-oldest test-e2e bench bench-compare clean ui-vendor screenshots

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned; everything else under the same constraint. Which build of torch 2.13.0 pip
# takes is the index's choice: plain PyPI gives Linux x86_64 the CUDA build (several GB);
# `make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu` takes the CPU build (about 200 MB).
# This project's CI machine offers the CPU wheel through its own pip configuration.
TORCH_INDEX ?=
$(VENV)/.demo: $(BIN)/python pyproject.toml setup.py integrations/_startup.py constraints.txt
	$(PIP) torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) -c constraints.txt -e .
	$(BIN)/python -m compileall -q core_client  # as pip does for a regular install: import time is measured with bytecode
	touch $@

$(VENV)/.test: $(VENV)/.demo tests/requirements-frameworks.txt
	$(PIP) -c constraints.txt -e ".[dev]"
	$(PIP) -c constraints.txt -r tests/requirements-frameworks.txt  # the framework stack of tests/integration/frameworks
	touch $@

# The oldest release of every declared dependency (constraints-oldest.txt), in a venv of its own;
# installed_pins.py fails the build if pip installed anything else.
OLDEST := .venv-oldest
FRAMEWORKS := transformers accelerate peft lightning pytorch-lightning tensorboardX "jsonargparse[signatures]"

$(OLDEST)/.test: pyproject.toml setup.py integrations/_startup.py constraints-oldest.txt tests/installed_pins.py
	rm -rf $(OLDEST)
	$(PY) -m venv $(OLDEST)
	$(OLDEST)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(OLDEST)/bin/pip install --quiet --disable-pip-version-check -c constraints-oldest.txt -e ".[dev]" $(FRAMEWORKS)
	$(OLDEST)/bin/python -m pip check
	$(OLDEST)/bin/python tests/installed_pins.py constraints-oldest.txt
	touch $@

demo: $(VENV)/.demo
	@rm -rf .tracklet-demo
	TRACKLET_DIR=$(CURDIR)/.tracklet-demo $(BIN)/python examples/train_tiny.py
	TRACKLET_DIR=$(CURDIR)/.tracklet-demo $(BIN)/tracklet show latest

# A failed test is run once more, alone, as a safety net for torch's gloo teardown, which sometimes
# aborted a worker at exit ("terminate called without an active exception") while its process group
# was still open; the ddp tests now end it from an exit handler. A failure that repeats fails the
# target. The first run's failures stay printed.
RERUN := || (echo "rerunning the failed tests once"; $(PYTEST) tests -q --lf)

test: $(VENV)/.test
	$(PYTEST) tests -q $(RERUN)

test-unit: $(VENV)/.test
	$(PYTEST) tests -q -m unit

test-integration: $(VENV)/.test
	$(PYTEST) tests -q -m integration

test-e2e: $(VENV)/.test
	$(PYTEST) tests -q -m e2e

# docs/screenshots/*.png, taken in headless Chromium over a demo store made by real runs (README: tracklet ui)
screenshots: $(VENV)/.test
	$(BIN)/python tests/e2e/screenshots.py

# The dashboard's one vendored library, uPlot, fetched again from the npm registry at the pinned version and
# checked against the registry's sha512 before it replaces server/static/vendor/ (the licence travels with it).
UPLOT_VERSION := 1.6.32
UPLOT_SHA512 := KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==
ui-vendor:
	rm -rf build/uplot && mkdir -p build/uplot
	cd build/uplot && npm pack --silent uplot@$(UPLOT_VERSION) >/dev/null
	test "$$(openssl dgst -sha512 -binary build/uplot/uplot-$(UPLOT_VERSION).tgz | openssl base64 -A)" = "$(UPLOT_SHA512)" \
		|| (echo "uplot-$(UPLOT_VERSION).tgz does not match its pinned sha512" && false)
	tar -xzf build/uplot/uplot-$(UPLOT_VERSION).tgz -C build/uplot
	rm -rf server/static/vendor/uplot-* && mkdir -p server/static/vendor/uplot-$(UPLOT_VERSION)
	cp build/uplot/package/dist/uPlot.esm.js build/uplot/package/dist/uPlot.min.css build/uplot/package/LICENSE \
		server/static/vendor/uplot-$(UPLOT_VERSION)/

# every tier against the oldest declared versions (what CI runs after make test)
test-oldest: $(OLDEST)/.test
	$(OLDEST)/bin/pytest tests -q || (echo "rerunning the failed tests once"; $(OLDEST)/bin/pytest tests -q --lf)

bench: bench-compare

bench-compare:
	bash benchmarks/setup_compare.sh
	benchmarks/.venv-compare/bin/python benchmarks/core_compare.py --quick
	benchmarks/.venv-compare/bin/python benchmarks/artifact_compare.py --repeats 7

clean:
	rm -rf $(VENV) $(OLDEST) .tracklet-demo build *.egg-info .pytest_cache
