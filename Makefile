# The two commands of the README: `make run` (set up, run the main job) and `make test`.
# Neither needs Apache Flink: `marl-part deploy` runs from .venv-flink (make .venv-flink/.installed).
PYTHON := .venv/bin/python
INSTALLED := .venv/.installed

# a venv and its extras: the flink extra gets its own, its pins (numpy, pandas, protobuf)
# clash with the main venv's
.venv/.installed: EXTRAS = test
.venv-flink/.installed: EXTRAS = flink,test
%/.installed: pyproject.toml
	python3 -m venv $*
	$*/bin/python -m pip install -q --upgrade pip
	# torch first, pinned: its CPU wheel lies on disk; an unpinned torch pulls a CUDA build
	$*/bin/python -m pip install -q torch==2.13.0
	$*/bin/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

.PHONY: run test
run: $(INSTALLED)
	.venv/bin/marl-part train configs/partition_schedule.yaml

test: $(INSTALLED)
	$(PYTHON) -m pytest -q
