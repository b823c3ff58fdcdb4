#!/usr/bin/env bash
# Checks deploy/huntbridge.service with `systemd-analyze verify`: unknown
# keys, values systemd cannot parse and a missing ExecStart binary. The unit
# is verified inside a scratch root folder that contains the distribution's
# units, the unit and the huntbridge binary given as $1 at the path that
# ExecStart names, so nothing is installed on this machine.
# Prints nothing and exits 0 when the unit is clean. Without systemd-analyze
# it prints a warning and exits 0. The container files in deploy/ need a
# container engine and are not checked here.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${1:?usage: scripts/check-deploy.sh PATH-TO-HUNTBRIDGE-BINARY}"
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd-analyze not found: deploy/huntbridge.service not checked" >&2
    exit 0
fi
units=/usr/lib/systemd/system
[ -d "$units" ] || units=/lib/systemd/system

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/local/bin"
cp -r "$units" "$root/usr/lib/systemd/system"
cp deploy/huntbridge.service "$root/etc/systemd/system/"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' deploy/huntbridge.service)
mkdir -p "$root$(dirname "$exec_start")"
cp "$binary" "$root$exec_start"

report=$(systemd-analyze verify --root="$root" /etc/systemd/system/huntbridge.service 2>&1)
if [ -n "$report" ]; then
    printf 'deploy/huntbridge.service has problems:\n%s\n' "$report" >&2
    exit 1
fi
