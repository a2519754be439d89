# Two commands: `make demo` (set up everything, load the demo city, serve http://127.0.0.1:8000)
# and `make test`. Everything else here is a step of those two.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PETA_HOME ?= $(CURDIR)/.peta
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ARGS ?=

.PHONY: demo test test-random test-citus citus-suite install system-deps db-up db-down serve lint bench mutate clean docker-check citus

demo: system-deps install
	$(BIN)/peta db up
	$(BIN)/peta demo --skip-if-loaded $(DEMO_ARGS)
	$(BIN)/peta serve --host $(HOST) --port $(PORT)

# Test files are spread over TEST_JOBS processes (pytest-xdist; a file's tests stay together, so module
# fixtures are built once). TEST_JOBS=0 runs them in one process.
TEST_JOBS ?= auto
# Then the Citus suite (test-citus below), where Citus is installed: ensure-citus.sh builds it from the vendored
# source when that is present (CI), and says why not otherwise. CITUS_IN_TEST=0 leaves it out.
CITUS_IN_TEST ?= 1
HAVE_CITUS = $(BIN)/python -c "import sys; from core.settings import Settings; from db.embedded import find_bindir, \
	sharedir; sys.exit(not (sharedir(find_bindir(Settings())) / 'extension' / 'citus.control').exists())"
test: install
	@PY=$(PY) WITH_BROWSER=1 bash scripts/ensure-system-deps.sh
	@OPTIONAL=1 bash scripts/ensure-citus.sh
	$(BIN)/pytest -n $(TEST_JOBS) --dist loadfile
	@if [ "$(CITUS_IN_TEST)" = 0 ]; then echo "the Citus suite is left out (CITUS_IN_TEST=0)"; \
	elif $(HAVE_CITUS); then $(MAKE) --no-print-directory citus-suite; \
	else echo "the Citus suite is skipped: Citus is not installed here (make citus builds it)"; fi

# The same run in a shuffled order (issue 19): RANDOM_ARGS="--random-order-seed=N" repeats a run.
RANDOM_ARGS ?=
test-random: install
	@PY=$(PY) WITH_BROWSER=1 bash scripts/ensure-system-deps.sh
	$(BIN)/pytest -n $(TEST_JOBS) --dist loadfile --random-order $(RANDOM_ARGS)

# The core of the suite on an embedded Citus cluster, a coordinator and 2 workers under CITUS_TEST_HOME (issue 16):
# the refresh per kab/kota, ranking, figures and roll-up, the kab/kota keys, the audit chains, the distribution and
# the routing of one city's reads, the household import, OGC items and tiles, the workflow (campaigns, assignments,
# visits, decisions, back-checks, progress, prelists, two-step approval) and the programmes (README "Citus").
# Each test session's throwaway database is made on every node and distributed by the migrations (TEST_CITUS_HOME).
CITUS_TEST_HOME ?= $(CURDIR)/.peta-test/citus-suite
CITUS_JOBS ?= 0  # one process: two sessions distributing their databases at once collide in Citus's catalogs
CITUS_TESTS ?= tests/gis/test_refresh_per_kota.py tests/gis/test_ranking_rules.py tests/gis/test_stats.py \
	tests/gis/test_kota_keys.py tests/gis/test_audit_per_kota.py tests/gis/test_citus.py tests/gis/test_routing.py \
	tests/registry/test_import.py tests/api/test_ogc.py tests/gis/test_tile_zoom.py \
	tests/api/test_verval.py tests/api/test_verval_checks.py tests/api/test_two_step_approval.py \
	tests/gis/test_programmes_citus.py tests/gis/test_programme_errors.py tests/api/test_programme_errors.py \
	tests/gis/test_rollup.py
test-citus: install
	@PY=$(PY) bash scripts/ensure-system-deps.sh
	bash scripts/ensure-citus.sh
	@$(MAKE) --no-print-directory citus-suite
citus-suite:
	PETA_HOME=$(CITUS_TEST_HOME) $(BIN)/peta db up --citus 2
	TEST_CITUS_HOME=$(CITUS_TEST_HOME) $(BIN)/pytest -n $(CITUS_JOBS) --dist loadfile $(CITUS_TESTS); \
	  rc=$$?; PETA_HOME=$(CITUS_TEST_HOME) $(BIN)/peta db down; exit $$rc

# Citus built into this machine's PostgreSQL from the vendored source, once (README, "Citus"); `make test` does it
# too where the source and root are there, and the Citus tests skip, saying why, where not.
citus:
	bash scripts/ensure-citus.sh

system-deps:
	@PY=$(PY) bash scripts/ensure-system-deps.sh

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@PY=$(PY) bash scripts/ensure-system-deps.sh
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

db-up: install
	$(BIN)/peta db up

db-down:
	$(BIN)/peta db down

serve: install
	$(BIN)/peta serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy --ignore-missing-imports core db gis verval access registry boundaries api portal peta

bench: install
	$(BIN)/python bench/bench_boundaries.py
	$(BIN)/python bench/bench_households.py --repeat 3
	$(BIN)/python bench/bench_stats.py --repeat 20
	$(BIN)/python bench/bench_proposal.py --repeat 3
	$(BIN)/python bench/bench_api.py --repeat 10
	$(BIN)/python bench/bench_load.py

# Mutation testing of the modules that guard data and figures (issue 19); not in CI: hours for every mutant.
# MUTATE_ARGS="--limit 5" for a sample, "--module audit" for one module; see bench/README.md.
MUTATE_ARGS ?=
mutate: install
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

# The Docker setup end to end with no image registry (issue 15; README, Docker Compose): a Debian base made with
# debootstrap, both images built on it, compose up on the host network, /healthz, `peta demo`, one OGC page,
# compose down -v. Not in CI: it needs docker and several minutes of vfs builds. Ports avoid 5432 and 8000.
DOCKER_DB_PORT ?= 55433
DOCKER_APP_PORT ?= 18080
DOCKER_BASE_IMAGE ?= peta-debian:bookworm
DOCKER_DEMO_ARGS ?= --scale 0.2
docker-check:
	DB_PORT=$(DOCKER_DB_PORT) APP_PORT=$(DOCKER_APP_PORT) BASE_IMAGE=$(DOCKER_BASE_IMAGE) \
	  DEMO_ARGS="$(DOCKER_DEMO_ARGS)" bash scripts/docker-check.sh

clean:
	-$(BIN)/peta db down
	rm -rf $(VENV) .peta-test
