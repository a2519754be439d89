#!/bin/sh
# The app container's command: wait until the database at DATABASE_URL accepts connections (at most
# PETA_DB_WAIT_S seconds, 60 by default), apply the migrations, then serve on HOST:PORT (exec: the server is
# PID 1 and gets SIGTERM itself). `peta db migrate` does not retry on its own, and a fresh database
# container takes a few seconds to create its cluster.
set -eu

python - <<'PY'
import os
import re
import sys
import time

import psycopg

url = os.environ.get("DATABASE_URL", "")
if not url:
    sys.exit(0)  # nothing to wait for: `peta db migrate` says what is missing
url = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
where = url.rsplit("@", 1)[-1]
limit = float(os.environ.get("PETA_DB_WAIT_S", "60"))
deadline = time.monotonic() + limit
said = False
while True:
    try:
        psycopg.connect(url, connect_timeout=5).close()
        break
    except psycopg.OperationalError as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if "authentication failed" in last:  # a wrong password does not mend by waiting
            print(f"peta-start: error: the database at {where} refused the login: {last}", file=sys.stderr)
            sys.exit(1)
        if time.monotonic() >= deadline:
            print(f"peta-start: error: the database at {where} did not answer within {limit:g} s: {last}",
                  file=sys.stderr)
            sys.exit(1)
        if not said:
            print(f"peta-start: waiting for the database at {where} ({last})", file=sys.stderr)
            said = True
        time.sleep(1)
print(f"peta-start: the database at {where} answers", file=sys.stderr)
PY

peta db migrate
exec peta serve --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}"
