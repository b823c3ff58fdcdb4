#!/usr/bin/env python3
"""Smoke test of the container image against the local test Synapse.

Run by scripts/check-container.sh, which builds nothing: it needs an image
already built from deploy/Containerfile and a Synapse started by
`scripts/synapse.sh start`. As Ana (a hunter), the script creates a hunting
room and an IR room with the bot invited, writes the bot's configuration,
starts the image with a named volume, sends a /finding and waits for the
bot's reply. Then it stops the container, starts it again on the same volume
and checks that the bot restored its session and did not reply to the
finding twice. Everything talks to the homeserver on 127.0.0.1.

Usage: container-smoke.py ENGINE IMAGE ENV_FILE WORK_DIR [ENGINE ARGS...]
"""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ENGINE, IMAGE, ENV_FILE, WORK_DIR = sys.argv[1:5]
# Extra engine arguments, for example the runtime or limits a sandbox needs.
ENGINE_ARGS = sys.argv[5:]
TIMEOUT_S = 90


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


ENV = read_env(ENV_FILE)
HOMESERVER = ENV["HUNTBRIDGE_TEST_MATRIX_URL"]
if urllib.parse.urlparse(HOMESERVER).hostname not in ("127.0.0.1", "::1", "localhost"):
    sys.exit(f"refusing a homeserver that is not on loopback: {HOMESERVER}")
BOT_USER = ENV["HUNTBRIDGE_TEST_MATRIX_HUNTBRIDGE_USER"]


def api(method, path, token=None, body=None):
    request = urllib.request.Request(
        HOMESERVER + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def login(user, password):
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    return api("POST", "/_matrix/client/v3/login", body=body)["access_token"]


def create_room(token, name):
    body = {"name": name, "preset": "private_chat", "invite": [BOT_USER]}
    return api("POST", "/_matrix/client/v3/createRoom", token, body)["room_id"]


def room_path(room_id, rest):
    return f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/{rest}"


def joined(token, room_id):
    return api("GET", room_path(room_id, "joined_members"), token)["joined"]


def bot_notices(token, room_id):
    """Returns the bot's m.notice events in the room, oldest first."""
    path = room_path(room_id, "messages?dir=b&limit=100")
    events = api("GET", path, token)["chunk"]
    return [
        event
        for event in reversed(events)
        if event.get("sender") == BOT_USER
        and event.get("type") == "m.room.message"
        and event["content"].get("msgtype") == "m.notice"
    ]


def wait_for(description, check):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    raise SystemExit(f"timed out after {TIMEOUT_S} s waiting for {description}")


def engine(*args, check=True):
    return subprocess.run(
        [ENGINE, *args], check=check, capture_output=True, text=True
    )


def start(name, volume, config_path):
    engine(
        "run", "--detach", "--name", name, *ENGINE_ARGS,
        "--network", "host",
        "--volume", f"{volume}:/var/lib/huntbridge",
        "--volume", f"{config_path}:/etc/huntbridge/config.toml:ro",
        "--env", "HUNTBRIDGE_MATRIX__PASSWORD=" + ENV["HUNTBRIDGE_TEST_MATRIX_HUNTBRIDGE_PASSWORD"],
        IMAGE,
    )


def logs(name):
    result = engine("logs", name, check=False)
    return result.stdout + result.stderr


def stop(name):
    engine("stop", "--time", "20", name)
    state = engine("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    text = logs(name)
    engine("rm", name)
    return state, text


def main():
    ana = login(ENV["HUNTBRIDGE_TEST_MATRIX_ANA_USER"], ENV["HUNTBRIDGE_TEST_MATRIX_ANA_PASSWORD"])
    suffix = uuid.uuid4().hex[:8]
    hunting = create_room(ana, f"caza {suffix}")
    ir = create_room(ana, f"ir {suffix}")
    config_path = f"{WORK_DIR}/config.toml"
    with open(config_path, "w", encoding="utf-8") as file:
        file.write(
            f"""lang = "es"

[database]
url = "sqlite:///var/lib/huntbridge/huntbridge.db?mode=rwc"

[rooms]
hunting = ["{hunting}"]
ir = ["{ir}"]
leads = ["{ir}"]

[users]
"{ENV["HUNTBRIDGE_TEST_MATRIX_ANA_USER"]}" = ["hunter"]

[exports]
dir = "/var/lib/huntbridge/exports"

[matrix]
homeserver = "{HOMESERVER}"
user = "{BOT_USER}"
device_name = "huntbridge container check"
store_path = "/var/lib/huntbridge/matrix"
"""
        )
    volume = f"huntbridge-check-{suffix}"
    name = f"huntbridge-check-{suffix}"
    engine("volume", "create", volume)
    try:
        start(name, volume, config_path)
        wait_for("the bot to join both rooms", lambda: all(BOT_USER in joined(ana, room) for room in (hunting, ir)))
        print("bot joined the hunting and IR rooms")
        uid = engine("exec", name, "id", "-u").stdout.strip()
        if uid != "10001":
            raise SystemExit(f"the bot runs as UID {uid}, not 10001")
        print("the bot runs as UID 10001")
        body = "/finding Beacon a 198.51.100.7 desde el contenedor\nseveridad: alta"
        sent = api("PUT", room_path(hunting, f"send/m.room.message/{uuid.uuid4().hex}"), ana,
                   {"msgtype": "m.text", "body": body})
        finding_event = sent["event_id"]

        def reply():
            for event in bot_notices(ana, hunting):
                relates = event["content"].get("m.relates_to", {})
                if relates.get("m.in_reply_to", {}).get("event_id") == finding_event:
                    return event
            return None

        answer = wait_for("the reply to /finding", reply)
        first_line = answer["content"]["body"].splitlines()[0]
        print(f"reply to /finding: {first_line}")
        if "F-1" not in answer["content"]["body"]:
            raise SystemExit("the reply does not name finding F-1")

        code, text = stop(name)
        print(f"first container stopped with exit code {code}")
        if code != "0" or "huntbridge stopped" not in text:
            raise SystemExit(f"the bot did not stop cleanly:\n{text[-2000:]}")

        replies_before = len(bot_notices(ana, hunting))
        start(name, volume, config_path)
        wait_for("the restarted bot to start syncing", lambda: "matrix sync started" in logs(name))
        time.sleep(5)
        if "matrix session restored" not in logs(name):
            raise SystemExit(f"the restarted bot did not restore its session:\n{logs(name)[-2000:]}")
        print("the restarted bot restored its saved session")
        replies_after = len(bot_notices(ana, hunting))
        code, text = stop(name)
        print(f"second container stopped with exit code {code}")
        if replies_after != replies_before:
            raise SystemExit(f"the restarted bot posted again: {replies_before} notices before, {replies_after} after")
        print(f"notices from the bot in the hunting room: {replies_after} before and after the restart")
        print("container check passed")
    finally:
        engine("rm", "--force", name, check=False)
        engine("volume", "rm", "--force", volume, check=False)


if __name__ == "__main__":
    try:
        main()
    except urllib.error.HTTPError as error:
        sys.exit(f"homeserver answered {error.code}: {error.read()[:500]!r}")
