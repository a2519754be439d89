# The Peta Verval app (API + portal). The database comes from docker-compose.yml (postgis/postgis).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY db ./db
COPY gis ./gis
COPY verval ./verval
COPY registry ./registry
COPY access ./access
COPY boundaries ./boundaries
COPY api ./api
COPY portal ./portal
COPY peta ./peta
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 peta
USER peta
ENV PETA_HOME=/home/peta/.peta
EXPOSE 8000
# liveness: the process answers (/livez needs no database, so a busy pool or a database outage does not
# get a working process restarted); load balancers ask /readyz, which checks the database
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/livez').status != 200)"
# exec: the server replaces the shell as PID 1 and gets SIGTERM itself (the shell would not pass it on); it then
# stops within PETA_SHUTDOWN_TIMEOUT_S (10 s), inside compose's stop_grace_period
CMD ["sh", "-c", "peta db migrate && exec peta serve --host 0.0.0.0 --port 8000"]
