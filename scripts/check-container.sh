#!/usr/bin/env bash
# Checks a container image built from deploy/Containerfile on this machine.
# It starts a test Synapse on 127.0.0.1 with scripts/synapse.sh, in its own
# work folder target/container-synapse. Then scripts/container-smoke.py starts
# the image with host networking, has it reply to a /finding, restarts it on
# the same volume and checks that the session was restored and no reply was
# posted twice. Synapse is stopped at the end, also when a step fails.
#
# Usage: scripts/check-container.sh IMAGE [ENGINE ARGS...]
#   IMAGE        the image to check, e.g. localhost/huntbridge:latest
#   ENGINE ARGS  passed to `run`, e.g. `--runtime runc` on a host whose
#                default runtime cannot start containers
# HUNTBRIDGE_CONTAINER_ENGINE picks the engine (default: podman, else docker).
# The test command does not run this: it needs a container engine.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

image="${1:?usage: scripts/check-container.sh IMAGE [ENGINE ARGS...]}"
shift
engine="${HUNTBRIDGE_CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
    if command -v podman >/dev/null; then engine=podman
    elif command -v docker >/dev/null; then engine=docker
    else log "no podman or docker found"; exit 1
    fi
fi
# Passed to scripts/synapse.sh only: the bot rejects unknown HUNTBRIDGE_* keys.
synapse_dir="${HUNTBRIDGE_SYNAPSE_DIR:-target/container-synapse}"
unset HUNTBRIDGE_SYNAPSE_DIR HUNTBRIDGE_CONTAINER_ENGINE
work="$(mktemp -d)"

stop_synapse() {
    HUNTBRIDGE_SYNAPSE_DIR="$synapse_dir" scripts/synapse.sh stop || true
    rm -rf "$work"
}
trap stop_synapse EXIT
HUNTBRIDGE_SYNAPSE_DIR="$synapse_dir" scripts/synapse.sh start >/dev/null

log "checking $image with $engine"
python3 scripts/container-smoke.py "$engine" "$image" "$synapse_dir/env" "$work" "$@"
