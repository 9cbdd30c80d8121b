VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: venv chromium test lint unit integration build build-venv demo bench bench-quick clean

venv: $(STAMP)

$(STAMP): requirements-dev.txt layers/smsdrop/requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	$(PIP) install -q --disable-pip-version-check --no-deps -e .  # the smsdrop command (cli/), for operators
	touch $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/mypy

# Headless Chromium for the report page's browser test (Debian's package; CI and these machines run as root).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Workers: each has its own moto server and simulator; much of a test's time is waiting on them, so more workers than
# cores still shortens the run (3 workers kept the 2 cores 157% busy; a 4th gained nothing).
WORKERS ?= 3

test: lint chromium
	$(VENV)/bin/pytest -n $(WORKERS) --dist loadfile --durations=25

unit: venv
	$(VENV)/bin/pytest tests/unit

integration: venv chromium
	$(VENV)/bin/pytest tests/integration

# SAM CLI in a venv of its own: its dependencies (awscrt, pyOpenSSL, which botocore loads when present) stay out of
# the one tests and benchmarks run in, as they are out of the Lambda runtime.
BUILD_VENV ?= .venv-build
BUILD_STAMP := $(BUILD_VENV)/.installed

$(BUILD_STAMP): requirements-build.txt
	python3 -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-build.txt
	touch $(BUILD_STAMP)

build-venv: $(BUILD_STAMP)

build: $(BUILD_STAMP)
	$(BUILD_VENV)/bin/sam validate --lint
	PATH="$(abspath $(BUILD_VENV))/bin:$$PATH" $(BUILD_VENV)/bin/sam build

demo: venv
	$(PY) -m local.run examples/campaign.csv --delivery --report

bench: venv
	$(PY) -m bench

bench-quick: venv
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) $(BUILD_VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis
