# The registry API: small, non-root, with a healthcheck. Same start-up path as everywhere:
# `registry serve` migrates to head, loads the seed catalog when empty, then serves.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /opt/registry \
 && /opt/registry/bin/pip install --no-cache-dir --disable-pip-version-check -c requirements.lock .

FROM python:3.11-slim
# Credit reports embed this TrueType Chinese font (REGISTRY_REPORT_FONT may name another .ttf/.ttc).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-wqy-zenhei \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /srv/registry registry \
 && mkdir -p /srv/registry/data && chown -R registry /srv/registry
COPY --from=build /opt/registry /opt/registry
COPY --chown=registry alembic.ini /srv/registry/
COPY --chown=registry migrations /srv/registry/migrations
WORKDIR /srv/registry
USER registry
ENV PATH=/opt/registry/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    REGISTRY_HOST=0.0.0.0 \
    REGISTRY_PORT=8000 \
    REGISTRY_DATA_DIR=/srv/registry/data
EXPOSE 8000
# X-Forwarded-For is believed only from REGISTRY_TRUSTED_PROXIES (empty: from nobody); behind a
# reverse proxy set it to the proxy's address or network. docs/operations.md, "Limits and proxies".
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
CMD ["registry", "serve", "--workers", "4"]
