#!/usr/bin/env bash
# Runs every huntbridge test on a fresh or an existing machine:
#   1. makes sure PostgreSQL accepts connections on 127.0.0.1:5432 (starts the local
#      cluster, or installs it from Debian's packages when it is missing),
#   2. installs sigma-cli, pySigma and stix2 into .venv (kept between runs)
#      so tests validate Sigma rules and STIX bundles with those tools,
#   3. installs Synapse from PyPI into .venv-synapse (kept between runs) and
#      starts it on 127.0.0.1 for the Matrix end-to-end tests; it is stopped
#      when the script ends,
#   4. runs `cargo test --all-targets`: unit tests, the store and flow tests
#      on SQLite and on PostgreSQL (each test creates its own database), the
#      shell binary tests, and a build of the benchmarks,
#   5. checks deploy/huntbridge.service with systemd-analyze (when present),
#   6. checks formatting and clippy warnings.
# HUNTBRIDGE_TEST_POSTGRES_URL points the tests at another server.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

postgres_answers() {
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
}

start_local_cluster() {
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || return 1
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
    for _ in $(seq 1 30); do
        postgres_answers && return 0
        sleep 1
    done
    return 1
}

install_postgres() {
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    start_local_cluster
    # A fresh Debian cluster requires a password on TCP, so the test user gets one.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
    export HUNTBRIDGE_TEST_POSTGRES_URL="${HUNTBRIDGE_TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
}

ensure_postgres() {
    if [ -n "${HUNTBRIDGE_TEST_POSTGRES_URL:-}" ]; then
        log "using PostgreSQL from HUNTBRIDGE_TEST_POSTGRES_URL"
        return
    fi
    if postgres_answers; then
        log "PostgreSQL answers on 127.0.0.1:5432"
        return
    fi
    start_local_cluster || install_postgres
    postgres_answers || { echo "error: PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
}

# Test databases are dropped by the tests; a crashed run may leave some behind.
# Without FORCE, a database still in use by another run is left alone.
drop_leftover_test_databases() {
    command -v psql >/dev/null || return 0
    local url="${HUNTBRIDGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    psql "$url" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'hb\_test\_%'" 2>/dev/null |
        while read -r name; do
            psql "$url" -qc "DROP DATABASE IF EXISTS \"$name\"" 2>/dev/null || true
        done
}

ensure_postgres
drop_leftover_test_databases
log "python tools for output validation (sigma-cli, pySigma, stix2) in .venv"
HUNTBRIDGE_TEST_PYTHON="$(scripts/pyenv.sh)"
export HUNTBRIDGE_TEST_PYTHON
log "Synapse on 127.0.0.1 for tests/matrix_e2e.rs (first run installs .venv-synapse)"
trap 'scripts/synapse.sh stop' EXIT
scripts/synapse.sh start >/dev/null
log "cargo test"
cargo test --all-targets --locked
log "systemd unit in deploy/"
scripts/check-deploy.sh "${CARGO_TARGET_DIR:-target}/debug/huntbridge"
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
log "all checks passed"
