# syntax=docker/dockerfile:1
# Two images from one file, each installed from its lock file (requirements/, checked by hash):
#   server (the default, last stage)  python -m server: no OpenCV, no zbar, no simulator
#   demo                              the simulated stations of docker-compose.demo.yml
# The base image is pinned to an exact release; ./scripts/lock pins the Python packages.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# -- the server's virtual environment ---------------------------------------------------
FROM ${PYTHON_IMAGE} AS build-server
WORKDIR /src
RUN python -m venv /venv
COPY requirements/server.lock requirements/server.lock
RUN /venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
      -r requirements/server.lock
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY i18n i18n
COPY telemetry telemetry
COPY mqttlink mqttlink
COPY server server
RUN /venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps .

# -- the simulator's: server and agent libraries, the firmware simulator and the demo ----
FROM ${PYTHON_IMAGE} AS build-demo
WORKDIR /src
RUN python -m venv /venv
COPY requirements/demo.lock requirements/demo.lock
RUN /venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
      -r requirements/demo.lock
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY i18n i18n
COPY telemetry telemetry
COPY mqttlink mqttlink
COPY station_agent station_agent
COPY server server
COPY firmware_sim firmware_sim
COPY demo demo
RUN /venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps .

FROM ${PYTHON_IMAGE} AS demo
RUN apt-get update \
 && apt-get install -y --no-install-recommends libzbar0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-demo /venv /venv
COPY deploy/secrets-entrypoint.sh /usr/local/bin/secrets-entrypoint
RUN useradd --system --home /data warm && mkdir -p /data && chown warm /data
USER warm
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1
ENTRYPOINT ["/bin/sh", "/usr/local/bin/secrets-entrypoint"]
CMD ["python", "-m", "demo", "--help"]

# -- the server (default target) -------------------------------------------------------
FROM ${PYTHON_IMAGE} AS server
COPY --from=build-server /venv /venv
COPY deploy/secrets-entrypoint.sh /usr/local/bin/secrets-entrypoint
# /broker: the broker's account files and TLS material, written by the server (volume).
RUN useradd --system --home /data warm && mkdir -p /data /broker && chown warm /data /broker
USER warm
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 WS_SERVER_HTTP_HOST=0.0.0.0
EXPOSE 8080
# Ready = database reachable, broker connected, consumer keeping up (503 otherwise).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
ENTRYPOINT ["/bin/sh", "/usr/local/bin/secrets-entrypoint"]
CMD ["python", "-m", "server"]
