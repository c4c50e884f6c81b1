# One image for the server and the simulated stations.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libzbar0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY i18n i18n
COPY telemetry telemetry
COPY mqttlink mqttlink
COPY station_agent station_agent
COPY server server
COPY firmware_sim firmware_sim
COPY demo demo
# The server's extra covers the simulated stations too (firmware_sim draws codes, calls HTTP).
RUN pip install --no-cache-dir '.[server]'
# /broker: the broker's account files and TLS material, written by the server (volume).
RUN useradd --system --home /data warm && mkdir -p /data /broker && chown warm /data /broker
USER warm
CMD ["python", "-m", "server"]
