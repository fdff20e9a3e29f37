# The two commands of the README: `make run` (set up, run the main job) and `make test`.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

$(INSTALLED): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	# torch first, pinned: its CPU wheel lies on disk; an unpinned torch pulls a CUDA build
	$(PYTHON) -m pip install -q torch==2.13.0
	$(PYTHON) -m pip install -q -e '.[test]'
	touch $(INSTALLED)

.PHONY: run test
run: $(INSTALLED)
	$(VENV)/bin/marl-part train configs/partition_schedule.yaml

test: $(INSTALLED)
	$(PYTHON) -m pytest -q
