# VisionX: `make demo` and `make test` set up whatever is missing (idempotent), then run.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_ROOT ?= data/demo

.PHONY: setup demo test clean-demo
setup:
	@bash tools/setup_env.sh

demo: setup
	@$(PY) tools/data/make_demo_data.py --root $(DEMO_ROOT)
	@bash tools/demo.sh

test: setup
	@$(PY) -m pytest -q tests

clean-demo:
	rm -rf $(DEMO_ROOT) work_dirs/demo
