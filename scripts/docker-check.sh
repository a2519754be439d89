#!/usr/bin/env bash
# `make docker-check` (issue 15): the Docker setup end to end, with no image registry at all.
#   1. tools: docker (daemon), debootstrap and compose (`docker compose` or `docker-compose`); installed with
#      apt when missing and run as root; dockerd started (DOCKERD_ARGS, vfs storage) when not running
#   2. the base image BASE_IMAGE (peta-debian:bookworm): made once with debootstrap --variant=minbase and
#      `docker import`, reused afterwards
#   3. both images (docker/db/Dockerfile, Dockerfile) built on it, with host networking
#   4. compose: docker-compose.yml without its `ports:` plus docker/compose.check.yml (host network, the
#      database on 127.0.0.1:DB_PORT, the app on 127.0.0.1:APP_PORT), project peta-check
#   5. waits for /healthz, checks that production refuses compose's placeholders, loads the demo city
#      (`compose run --rm app peta demo`), reads one OGC page and wants features in it
#   6. `compose down -v` always (trap); the time of each step at the end
# Every step is bounded (timeout); traffic stays on the loopback: no bridge network is used.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${BASE_IMAGE:-peta-debian:bookworm}"
APP_IMAGE="${APP_IMAGE:-peta-verval-app:latest}"
DB_IMAGE="${DB_IMAGE:-peta-verval-db:latest}"
DB_PORT="${DB_PORT:-55433}"
APP_PORT="${APP_PORT:-18080}"
DEMO_ARGS="${DEMO_ARGS:---scale 0.2}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-180}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-1800}"
DEMO_TIMEOUT="${DEMO_TIMEOUT:-900}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKERD_ARGS="${DOCKERD_ARGS:---storage-driver=vfs}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/peta-dockerd.log}"
PROJECT="${PROJECT:-peta-check}"

say() { echo "docker-check: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- step timings ---
STEPS=()
STEP_NAME=""
STEP_START=0
CHECK_START=$SECONDS
step() {  # step NAME: closes the step before, opens NAME
  step_end
  STEP_NAME="$1"; STEP_START=$SECONDS
  say "== $1"
}
step_end() {
  if [ -n "$STEP_NAME" ]; then
    STEPS+=("$(printf '%5ss  %s' "$((SECONDS - STEP_START))" "$STEP_NAME")")
    STEP_NAME=""
  fi
}
report() {
  step_end
  echo "docker-check: step times" >&2
  [ ${#STEPS[@]} -eq 0 ] || printf '  %s\n' "${STEPS[@]}" >&2
  printf '  %5ss  total\n' "$((SECONDS - CHECK_START))" >&2
}

# --- 1. tools ---
apt_install() {
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
    || die "missing $*: install them (e.g. apt-get install $*) or run this as root on Debian/Ubuntu"
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq
  timeout 600 apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step "tools"
missing=()
command -v dockerd >/dev/null 2>&1 || docker info >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "the docker daemon is not running (start it, or run this as root)"
  say "starting dockerd $DOCKERD_ARGS (log: $DOCKERD_LOG); it is left running"
  # shellcheck disable=SC2086  # DOCKERD_ARGS is a list of arguments
  setsid nohup dockerd $DOCKERD_ARGS >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$DOCKERD_LOG" >&2; die "dockerd did not start within 60 s"; }
fi

if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
else
  apt_install docker-compose
  COMPOSE=(docker-compose)
fi
say "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version 2>/dev/null | head -1))"

# --- 2. the base image ---
step "base image $BASE_IMAGE"
ROOTFS=""
WORK="$(mktemp -d /tmp/peta-docker-check.XXXXXX)"
cleanup() {
  local rc=$?
  step_end
  if [ -n "${COMPOSE_FILES:-}" ]; then
    say "== compose down -v"
    timeout 120 "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" down -v --remove-orphans >/dev/null 2>&1 \
      || say "warning: compose down failed"
  fi
  [ -z "$ROOTFS" ] || rm -rf "$ROOTFS"
  rm -rf "$WORK"
  report
  if [ $rc -eq 0 ]; then say "passed"; else say "FAILED (exit $rc)"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "reusing $BASE_IMAGE"
else
  ROOTFS="$(mktemp -d /tmp/peta-rootfs.XXXXXX)"
  say "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR"
  timeout 900 debootstrap --variant=minbase bookworm "$ROOTFS" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  # as debian:bookworm-slim: the updates and security suites, and no documentation, manuals or translations
  # in the packages installed later
  rm -f "$ROOTFS/etc/apt/sources.list"
  cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* \
    "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/*
  find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  chmod 0755 "$ROOTFS"  # mktemp made it 0700: it becomes the image's /, which every user must traverse
  timeout 600 tar -C "$ROOTFS" -c . | timeout 600 docker import -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE_IMAGE" >/dev/null
  rm -rf "$ROOTFS"; ROOTFS=""
fi

# --- 3. the images ---
# pip in the app's build stage trusts what this machine trusts besides Debian's bundle (a proxy that inspects
# TLS): the certificates under /usr/local/share/ca-certificates unless EXTRA_CA_CERTS is set
if [ -z "${EXTRA_CA_CERTS+set}" ]; then
  EXTRA_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)"
fi
build() {  # build IMAGE CONTEXT DOCKERFILE [BUILD ARGUMENT...]
  local image="$1" context="$2" dockerfile="$3" log
  shift 3
  log="$WORK/build-$(echo "$image" | tr -c 'a-zA-Z0-9\n' _).log"
  timeout "$BUILD_TIMEOUT" docker build --network host --build-arg "BASE=$BASE_IMAGE" "$@" -t "$image" \
    -f "$dockerfile" "$context" >"$log" 2>&1 || { tail -40 "$log" >&2; die "building $image failed"; }
}
step "build $DB_IMAGE"
build "$DB_IMAGE" docker/db docker/db/Dockerfile
step "build $APP_IMAGE"
build "$APP_IMAGE" . Dockerfile --build-arg "EXTRA_CA_CERTS=$EXTRA_CA_CERTS"

# --- 4. compose ---
step "compose config"
# compose cannot drop a port mapping in an override file, and host networking refuses one: the check's
# first file is docker-compose.yml with its `ports:` blocks left out, nothing else changed
awk '
  skip && match($0, /^ */) && RLENGTH > indent && $0 !~ /^ *$/ { next }
  { skip = 0 }
  /^ *ports: *$/ { skip = 1; match($0, /^ */); indent = RLENGTH; next }
  { print }
' docker-compose.yml >"$WORK/compose.yml"
COMPOSE_FILES=1
COMPOSE_ARGS=(-p "$PROJECT" --project-directory . -f "$WORK/compose.yml" -f docker/compose.check.yml)
export PETA_APP_IMAGE="$APP_IMAGE" PETA_DB_IMAGE="$DB_IMAGE" PETA_BASE_IMAGE="$BASE_IMAGE"
export PETA_CHECK_DB_PORT="$DB_PORT" PETA_CHECK_APP_PORT="$APP_PORT"
"${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" config | grep -q 'ports:' && die "the check's compose files still publish ports"
for port in "$DB_PORT" "$APP_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port is in use: set DB_PORT/APP_PORT"; fi
done
logs() { "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" logs --no-color --tail=80 >&2 || true; }

# before `up`: compose 1.29's `run` links a one-off container to the service's running ones, which host
# networking refuses; with no app container yet there is nothing to link
step "production refuses the placeholders"
if timeout 120 "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" run --rm --no-deps -e PETA_ENV=production app peta db status \
    >"$WORK/production.log" 2>&1; then
  cat "$WORK/production.log" >&2; die "PETA_ENV=production accepted compose's placeholder secret and password"
fi
grep -q "placeholder" "$WORK/production.log" || { cat "$WORK/production.log" >&2; die "no placeholder refusal"; }
say "refused: $(grep -m1 placeholder "$WORK/production.log" | tr -s ' ')"

step "compose up"
timeout 300 "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" up -d --no-build || { logs; die "compose up failed"; }

# --- 5. the service ---
BASE_URL="http://127.0.0.1:$APP_PORT"
step "wait for /healthz"
deadline=$((SECONDS + HEALTH_TIMEOUT))
until curl -fsS --max-time 5 "$BASE_URL/healthz" >"$WORK/healthz.json" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then logs; die "$BASE_URL/healthz did not answer 200 within $HEALTH_TIMEOUT s"; fi
  sleep 2
done
say "/healthz: $(cat "$WORK/healthz.json")"

step "peta demo $DEMO_ARGS"
# in the running app container (`exec`): the README's `compose run --rm app peta demo` does the same in a
# one-off container, which compose 1.29 cannot create on the host network next to a running one (links)
# shellcheck disable=SC2086  # DEMO_ARGS is a list of arguments
timeout "$DEMO_TIMEOUT" "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" exec -T app peta demo $DEMO_ARGS \
  || { logs; die "peta demo failed"; }

step "read an OGC page"
page="$BASE_URL/ogc/collections/kelurahan/items?limit=5"
curl -fsS --max-time 30 -H 'Accept: application/geo+json' "$page" >"$WORK/items.json" \
  || { logs; die "GET $page failed"; }
features="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("features") or []))' \
  "$WORK/items.json")"
[ "$features" -gt 0 ] || { head -c 500 "$WORK/items.json" >&2; die "GET $page has no features"; }
say "GET $page: $features features"

say "image sizes: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E "^($BASE_IMAGE|$APP_IMAGE|$DB_IMAGE) " | tr '\n' ';')"
