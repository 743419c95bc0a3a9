# Two entry points (see README): `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo test lint bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# onnxruntime and onnxruntime-gpu install the same module, and this venv gets the CPU one
# ([bot], [dev]): a venv made before pyproject.toml split them holds onnxruntime-gpu, which
# goes first (with whatever was installed over it). CUDA: pip install '.[bot-gpu]' elsewhere.
ONE_RUNTIME = if $(PIP) show -q onnxruntime-gpu 2>/dev/null; then $(PIP) uninstall -q -y onnxruntime-gpu onnxruntime; fi

# The bot extra alone: covers without torch.
$(VENV)/.bot: pyproject.toml | $(VENV)/bin/python
	$(ONE_RUNTIME)
	$(PIP) install -q -e '.[bot]'
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(ONE_RUNTIME)
	$(PIP) install -q -e '.[dev]'
	touch $@ $(VENV)/.bot

demo: $(VENV)/.bot
	$(VENV)/bin/albumgan demo --out out/

test: lint
	$(PY) -m pytest -q

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/typecheck.py
