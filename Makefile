VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: venv test lint unit integration build demo bench bench-quick clean

venv: $(STAMP)

$(STAMP): requirements-dev.txt layers/smsdrop/requirements.txt
	python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml

test: lint
	$(VENV)/bin/pytest

unit: venv
	$(VENV)/bin/pytest tests/unit

integration: venv
	$(VENV)/bin/pytest tests/integration

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis
