# kickserv-graph: the GraphQL subgraph server. Configuration only through the environment
# (see README.md, Configuration); with no KICKSERV_* credentials it serves the built-in sandbox.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies in their own layer, exact versions with hashes from the lock (scripts/lock writes
# it from pyproject.toml): rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Then exactly the package source (nothing from bench/ or tests/), installed without touching the
# dependencies again. pyproject.toml and README.md are the build's metadata.
COPY pyproject.toml README.md ./
COPY kickserv ./kickserv
COPY sandbox ./sandbox
COPY resolvers ./resolvers
COPY graph ./graph
RUN pip install --no-deps . && rm -rf build ./*.egg-info

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin graph
USER graph

ENV GRAPH_ENV=production
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GRAPH_PORT', '8000'), timeout=2)"
CMD ["kickserv-graph", "serve", "--host", "0.0.0.0"]
