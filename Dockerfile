# The Peta Verval app (API + portal), built from Debian bookworm with Debian's Python 3.11 and the
# project's wheel. The database is docker/db/Dockerfile (Debian's PostgreSQL 15 + PostGIS 3); see
# docker-compose.yml. BASE is the official Debian image by default; `make docker-check` builds on a base it
# made itself with debootstrap (--build-arg BASE=peta-debian:bookworm), so no registry is needed.
# Settings come before the big steps: with the vfs storage driver every step copies the whole image again.
ARG BASE=debian:bookworm-slim

# --- build: the wheel, and a virtual environment in /opt/peta holding it and its dependencies ---
FROM ${BASE} AS build
# EXTRA_CA_CERTS: PEM certificates pip trusts besides Debian's, for a network whose proxy inspects TLS (the
# check passes the host's /usr/local/share/ca-certificates); used in this stage only, not in the image
ARG EXTRA_CA_CERTS=""
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/ca-certificates/extra.crt && update-ca-certificates >/dev/null; \
    fi \
 && python3 -m venv /opt/peta
# the dependencies first, from pyproject.toml alone: a change of the source does not download them again
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      >/tmp/requirements.txt \
 && /opt/peta/bin/pip install -q -r /tmp/requirements.txt
# the source in one step (.dockerignore leaves out tests, caches and the rest); the wheel holds the package
# data too (pyproject's package-data; tests/packaging/test_wheel.py proves it)
COPY . ./
RUN /opt/peta/bin/pip wheel -q --no-deps -w /wheels . \
 && /opt/peta/bin/pip install -q --no-deps /wheels/*.whl \
 && /opt/peta/bin/peta --help >/dev/null

# --- runtime: Debian's python3 and the environment; no compiler, no source tree, no pip cache ---
FROM ${BASE}
ENV PATH=/opt/peta/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PETA_HOME=/home/peta/.peta HOST=0.0.0.0 PORT=8000 PETA_DB_WAIT_S=60
EXPOSE 8000
# liveness: the process answers (/livez needs no database, so a busy pool or a database outage does not
# get a working process restarted); load balancers ask /readyz, which checks the database
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
  CMD python -c "import os,sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('PORT', '8000'), timeout=4).status != 200)"
# peta-start (docker/app/start.sh): wait for the database (PETA_DB_WAIT_S), `peta db migrate`, then exec the
# server on HOST:PORT, so it replaces the shell as PID 1 and gets SIGTERM itself; it then stops within
# PETA_SHUTDOWN_TIMEOUT_S (10 s), inside compose's stop_grace_period
CMD ["peta-start"]
COPY docker/app/start.sh /usr/local/bin/peta-start
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && chmod 0755 /usr/local/bin/peta-start \
 && useradd --create-home --uid 10001 peta
WORKDIR /home/peta
USER peta
COPY --from=build /opt/peta /opt/peta
