# rescale-mock for a team: `rescale-mock serve --workers N` on 0.0.0.0:8123, data dir /data.
# Untested here (no Docker engine on the machine it was written on); see README "Share one fake across a team".
#   docker build -t rescale-mock .
#   docker run -p 8123:8123 -e RESCALE_MOCK_CONTROL_TOKEN=... rescale-mock
# Arguments after the image name replace CMD (the options after `serve ... --data-dir /data`), e.g.
#   docker run ... rescale-mock --workers 4 --database postgresql://... --blobs s3://bucket/prefix
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# what the package is built from (tests, bench and docs stay out: see .dockerignore)
COPY pyproject.toml README.md LICENSE ./
COPY mockserver ./mockserver
COPY client ./client
COPY openapi ./openapi
# postgres: the PostgreSQL engine (psycopg 3); s3: blobs in an S3-compatible store (boto3)
RUN pip install ".[postgres,s3]" \
    && cd / && rm -rf /src \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin rescale \
    && mkdir -p /data && chown rescale /data && chmod 0700 /data

USER rescale
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8123

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8123/_fake/health/', timeout=2)"]

# SIGTERM (docker stop) stops every worker and releases the data dir; exit status 0
ENTRYPOINT ["rescale-mock", "serve", "--host", "0.0.0.0", "--port", "8123", "--data-dir", "/data"]
CMD ["--workers", "2"]
