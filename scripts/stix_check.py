#!/usr/bin/env python3
"""Check huntbridge STIX 2.1 bundles with the OASIS stix2 library.

Usage: stix_check.py BUNDLE.json...

Each file is parsed with ``stix2.parse(..., allow_custom=False)``, which
rejects custom objects and properties and validates every STIX pattern. On
top of that the script checks what the library leaves alone:

- every indicator pattern, again with the stix2-patterns validator for STIX 2.1;
- timestamps written as RFC 3339 UTC with milliseconds (``...00.000Z``);
- unique IDs, and every ``*_ref`` and ``*_refs`` value pointing to an object
  of the bundle;
- one report whose ``object_refs`` is not empty;
- markings that are the official TLP 2.0 marking definitions;
- the open vocabularies the export uses, against the lists in ``stix2.v21.vocab``;
- the deterministic IDs of cyber-observable objects, recomputed by stix2.

Prints one line per file and exits with 1 when any file fails, naming the
file and the problem. Needs the packages stix2 and stix2-patterns (see
scripts/requirements-test.txt; scripts/pyenv.sh installs them).
"""

import json
import re
import sys

try:
    import stix2
    from stix2.v21 import vocab
    from stix2patterns.validator import run_validator
except ImportError as error:
    sys.exit(f"error: {error}; run scripts/pyenv.sh to install the test packages")

# TLP 2.0 marking definitions, from OASIS cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0.
TLP_MARKINGS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": ("TLP:CLEAR", "clear"),
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": ("TLP:GREEN", "green"),
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": ("TLP:AMBER", "amber"),
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": (
        "TLP:AMBER+STRICT",
        "amber+strict",
    ),
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": ("TLP:RED", "red"),
}
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIMESTAMP_PROPERTIES = ("created", "modified", "valid_from", "valid_until", "published")

VOCABULARIES = {
    "indicator_types": vocab.INDICATOR_TYPE,
    "report_types": vocab.REPORT_TYPE,
}
SINGLE_VOCABULARIES = {"identity_class": vocab.IDENTITY_CLASS}

# Cyber-observable types whose ID stix2 derives from their properties.
OBSERVABLE_TYPES = {
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "email-addr",
    "file",
    "windows-registry-key",
}


def check_bundle(text):
    """Return the problems found in one bundle, as a list of strings."""
    stix2.parse(text, allow_custom=False)
    raw = json.loads(text)
    if raw.get("type") != "bundle":
        return [f"top-level type is {raw.get('type')!r}, expected 'bundle'"]

    problems = []
    objects = raw.get("objects", [])
    ids = [obj["id"] for obj in objects]
    by_id = {obj["id"]: obj for obj in objects}
    if len(ids) != len(by_id):
        problems.append("object IDs are not unique")

    for obj in objects:
        problems.extend(check_object(obj, by_id))

    reports = [obj for obj in objects if obj["type"] == "report"]
    if len(reports) != 1:
        problems.append(f"expected one report, found {len(reports)}")
    elif not reports[0].get("object_refs"):
        problems.append("the report has no object_refs")
    return problems


def check_object(obj, by_id):
    """Return the problems of one object of a bundle."""
    where = obj["id"]
    problems = []

    for name in TIMESTAMP_PROPERTIES:
        if name in obj and not TIMESTAMP.match(obj[name]):
            problems.append(f"{where}: {name} {obj[name]!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")

    for name, value in obj.items():
        if name.endswith("_ref"):
            refs = [value]
        elif name.endswith("_refs"):
            refs = value
        else:
            continue
        for ref in refs:
            if ref not in by_id:
                problems.append(f"{where}: {name} points to {ref}, which is not in the bundle")

    for ref in obj.get("object_marking_refs", []):
        if ref not in TLP_MARKINGS:
            problems.append(f"{where}: marking {ref} is not a TLP 2.0 marking definition")

    for name, allowed in VOCABULARIES.items():
        for value in obj.get(name, []):
            if value not in allowed:
                problems.append(f"{where}: {name} value {value!r} is not in the STIX vocabulary")
    for name, allowed in SINGLE_VOCABULARIES.items():
        if name in obj and obj[name] not in allowed:
            problems.append(f"{where}: {name} {obj[name]!r} is not in the STIX vocabulary")

    if obj["type"] == "indicator" and obj.get("pattern_type") == "stix":
        errors = run_validator(obj["pattern"], stix_version="2.1")
        if errors:
            problems.append(f"{where}: invalid pattern {obj['pattern']!r}: {errors[0]}")

    if obj["type"] == "marking-definition":
        problems.extend(check_marking(obj))

    if obj["type"] in OBSERVABLE_TYPES:
        properties = {k: v for k, v in obj.items() if k != "id"}
        expected = stix2.parse(properties, allow_custom=False).id
        if expected != obj["id"]:
            problems.append(f"{where}: stix2 derives the ID {expected} from its properties")
    return problems


def check_marking(obj):
    """Return the problems of a marking definition, which must be TLP 2.0."""
    where = obj["id"]
    if where not in TLP_MARKINGS:
        return [f"{where}: not a TLP 2.0 marking definition"]
    name, level = TLP_MARKINGS[where]
    extension = obj.get("extensions", {}).get(TLP_EXTENSION, {})
    problems = []
    if obj.get("name") != name:
        problems.append(f"{where}: name {obj.get('name')!r}, expected {name!r}")
    if obj.get("created") != "2022-10-01T00:00:00.000Z":
        problems.append(f"{where}: created {obj.get('created')!r}, expected 2022-10-01T00:00:00.000Z")
    if extension != {"extension_type": "property-extension", "tlp_2_0": level}:
        problems.append(f"{where}: TLP 2.0 extension {extension!r}, expected tlp_2_0 {level!r}")
    return problems


def main(paths):
    if not paths:
        sys.exit("usage: stix_check.py BUNDLE.json...")
    failed = False
    for path in paths:
        try:
            with open(path, encoding="utf-8") as file:
                problems = check_bundle(file.read())
        except Exception as error:  # stix2 raises many exception types
            problems = [f"{type(error).__name__}: {error}"]
        if problems:
            failed = True
            for problem in problems:
                print(f"{path}: {problem}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
