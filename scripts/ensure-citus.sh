#!/usr/bin/env bash
# Build Citus into this machine's PostgreSQL when it is missing, from the vendored source (CITUS_SRC, by default
# ../shared/vendor/citus beside the checkout): `make citus`, and `make test` (OPTIONAL=1: where the source or root
# is missing it only says so, and the Citus tests skip). Citus is for scaling out (README "Citus"); a plain install
# of Peta Verval does not need it.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${CITUS_SRC:-../shared/vendor/citus}"
major="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sed -E 's#.*/postgresql/([0-9]+)/bin#\1#' | sort -n | tail -1)"
if [ -n "$major" ] && [ -f "/usr/share/postgresql/$major/extension/citus.control" ]; then
  exit 0
fi
if [ ! -x "$SRC/build-citus.sh" ] && [ ! -f "$SRC/build-citus.sh" ]; then
  msg="Citus is not installed and its source is not at $SRC (set CITUS_SRC, or install postgresql-15-citus-13.2)"
  if [ "${OPTIONAL:-0}" = 1 ]; then echo "note: $msg; the Citus tests will skip" >&2; exit 0; fi
  echo "error: $msg" >&2; exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  msg="building Citus needs root: sudo bash $SRC/build-citus.sh"
  if [ "${OPTIONAL:-0}" = 1 ]; then echo "note: $msg; the Citus tests will skip" >&2; exit 0; fi
  echo "error: $msg" >&2; exit 1
fi
echo "building Citus from $SRC (a few minutes, once)" >&2
bash "$SRC/build-citus.sh"
