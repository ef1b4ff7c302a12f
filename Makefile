# VisionX: `make demo` and `make test` set up whatever is missing (idempotent), then run.
VENV ?= .venv
PY := $(VENV)/bin/python
export VENV

.PHONY: setup demo test clean-demo
setup:
	@bash tools/setup_env.sh

demo: setup
	@$(PY) tools/data/make_demo_data.py --root data/demo  # the demo configs read data/demo/<method>
	@PY=$(PY) bash tools/demo.sh

test: setup
	@$(PY) -m pytest -q tests

clean-demo:
	rm -rf data/demo work_dirs/demo
