# The chat bot in a container: no torch, CPU onnxruntime, the shipped models inside.
#
#   docker build -t albumgan .
#   docker run -d --name albumgan -e DISCORD_TOKEN -v albumgan-state:/var/lib/albumgan albumgan
#   docker run --rm albumgan demo --out /tmp/demo            # any albumgan command
#
# Build arguments (docs/OPERATIONS.md):
#   BOT_EXTRA   bot (CPU onnxruntime, the default) | bot-gpu (onnxruntime-gpu; pair it with a CUDA
#               base image, see deploy/compose.gpu.yaml). Add ",slack" for the Slack frontend.
#   BASE_IMAGE  python:3.11-slim by default; any Debian or Ubuntu image whose python3 is 3.11 or
#               newer works too (Debian's python3-venv is installed when venv is missing), e.g. a
#               CUDA runtime image, or a bookworm image made offline with debootstrap.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS base
# python:3.11-slim already has venv (and no apt lists: nothing is installed there).
RUN if ! python3 -m venv --help > /dev/null 2>&1; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# Build stage: the package and its dependencies into a venv; the sources stay behind.
FROM base AS build
ARG BOT_EXTRA=bot
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY albumgan albumgan
COPY bot bot
COPY training training
COPY export export
RUN python3 -m venv /opt/albumgan/venv \
    && /opt/albumgan/venv/bin/pip install --no-cache-dir --disable-pip-version-check "/src[${BOT_EXTRA}]"

# Run stage: the venv, the settings and the models (models/*.train.pt are for fine-tuning only).
FROM base
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/albumgan --no-create-home \
        --shell /usr/sbin/nologin albumgan \
    && install -d -o albumgan -g albumgan -m 0750 /var/lib/albumgan
COPY --from=build /opt/albumgan/venv /opt/albumgan/venv
COPY deploy/bot.toml /opt/albumgan/bot.toml
COPY models/*.onnx models/demo-tracks.csv /opt/albumgan/models/
ENV PATH=/opt/albumgan/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# ./bot.toml is the settings file the bot reads; mount another over it to change settings.
WORKDIR /opt/albumgan
USER albumgan
# The database (and any models you add) live here: keep it on a named volume.
VOLUME ["/var/lib/albumgan"]
# serve drains on SIGTERM: covers in flight finish (up to 60 s), new ones are refused.
STOPSIGNAL SIGTERM
# deploy/bot.toml serves /healthz and /metrics on 127.0.0.1:9464 inside the container (compose's
# command widens it to 0.0.0.0 for Prometheus). `albumgan health` reads the same settings, asks
# /healthz with Python's urllib and exits 1 when it is not 200; with no [metrics] bind it has
# nothing to ask and counts as healthy. The start period covers loading the models and logging in.
HEALTHCHECK --interval=30s --timeout=15s --start-period=90s --retries=3 CMD ["albumgan", "health"]
ENTRYPOINT ["albumgan"]
CMD ["serve", "--discord"]
