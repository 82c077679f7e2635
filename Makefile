# aduan: the developer's and CI's entry points.  `make help` lists the targets.
# Contract targets (ARCHITECTURE.md): run, test, bench, stop.

SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALL_STAMP := $(VENV)/.installed-stamp

# The developer's broker (make run) and the test broker (make test) never share ports or data:
# each instance keeps its data, logs and pid file in var/kafka-<port>/.
ADUAN_KAFKA_HOST ?= 127.0.0.1
ADUAN_KAFKA_PORT ?= 9092
ADUAN_KAFKA_CONTROLLER_PORT ?= 9093
ADUAN_TEST_KAFKA_PORT ?= 19092
ADUAN_TEST_KAFKA_CONTROLLER_PORT ?= 19093

# kafkactl.py uses only the standard library: it runs before the virtualenv exists.
KAFKACTL := $(PYTHON) deploy/kafka/kafkactl.py --host $(ADUAN_KAFKA_HOST)
KAFKA := $(KAFKACTL) --port $(ADUAN_KAFKA_PORT) --controller-port $(ADUAN_KAFKA_CONTROLLER_PORT)
TEST_KAFKA := $(KAFKACTL) --port $(ADUAN_TEST_KAFKA_PORT) \
	--controller-port $(ADUAN_TEST_KAFKA_CONTROLLER_PORT)
BOOTSTRAP := $(ADUAN_KAFKA_HOST):$(ADUAN_KAFKA_PORT)
TEST_BOOTSTRAP := $(ADUAN_KAFKA_HOST):$(ADUAN_TEST_KAFKA_PORT)

# What `make run` starts in the foreground: engine worker + gateway (aduan run supervises them).
MAIN_JOB ?= $(PY) -m consumers.cli run
PYTEST_ARGS ?=

.PHONY: help install kafka-fetch kafka-start kafka-status topics run demo stop test api-fuzz lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(INSTALL_STAMP) ## create .venv (python3.11) and install aduan with dev extras, pinned
$(INSTALL_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,rocksdb]'
	@touch $@

kafka-fetch: ## fetch the Kafka jars from Maven Central into deploy/kafka/lib/ (once)
	@$(KAFKACTL) fetch

kafka-start: ## start the local broker (127.0.0.1:9092) unless it already runs
	@$(KAFKA) start

kafka-status: ## is the local broker running and answering?
	@$(KAFKA) status

topics: install kafka-start ## create the topics that are missing, report drift
	@$(PY) -m consumers.topics --bootstrap $(BOOTSTRAP)

run: install kafka-start topics ## broker + topics + engine worker + gateway in the foreground (Ctrl-C stops them)
	@echo "aduan: Kafka broker on $(BOOTSTRAP) (controller $(ADUAN_KAFKA_HOST):$(ADUAN_KAFKA_CONTROLLER_PORT), data var/kafka-$(ADUAN_KAFKA_PORT)/); it keeps running after Ctrl-C, 'make stop' stops it"
	@ADUAN_KAFKA_BOOTSTRAP=$(BOOTSTRAP) $(MAIN_JOB)

demo: install kafka-start ## one complaint through every stage on a simulated clock (about a minute)
	@ADUAN_KAFKA_BOOTSTRAP=$(BOOTSTRAP) $(PY) -m consumers.cli demo

stop: ## stop the local broker that make run/kafka-start started
	@$(KAFKA) stop

test: install ## the whole pytest suite against a broker on the test ports (19092/19093)
	@mkdir -p var; rm -f var/pytest.exitcode; started=0; \
	if $(TEST_KAFKA) status >/dev/null 2>&1; then \
	  echo "aduan: reusing the test broker already running on $(TEST_BOOTSTRAP)"; \
	else \
	  $(TEST_KAFKA) start || exit 1; started=1; \
	fi; \
	ADUAN_TEST_BOOTSTRAP=$(TEST_BOOTSTRAP) $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	echo $$rc > var/pytest.exitcode; \
	if [ $$started = 1 ]; then $(TEST_KAFKA) stop; fi; \
	if [ $$rc = 5 ]; then echo "aduan: pytest collected no tests (exit 5); an empty suite is a failure"; fi; \
	exit $$rc

API_FUZZ_EXAMPLES ?= 200
api-fuzz: install ## schemathesis on every gateway operation, $(API_FUZZ_EXAMPLES) examples per operation and mode (no broker)
	ADUAN_API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) $(PY) -m pytest -q tests/unit/test_gateway_schemathesis.py

lint: install ## ruff check, ruff format --check, mypy (strict)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mypy --strict deploy/kafka/kafkactl.py

bench: install ## benchmarks (python -m bench) against the local broker
	@ADUAN_KAFKA_BOOTSTRAP=$(BOOTSTRAP) $(PY) -m bench

clean: ## stop every broker under var/ and wipe var/ (broker data, logs); keeps .venv and jars
	@$(KAFKACTL) stop --all
	rm -rf var
