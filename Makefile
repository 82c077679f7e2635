# aduan: the developer's and CI's entry points.  `make help` lists the targets.
# Contract targets (ARCHITECTURE.md): run, test, bench, stop.

SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALL_STAMP := $(VENV)/.installed-stamp
# The node tools the tests use (the AsyncAPI CLI), pinned by package-lock.json.
NODE_STAMP := node_modules/.installed-stamp

# The developer's broker (make run) and the test broker (make test) never share ports or data:
# each instance keeps its data, logs and pid file in var/kafka-<port>/.
ADUAN_KAFKA_HOST ?= 127.0.0.1
ADUAN_KAFKA_PORT ?= 9092
ADUAN_KAFKA_CONTROLLER_PORT ?= 9093
ADUAN_TEST_KAFKA_PORT ?= 19092
ADUAN_TEST_KAFKA_CONTROLLER_PORT ?= 19093
# The secured broker (make kafka-secure: SASL_SSL, SCRAM-SHA-512, ACLs) is an instance of its own.
ADUAN_SECURE_KAFKA_PORT ?= 9094
ADUAN_SECURE_KAFKA_CONTROLLER_PORT ?= 9095

# kafkactl.py uses only the standard library: it runs before the virtualenv exists.
KAFKACTL := $(PYTHON) deploy/kafka/kafkactl.py --host $(ADUAN_KAFKA_HOST)
KAFKA := $(KAFKACTL) --port $(ADUAN_KAFKA_PORT) --controller-port $(ADUAN_KAFKA_CONTROLLER_PORT)
TEST_KAFKA := $(KAFKACTL) --port $(ADUAN_TEST_KAFKA_PORT) \
	--controller-port $(ADUAN_TEST_KAFKA_CONTROLLER_PORT)
SECURE_KAFKA := $(KAFKACTL) --port $(ADUAN_SECURE_KAFKA_PORT) \
	--controller-port $(ADUAN_SECURE_KAFKA_CONTROLLER_PORT)
BOOTSTRAP := $(ADUAN_KAFKA_HOST):$(ADUAN_KAFKA_PORT)
# The local replicated cluster (make cluster): 3 KRaft nodes on 9192-9197, data var/cluster-9192/.
ADUAN_CLUSTER_NODES ?= 3
ADUAN_CLUSTER_PORT ?= 9192
CLUSTER := $(KAFKACTL) cluster --nodes $(ADUAN_CLUSTER_NODES) --base-port $(ADUAN_CLUSTER_PORT)
TEST_BOOTSTRAP := $(ADUAN_KAFKA_HOST):$(ADUAN_TEST_KAFKA_PORT)
# A secured broker's client settings for one principal (ADUAN_KAFKA_* lines, exported).
SECURE_LOGIN = login=$$($(SECURE_KAFKA) env --principal $(1)) || exit 1; set -a; eval "$$login"; set +a
SECURE_CREDENTIALS := var/kafka-$(ADUAN_SECURE_KAFKA_PORT)/secure/credentials.json

# What `make run` starts in the foreground: engine worker + gateway (aduan run supervises them).
MAIN_JOB ?= $(PY) -m consumers.cli run
PYTEST_ARGS ?= --durations=30

.PHONY: help install asyncapi tools kafka-fetch kafka-start kafka-secure kafka-secure-stop kafka-status cluster cluster-status cluster-stop topics secure-topics run run-secure demo stop test lint bench bench-readmodel chaos chaos-cluster chaos-notifier api-fuzz clean

# External tools the tests need (they fail, never skip, without them): Debian packages.
#   graphviz: dot (lifecycle diagram); prometheus: promtool + server; prometheus-alertmanager: amtool;
#   openssl: the secured broker's local certificates;
#   docker-compose: `docker-compose config` validates compose.yaml (no container engine needed);
#   postgresql: the read model's production database (tests start their own server on 19900).
#   chromium: the console's browser e2e (Playwright drives the system browser, nothing downloaded).
TOOL_PACKAGES := graphviz prometheus prometheus-alertmanager openssl docker-compose postgresql chromium
TOOL_COMMANDS := dot promtool prometheus amtool openssl docker-compose chromium
# Playwright (pip) drives /usr/bin/chromium; it must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# Tools found by file, not on PATH: Debian keeps PostgreSQL's server binaries under its version.
TOOL_FILES := /usr/lib/postgresql/*/bin/pg_ctl

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: $(INSTALL_STAMP) $(NODE_STAMP) ## .venv (python3.11) with aduan and dev extras, pinned; node tools (npm ci)
$(INSTALL_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,rocksdb]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

asyncapi: install ## regenerate docs/asyncapi.yaml (every topic, key, message schema, Kafka bindings)
	$(PY) -m consumers.cli asyncapi

tools: ## apt-install the test tools (graphviz, prometheus, alertmanager, openssl, docker-compose, postgresql, chromium) if missing
	@missing=(); for tool in $(TOOL_COMMANDS); do command -v $$tool >/dev/null 2>&1 || missing+=($$tool); done; \
	for file in $(TOOL_FILES); do test -e "$$file" || missing+=($$(basename $$file)); done; \
	if [ $${#missing[@]} = 0 ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=(); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); \
	else echo "aduan: missing $${missing[*]}: run as root: apt-get install -y $(TOOL_PACKAGES)" >&2; exit 1; fi; \
	echo "aduan: installing $(TOOL_PACKAGES) (missing: $${missing[*]})"; \
	"$${sudo[@]}" apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive "$${sudo[@]}" apt-get install -y -qq --no-install-recommends \
	  $(TOOL_PACKAGES) >/dev/null

kafka-fetch: ## fetch the Kafka jars from Maven Central into deploy/kafka/lib/ (once)
	@$(KAFKACTL) fetch

kafka-start: ## start the local broker (127.0.0.1:9092) unless it already runs
	@$(KAFKA) start

kafka-secure: ## start the secured local broker (SASL_SSL + SCRAM-SHA-512 + ACLs) on 127.0.0.1:9094
	@$(SECURE_KAFKA) start --secure

kafka-secure-stop: ## stop the secured local broker
	@$(SECURE_KAFKA) stop

kafka-status: ## is the local broker running and answering?
	@$(KAFKA) status

cluster: install ## a local 3-node KRaft cluster (9192-9197) and its topics (3 replicas, min.insync 2)
	@$(CLUSTER) start
	@$(PY) -m consumers.topics --bootstrap "$$($(CLUSTER) bootstrap)" --replication 3
	@echo "aduan: clients: ADUAN_KAFKA_BOOTSTRAP=$$($(CLUSTER) bootstrap) ADUAN_TOPIC_REPLICATION=3"

cluster-status: ## every node of the local cluster, and the quorum leader
	@$(CLUSTER) status

cluster-stop: ## stop the local cluster (its data stays in var/cluster-9192/)
	@$(CLUSTER) stop

topics: install kafka-start ## create the topics that are missing, report drift
	@$(PY) -m consumers.topics --bootstrap $(BOOTSTRAP)

run: install kafka-start topics ## broker + topics + engine worker + gateway in the foreground (Ctrl-C stops them)
	@echo "aduan: Kafka broker on $(BOOTSTRAP) (controller $(ADUAN_KAFKA_HOST):$(ADUAN_KAFKA_CONTROLLER_PORT), data var/kafka-$(ADUAN_KAFKA_PORT)/); it keeps running after Ctrl-C, 'make stop' stops it"
	@ADUAN_KAFKA_BOOTSTRAP=$(BOOTSTRAP) $(MAIN_JOB)

secure-topics: install kafka-secure ## create the topics on the secured broker, as its super user (admin)
	@$(call SECURE_LOGIN,admin); $(PY) -m consumers.topics

run-secure: install kafka-secure secure-topics ## make run on the secured broker (9094): each service as its own principal
	@echo "aduan: secured broker on $(ADUAN_KAFKA_HOST):$(ADUAN_SECURE_KAFKA_PORT) (SASL_SSL, SCRAM-SHA-512); worker as 'engine', gateway as 'gateway', notifier as 'notifier'; 'make kafka-secure-stop' stops it"
	@$(call SECURE_LOGIN,operator); ADUAN_KAFKA_CREDENTIALS_FILE=$(SECURE_CREDENTIALS) $(MAIN_JOB)

demo: install kafka-start ## one complaint through every stage on a simulated clock (about a minute)
	@ADUAN_KAFKA_BOOTSTRAP=$(BOOTSTRAP) $(PY) -m consumers.cli demo

stop: ## stop the local broker that make run/kafka-start started
	@$(KAFKA) stop

test: install tools ## the whole pytest suite against a broker on the test ports (19092/19093)
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

chaos-notifier: install ## the notifier through a 5-minute SMTP outage with a SIGKILL in the middle (part of make chaos)
	@started=0; \
	if $(TEST_KAFKA) status >/dev/null 2>&1; then :; else $(TEST_KAFKA) start || exit 1; started=1; fi; \
	ADUAN_TEST_BOOTSTRAP=$(TEST_BOOTSTRAP) ADUAN_OUTAGE_SECONDS=300 $(PY) -m pytest -s \
	  -o timeout=900 tests/integration/test_notifier_outage.py tests/e2e/test_notifier_failing_alert.py; \
	  rc=$$?; \
	if [ $$started = 1 ]; then $(TEST_KAFKA) stop; fi; exit $$rc

API_FUZZ_EXAMPLES ?= 200
api-fuzz: install ## schemathesis on every gateway operation, $(API_FUZZ_EXAMPLES) examples per operation and mode (no broker)
	ADUAN_API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) $(PY) -m pytest -q tests/unit/test_gateway_schemathesis.py

lint: install ## ruff check, ruff format --check, mypy (strict)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mypy --strict deploy/kafka/*.py
	$(PY) -m mypy --strict deploy/k8s/generate.py deploy/docker/healthcheck.py deploy/grafana/dashboards.py

bench: install ## benchmarks (python -m bench) against the local broker
	@ADUAN_KAFKA_BOOTSTRAP=$(BOOTSTRAP) $(PY) -m bench

READMODEL_BENCH_CASES ?= 1000000
bench-readmodel: install kafka-start ## read model: lookup/queue p99 on SQLite and PostgreSQL, gateway start-up, with a million cases
	@$(PY) -m bench.readmodel --cases $(READMODEL_BENCH_CASES) --bootstrap $(BOOTSTRAP)

# The chaos run (issue 12): its own broker on these ports (SIGKILLed and restarted during the run),
# data under var/chaos/. CHAOS_SEED empty = a random seed (printed; the seed replays the run).
CHAOS_MESSAGES ?= 100000
CHAOS_SEED ?=
CHAOS_WORKERS ?= 3
CHAOS_KILLS ?= 24
CHAOS_BROKER_RESTARTS ?= 3
CHAOS_RATE ?= 400
CHAOS_DURATION ?=
CHAOS_PORT ?= 19692
CHAOS_FUZZ_EXAMPLES ?= 3000
CHAOS_ARGS = --messages $(CHAOS_MESSAGES) --workers $(CHAOS_WORKERS) --kills $(CHAOS_KILLS) \
	--broker-restarts $(CHAOS_BROKER_RESTARTS) --rate $(CHAOS_RATE) --port $(CHAOS_PORT) \
	--controller-port $$(( $(CHAOS_PORT) + 1 )) $(if $(CHAOS_SEED),--seed $(CHAOS_SEED)) \
	$(if $(CHAOS_DURATION),--duration $(CHAOS_DURATION))

# The cluster failure test (issue 17): its own 3-node KRaft cluster on 19830-19835, scripted broker
# failures among worker kills, a gateway probed all along (tests/e2e/test_cluster_failures.py).
# For other sizes: python -m chaos --cluster 3 --cluster-port 19800 --messages N --rate R.
CLUSTER_TEST := $(PY) -m pytest -m cluster -s tests/e2e/test_cluster_failures.py

chaos-cluster: install ## the short cluster failure test (3 KRaft nodes on 19830-19835; 10+ min on 2 busy cores)
	@$(CLUSTER_TEST)

chaos: install ## chaos run (one broker), full cluster failure test, Kafka fuzz, notifier outage drill, API fuzz; CHAOS_MESSAGES=, CHAOS_SEED=, ...
	@rc=0; $(PY) -m chaos $(CHAOS_ARGS) || rc=$$?; \
	ADUAN_CHAOS_CLUSTER=full $(CLUSTER_TEST) || rc=$$?; \
	$(PY) -m chaos.fuzz --examples $(CHAOS_FUZZ_EXAMPLES) --port $(CHAOS_PORT) \
	  $(if $(CHAOS_SEED),--seed $(CHAOS_SEED)) || rc=$$?; \
	$(MAKE) --no-print-directory chaos-notifier || rc=$$?; \
	$(MAKE) --no-print-directory api-fuzz || rc=$$?; \
	exit $$rc

clean: ## stop every broker under var/ and wipe var/ (broker data, logs); keeps .venv and jars
	@$(KAFKACTL) stop --all
	rm -rf var
