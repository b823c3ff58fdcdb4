#!/usr/bin/env bash
# Creates or refreshes the Python virtual environment that the tests call
# (sigma-cli for `sigma check`, stix2), at .venv in the repository, and prints
# the path of its interpreter on standard output. Progress goes to standard
# error, so a caller can write:
#   export HUNTBRIDGE_TEST_PYTHON="$(scripts/pyenv.sh)"
# The install is skipped while .venv/.requirements.sha256 contains the SHA-256 of
# scripts/requirements-test.txt. When the requirements change, the venv is
# rebuilt from scratch so that removed packages do not linger.
# PYTHON names the interpreter that creates the venv (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
requirements=scripts/requirements-test.txt
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }

wanted=$(sha256sum "$requirements" | cut -d ' ' -f 1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    log "$venv is up to date with $requirements"
    echo "$PWD/$venv/bin/python"
    exit 0
fi

log "creating $venv with $("$python" --version 2>&1)"
if ! "$python" -m venv --clear "$venv" >&2; then
    echo "error: '$python -m venv' failed; install the venv module (Debian: apt-get install python3-venv) or set PYTHON to another interpreter" >&2
    exit 1
fi
log "installing $requirements"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
echo "$wanted" >"$stamp"
echo "$PWD/$venv/bin/python"
