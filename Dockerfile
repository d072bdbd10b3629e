# Correlator worker image: `docker build -t correlator .`
#
# Runs `correlator worker` by default; any other sub-command works too, e.g.
#   docker run --rm correlator replay --topology configs/topology.yaml --input - < alerts.jsonl
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that code changes do not re-download them.
COPY pyproject.toml README.md ./
COPY correlator ./correlator
COPY topology ./topology
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app correlator

COPY configs ./configs

USER correlator

# In a container the web server must listen on all interfaces; Kafka comes from the env.
ENV CORRELATOR_WEB__HOST=0.0.0.0 \
    CORRELATOR_KAFKA__BOOTSTRAP_SERVERS=kafka:9092

EXPOSE 6066

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:6066/livez', timeout=2).status == 200 else 1)"

ENTRYPOINT ["correlator"]
CMD ["worker", "--config", "configs/worker.yaml"]
