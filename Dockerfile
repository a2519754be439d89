# The Peta Verval app (API + portal). The database comes from docker-compose.yml (postgis/postgis).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gis ./gis
COPY boundaries ./boundaries
COPY api ./api
COPY portal ./portal
COPY peta ./peta
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 peta
USER peta
ENV PETA_HOME=/home/peta/.peta
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["sh", "-c", "peta db migrate && peta serve --host 0.0.0.0 --port 8000"]
