# Two entry points, both self-installing into .venv from the pinned requirements.txt:
#   make grade   grade the bundled exercises/ and print the score table
#   make test    the project's whole test suite (grader self-tests, suites, validate)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
COURSE := $(VENV)/.installed-optional

.PHONY: grade test validate generate clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# notebooks, nbgrader, workflow schemas: what the tests need beyond grading
$(COURSE): $(STAMP) requirements-optional.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-optional.txt
	touch $(COURSE)

grade: $(STAMP)
	$(PY) -m autograder grade

test: $(COURSE)
	$(PY) -m pytest autograder/selftests

validate: $(STAMP)
	$(PY) -m autograder validate

generate: $(STAMP)
	$(PY) -m autograder generate

clean:
	rm -rf $(VENV) .pytest_cache

# figures, not a test: timings of grade, in-process pytest, batch (and validate with ARGS=--validate)
.PHONY: bench
bench: $(COURSE)
	$(PY) bench/bench.py $(ARGS)
