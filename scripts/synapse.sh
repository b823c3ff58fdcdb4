#!/usr/bin/env bash
# Runs a throwaway Synapse homeserver on 127.0.0.1 for the Matrix end-to-end
# tests (tests/matrix_e2e.rs).
#
#   scripts/synapse.sh start    install, configure, start, register users
#   scripts/synapse.sh stop     stop the server started by `start`
#   scripts/synapse.sh status   report whether it runs and where
#
# `start` installs scripts/requirements-synapse.txt into .venv-synapse (kept
# while .venv-synapse/.requirements.sha256 matches the file, rebuilt from
# scratch otherwise), then wipes the work folder and writes a fresh homeserver
# there: one HTTP listener on 127.0.0.1 at a free port, SQLite, no federation,
# no key servers, no URL previews, no stats reporting, open registration off
# and rate limits raised so tests are never throttled. It waits until
# /_matrix/client/versions responds, registers the bot `huntbridge` and the
# testers `ana`, `luis` and `marta` through the shared-secret admin API, and
# writes their IDs and passwords to WORK/env (printed on standard output).
# Each `start` gives a new, empty homeserver.
#
# HUNTBRIDGE_SYNAPSE_DIR sets the work folder (default: target/synapse in the
# repository). PYTHON names the interpreter that creates the venv (default:
# python3). SYNAPSE_START_TIMEOUT is the maximum wait for the first
# response, in seconds (default: 60).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-synapse
requirements=scripts/requirements-synapse.txt
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"
work=$(realpath -m "${HUNTBRIDGE_SYNAPSE_DIR:-target/synapse}")
# Marks a folder this script created, so `start` only ever wipes its own.
marker="$work/.huntbridge-synapse"
config="$work/homeserver.yaml"
pid_file="$work/homeserver.pid"
env_file="$work/env"
log_file="$work/homeserver.log"
# Standard output and error of the server: startup failures before logging
# is set up land here.
console_file="$work/console.log"
start_timeout="${SYNAPSE_START_TIMEOUT:-60}"
server_name=localhost

log() { printf '==> %s\n' "$*" >&2; }
fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

ensure_venv() {
    local wanted
    wanted=$(sha256sum "$requirements" | cut -d ' ' -f 1)
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        log "$venv is up to date with $requirements"
        return
    fi
    log "creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv --clear "$venv" >&2 ||
        fail "'$python -m venv' failed; install the venv module (Debian: apt-get install python3-venv) or set PYTHON to another interpreter"
    log "installing $requirements (about 240 MB)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$wanted" >"$stamp"
}

# Prints the PID from the pid file when that process still runs.
running_pid() {
    [ -f "$pid_file" ] || return 1
    local pid
    pid=$(cat "$pid_file")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

prepare_work_folder() {
    if [ -e "$work" ] && [ ! -e "$marker" ] && [ -n "$(ls -A "$work" 2>/dev/null)" ]; then
        fail "$work is not empty and was not created by this script; remove it or set HUNTBRIDGE_SYNAPSE_DIR to another folder"
    fi
    rm -rf "$work"
    mkdir -p "$work"
    touch "$marker"
}

free_port() {
    "$venv/bin/python" -c '
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
'
}

generate_config() {
    local port=$1
    log "generating $config"
    "$venv/bin/python" -m synapse.app.homeserver \
        --server-name "$server_name" \
        --config-path "$config" \
        --data-directory "$work" \
        --generate-config \
        --report-stats=no >/dev/null
    # Rewrites the generated file. Everything that could reach beyond
    # loopback is switched off here and checked again at the end.
    "$venv/bin/python" - "$config" "$work" "$port" <<'PY'
import sys

import yaml

path, work, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path) as f:
    config = yaml.safe_load(f)
# This script keeps the pid file: Synapse's own would race with it.
config.pop("pid_file", None)

# The generated log configuration writes to the current directory: keep the
# log in the work folder.
with open(config["log_config"]) as f:
    log_config = yaml.safe_load(f)
log_config["handlers"]["file"]["filename"] = f"{work}/homeserver.log"
with open(config["log_config"], "w") as f:
    yaml.safe_dump(log_config, f, sort_keys=False)

def unlimited():
    """Returns a rate limit that no test run can reach (a new dict each time,
    so the YAML output has no anchors)."""
    return {"per_second": 10000, "burst_count": 100000}


config.update(
    {
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                # Only the client API (it also serves /_synapse/admin): no
                # federation or key resources.
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {
            "name": "sqlite3",
            "args": {"database": f"{work}/homeserver.db"},
        },
        "media_store_path": f"{work}/media_store",
        "max_upload_size": "100M",
        "enable_registration": False,
        "report_stats": False,
        "enable_metrics": False,
        "url_preview_enabled": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "allow_public_rooms_over_federation": False,
        "presence": {"enabled": False},
        "rc_message": unlimited(),
        "rc_registration": unlimited(),
        "rc_login": {
            "address": unlimited(),
            "account": unlimited(),
            "failed_attempts": unlimited(),
        },
        "rc_joins": {"local": unlimited(), "remote": unlimited()},
        "rc_joins_per_room": unlimited(),
        "rc_invites": {
            "per_room": unlimited(),
            "per_user": unlimited(),
            "per_issuer": unlimited(),
        },
        "rc_admin_redaction": unlimited(),
        "rc_key_requests": unlimited(),
        "rc_media_create": unlimited(),
        "rc_room_creation": unlimited(),
        "rc_3pid_validation": unlimited(),
        "rc_third_party_invite": unlimited(),
        "rc_delayed_event_mgmt": unlimited(),
        "rc_reports": unlimited(),
        "rc_user_directory": unlimited(),
        "rc_profile": unlimited(),
        "rc_presence": {"per_user": unlimited()},
    }
)

# Nothing may leave loopback: fail rather than start with an outbound setting.
outbound = {
    "report_stats": config.get("report_stats"),
    "trusted_key_servers": config.get("trusted_key_servers"),
    "url_preview_enabled": config.get("url_preview_enabled"),
    "federation_domain_whitelist": config.get("federation_domain_whitelist"),
}
if outbound != {
    "report_stats": False,
    "trusted_key_servers": [],
    "url_preview_enabled": False,
    "federation_domain_whitelist": [],
}:
    sys.exit(f"error: outbound settings left in {path}: {outbound}")
for key in ("push", "email", "turn_uris", "oidc_providers", "sso"):
    if config.get(key):
        sys.exit(f"error: unexpected outbound setting {key} in {path}")
for listener in config["listeners"]:
    if listener["bind_addresses"] != ["127.0.0.1"]:
        sys.exit(f"error: listener not bound to 127.0.0.1 only: {listener}")

with open(path, "w") as f:
    yaml.safe_dump(config, f, sort_keys=True)
PY
}

wait_until_answering() {
    local url=$1 pid=$2
    log "waiting up to ${start_timeout}s for $url/_matrix/client/versions"
    "$venv/bin/python" - "$url" "$pid" "$start_timeout" <<'PY'
import os
import sys
import time
import urllib.request

url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("error: Synapse exited during startup")
    try:
        with urllib.request.urlopen(f"{url}/_matrix/client/versions", timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(f"error: Synapse did not answer on {url} within {timeout:.0f} s")
PY
}

# Registers one user through the shared-secret admin API:
# GET a nonce, then POST it with mac = HMAC-SHA1(secret, nonce\0user\0password\0notadmin).
register_users() {
    local url=$1
    shift
    "$venv/bin/python" - "$config" "$url" "$@" <<'PY'
import hashlib
import hmac
import json
import sys
import urllib.request

import yaml

config_path, url, *pairs = sys.argv[1:]
with open(config_path) as f:
    secret = yaml.safe_load(f)["registration_shared_secret"].encode()
endpoint = f"{url}/_synapse/admin/v1/register"

for pair in pairs:
    user, password = pair.split(":", 1)
    with urllib.request.urlopen(endpoint, timeout=10) as response:
        nonce = json.load(response)["nonce"]
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]))
    body = json.dumps(
        {"nonce": nonce, "username": user, "password": password, "admin": False, "mac": mac.hexdigest()}
    ).encode()
    request = urllib.request.Request(
        endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            user_id = json.load(response)["user_id"]
    except urllib.error.HTTPError as error:
        sys.exit(f"error: failed to register {user}: HTTP {error.code} {error.read().decode()}")
    print(f"registered {user_id}", file=sys.stderr)
PY
}

write_env_file() {
    local url=$1
    {
        echo "# Written by scripts/synapse.sh start; read by tests/matrix_e2e.rs."
        echo "HUNTBRIDGE_TEST_MATRIX_URL=$url"
        echo "HUNTBRIDGE_TEST_MATRIX_SERVER_NAME=$server_name"
        for user in huntbridge ana luis marta; do
            local upper
            upper=$(echo "$user" | tr '[:lower:]' '[:upper:]')
            echo "HUNTBRIDGE_TEST_MATRIX_${upper}_USER=@$user:$server_name"
            echo "HUNTBRIDGE_TEST_MATRIX_${upper}_PASSWORD=$(password_for "$user")"
        done
    } >"$env_file"
}

# Fixed test passwords: the homeserver is new on every start and listens on
# 127.0.0.1 only.
password_for() { echo "hb-test-$1-password"; }

start() {
    if pid=$(running_pid); then
        log "Synapse already runs (pid $pid); stop it first for a fresh homeserver"
        cat "$env_file"
        return
    fi
    ensure_venv
    prepare_work_folder
    local port url
    port=$(free_port)
    url="http://127.0.0.1:$port"
    generate_config "$port"

    log "starting Synapse on $url (log: $log_file)"
    # setsid: a Ctrl-C in the calling shell does not reach the server; `stop`
    # ends it through the pid file.
    setsid "$venv/bin/python" -m synapse.app.homeserver --config-path "$config" \
        >>"$console_file" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$pid_file"
    if ! wait_until_answering "$url" "$pid"; then
        tail -n 30 "$console_file" "$log_file" >&2 || true
        stop
        exit 1
    fi

    local users=()
    for user in huntbridge ana luis marta; do
        users+=("$user:$(password_for "$user")")
    done
    register_users "$url" "${users[@]}"
    write_env_file "$url"
    log "Synapse runs (pid $pid); environment in $env_file"
    cat "$env_file"
}

stop() {
    local pid
    if ! pid=$(running_pid); then
        log "Synapse is not running"
        rm -f "$pid_file" "$env_file"
        return
    fi
    log "stopping Synapse (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "Synapse did not stop within 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    # Tests that find no env file fail with the command to start Synapse.
    rm -f "$env_file"
}

status() {
    local pid
    if pid=$(running_pid); then
        echo "Synapse runs (pid $pid), $(grep '^HUNTBRIDGE_TEST_MATRIX_URL=' "$env_file" 2>/dev/null | cut -d = -f 2-)"
    else
        echo "Synapse is not running"
        return 3
    fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
