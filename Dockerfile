# syntax=docker/dockerfile:1
# aduan: one image for every process, chosen by command:
#   docker run aduan worker | gateway | notifier | topics | smtp-sink | case show ADU-... | --help
# Build: docker build -t aduan:0.1.0 .
# Probes: HEALTHCHECK below asks the running process's own HTTP endpoint (deploy/docker/healthcheck.py:
# worker /stats/ "ready", gateway /readyz, notifier /metrics); compose.yaml and deploy/k8s use the same.

# --- build: a virtualenv with aduan and its dependencies, pinned by constraints.txt ----------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/aduan
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY workflow ./workflow
COPY states ./states
COPY consumers ./consumers
# Wheels only: python:3.11-slim has no compiler, and a source build would not repeat.
RUN /opt/aduan/bin/pip install --only-binary=:all: -c constraints.txt '.[rocksdb]' \
    && /opt/aduan/bin/aduan --help >/dev/null

# --- runtime: the virtualenv only, run by an unprivileged user -------------------------------------
FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 aduan \
    && useradd --system --uid 10001 --gid aduan --home-dir /app --shell /usr/sbin/nologin aduan
COPY --from=build /opt/aduan /opt/aduan
WORKDIR /app
COPY deploy/notifier/officers.yaml deploy/notifier/officers.yaml
COPY deploy/docker/healthcheck.py /opt/aduan/healthcheck.py
RUN mkdir -p /app/var && chown aduan:aduan /app/var
# Containers listen on every interface (the processes default to 127.0.0.1 for a laptop);
# worker tables (rocksdb) and gateway attachments live under /app/var (a volume in compose / k8s).
ENV PATH=/opt/aduan/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ADUAN_WEB_HOST=0.0.0.0 \
    ADUAN_GATEWAY_HOST=0.0.0.0 \
    ADUAN_DATA_DIR=/app/var/worker \
    ADUAN_GATEWAY_STORE_DIR=/app/var/attachments
VOLUME ["/app/var"]
USER 10001:10001
# worker (faust web: /stats/, /metrics), gateway (HTTP), notifier (/metrics)
EXPOSE 6066 8080 6068
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/aduan/healthcheck.py"]
ENTRYPOINT ["aduan"]
CMD ["--help"]
