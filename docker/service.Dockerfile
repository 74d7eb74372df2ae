# The callcenter service (FastAGI server, AMI client, record writer).
# Build from the repository root: docker build -f docker/service.Dockerfile .
FROM python:3.11-slim-bookworm
WORKDIR /opt/callcenter
COPY pyproject.toml README.md ./
COPY callcenter ./callcenter
COPY dialplans ./dialplans
COPY sounds ./sounds
COPY asterisk ./asterisk
RUN pip install --no-cache-dir . \
 && apt-get update && apt-get install -y --no-install-recommends espeak-ng sox \
 && CALLCENTER_HOME=/opt/callcenter callcenter sounds \
 && rm -rf /var/lib/apt/lists/*
ENV CALLCENTER_HOME=/opt/callcenter \
    CALLCENTER_RUN_DIR=/srv/callcenter/state
# Records wait here while PostgreSQL is unreachable: keep it on a volume.
VOLUME ["/srv/callcenter/state"]
CMD ["sh", "-c", "callcenter db upgrade && callcenter asterisk-config && exec callcenter serve"]
