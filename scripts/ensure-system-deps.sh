#!/usr/bin/env bash
# Make sure the machine has what the project needs outside Python: PostgreSQL server binaries with
# PostGIS (for the embedded database and the tests) and Python's venv module. Installs them with apt
# when run as root on Debian/Ubuntu; otherwise says exactly which packages to install.
# WITH_BROWSER=1 (set by `make test`) also wants the outside clients the tests drive: Debian's chromium
# (browser tests) and gdal-bin (ogrinfo reads the OGC API).
set -euo pipefail

PY="${PY:-python3}"
missing=()

pg_major() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sed -E 's#.*/postgresql/([0-9]+)/bin#\1#' | sort -n | tail -1
}

have_postgres() {
  local major; major="$(pg_major)"
  [ -n "$major" ] && [ -x "/usr/lib/postgresql/$major/bin/initdb" ] && [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]
}

have_postgis() {
  local major; major="$(pg_major)"
  [ -n "$major" ] && [ -f "/usr/share/postgresql/$major/extension/postgis.control" ]
}

have_venv() { "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; }
have_browser() { [ "${WITH_BROWSER:-0}" != 1 ] || command -v chromium >/dev/null 2>&1; }
have_gdal() { [ "${WITH_BROWSER:-0}" != 1 ] || command -v ogrinfo >/dev/null 2>&1; }

have_venv || missing+=("python3-venv")
if ! have_postgres; then
  missing+=("postgresql" "postgresql-<version>-postgis-3")
elif ! have_postgis; then
  missing+=("postgresql-$(pg_major)-postgis-3")
fi
have_browser || missing+=("chromium")
have_gdal || missing+=("gdal-bin")

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages: ${missing[*]}" >&2
  echo "install them as root, e.g.: apt-get install python3-venv postgresql postgresql-15-postgis-3" >&2
  echo "(or set DATABASE_URL to a PostgreSQL server that has PostGIS)" >&2
  exit 1
fi

echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
pkgs=()
have_venv || pkgs+=("python3-venv")
have_postgres || pkgs+=("postgresql")
have_browser || pkgs+=("chromium")
have_gdal || pkgs+=("gdal-bin")
if [ ${#pkgs[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 \
    || apt-get install -y --no-install-recommends "${pkgs[@]}"
fi
if ! have_postgis; then
  apt-get install -y -qq --no-install-recommends "postgresql-$(pg_major)-postgis-3" >/dev/null 2>&1 \
    || apt-get install -y --no-install-recommends "postgresql-$(pg_major)-postgis-3"
fi
have_postgres && have_postgis && have_venv && have_browser && have_gdal || { echo "error: installation did not provide everything" >&2; exit 1; }
