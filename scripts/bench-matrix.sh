#!/usr/bin/env bash
# Runs the Matrix reply latency and memory benchmark (examples/matrix_latency.rs):
#   1. starts a fresh Synapse on 127.0.0.1 with scripts/synapse.sh, in its own
#      work folder (target/bench-synapse) so a test run's homeserver in
#      target/synapse is left alone,
#   2. builds the bot and the harness in release mode,
#   3. runs the harness, which writes the bot's log and results.json to a new
#      folder target/bench-matrix/run-YYYYMMDD-HHMMSS,
#   4. stops Synapse, also when a step fails.
# Arguments are passed to the harness, for example `--commands 400 --rate 20`
# (see `cargo run --release --example matrix_latency -- --help`).
# CARGO_TARGET_DIR is honoured. Run it on a quiet machine: other load changes
# the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# Passed to scripts/synapse.sh only: the bot reads HUNTBRIDGE_* variables as
# configuration and rejects names it does not know.
synapse_dir="${HUNTBRIDGE_SYNAPSE_DIR:-target/bench-synapse}"
unset HUNTBRIDGE_SYNAPSE_DIR
target_dir="${CARGO_TARGET_DIR:-target}"
out="target/bench-matrix/run-$(date -u +%Y%m%d-%H%M%S)"

log "building huntbridge and examples/matrix_latency.rs (release)"
cargo build --release --locked --bin huntbridge --example matrix_latency

stop_synapse() { HUNTBRIDGE_SYNAPSE_DIR="$synapse_dir" scripts/synapse.sh stop || true; }
trap stop_synapse EXIT
HUNTBRIDGE_SYNAPSE_DIR="$synapse_dir" scripts/synapse.sh start >/dev/null

log "machine: $(nproc) CPUs, $(grep -m 1 'model name' /proc/cpuinfo | cut -d : -f 2- | sed 's/^ *//')"
log "load before the run: $(cut -d ' ' -f 1-3 /proc/loadavg)"
log "Synapse $(.venv-synapse/bin/python -c 'import synapse; print(synapse.__version__)'), SQLite"

"$target_dir/release/examples/matrix_latency" \
    --env "$synapse_dir/env" \
    --bot "$target_dir/release/huntbridge" \
    --out "$out" \
    "$@"

log "load after the run: $(cut -d ' ' -f 1-3 /proc/loadavg)"
