#!/usr/bin/env python3
"""Check huntbridge MISP event exports against the MISP core format.

Usage: misp_check.py EVENT.json...

The rules come from the MISP core format, draft-dulaunoy-misp-core-format-20
(MISP/misp-rfc, misp-core-format/raw.md): the field types and allowed codes of
its "Event" and "Attribute" sections, the keys its JSON schema allows, and
the category and type pairs it lists. The fields that only have a meaning
inside one MISP instance (id, event_id, org_id, orgc_id) are not required,
because MISP assigns them on import, as for the feeds PyMISP writes.

Prints one line per file and exits with 1 when any file fails, naming the
file and the problem. Uses only the standard library.
"""

import datetime
import ipaddress
import json
import re
import sys

# Keys the core format's JSON schema allows ("additionalProperties": false).
EVENT_KEYS = {
    "id", "orgc_id", "org_id", "date", "extends_uuid", "threat_level_id", "info",
    "published", "uuid", "attribute_count", "analysis", "timestamp",
    "first_publication", "distribution", "proposal_email_lock", "locked",
    "publish_timestamp", "sharing_group_id", "disable_correlation",
    "event_creator_email", "Org", "Orgc", "SharingGroup", "Attribute",
    "ShadowAttribute", "RelatedEvent", "Galaxy", "Object", "Tag",
}
ATTRIBUTE_KEYS = {
    "id", "old_id", "type", "category", "to_ids", "uuid", "event_id", "event_uuid",
    "proposal_to_delete", "validationIssue", "Org", "org_id", "distribution",
    "timestamp", "first_seen", "last_seen", "comment", "sharing_group_id",
    "deleted", "disable_correlation", "value", "data", "object_relation",
    "object_id", "SharingGroup", "ShadowAttribute", "Sighting", "Galaxy", "Tag",
}
TAG_KEYS = {"id", "name", "colour", "exportable", "hide_tag", "user_id"}
ORG_KEYS = {"id", "name", "uuid"}

# Category to types, for the categories huntbridge exports, copied from the
# core format's list of valid category-type combinations.
CATEGORY_TYPES = {
    "Internal reference": "text, link, comment, other, hex, anonymised, git-commit-id",
    "Targeting data": (
        "target-user, target-email, target-machine, target-org, target-location, "
        "target-external, comment, anonymised"
    ),
    "Persistence mechanism": "filename, regkey, regkey|value, comment, text, other, hex, anonymised",
    "Other": (
        "comment, text, other, size-in-bytes, counter, integer, datetime, cpe, port, float, "
        "hex, phone-number, boolean, anonymised, pgp-public-key, pgp-private-key, uuid"
    ),
    "Network activity": (
        "ip-src, ip-dst, ip-dst|port, ip-src|port, port, hostname, domain, domain|ip, "
        "mac-address, mac-eui-64, email, email-dst, email-src, eppn, url, uri, user-agent, "
        "http-method, AS, snort, pattern-in-file, filename-pattern, stix2-pattern, "
        "pattern-in-traffic, attachment, comment, text, x509-fingerprint-md5, "
        "x509-fingerprint-sha1, x509-fingerprint-sha256, ja3-fingerprint-md5, "
        "jarm-fingerprint, hassh-md5, hasshserver-md5, other, hex, cookie, hostname|port, "
        "bro, zeek, anonymised, community-id, email-subject, favicon-mmh3, dkim, "
        "dkim-signature, ssh-fingerprint, dom-hash, onion-address"
    ),
    "Payload delivery": (
        "md5, sha1, sha224, sha256, sha384, sha512, sha512/224, sha512/256, sha3-224, "
        "sha3-256, sha3-384, sha3-512, ssdeep, imphash, telfhash, impfuzzy, authentihash, "
        "vhash, pehash, tlsh, cdhash, filename, filename|md5, filename|sha1, filename|sha224, "
        "filename|sha256, filename|sha384, filename|sha512, filename|sha512/224, "
        "filename|sha512/256, filename|sha3-224, filename|sha3-256, filename|sha3-384, "
        "filename|sha3-512, filename|authentihash, filename|vhash, filename|ssdeep, "
        "filename|tlsh, filename|imphash, filename|impfuzzy, filename|pehash, mac-address, "
        "mac-eui-64, ip-src, ip-dst, ip-dst|port, ip-src|port, hostname, domain, email, "
        "email-src, email-dst, email-subject, email-attachment, email-body, url, user-agent, "
        "AS, pattern-in-file, pattern-in-traffic, filename-pattern, stix2-pattern, yara, "
        "sigma, mime-type, attachment, malware-sample, link, malware-type, comment, text, "
        "hex, vulnerability, cpe, weakness, x509-fingerprint-sha1, x509-fingerprint-md5, "
        "x509-fingerprint-sha256, ja3-fingerprint-md5, jarm-fingerprint, hassh-md5, "
        "hasshserver-md5, other, hostname|port, email-dst-display-name, "
        "email-src-display-name, email-header, email-reply-to, email-x-mailer, "
        "email-mime-boundary, email-thread-index, email-message-id, azure-application-id, "
        "mobile-application-id, chrome-extension-id, whois-registrant-email, anonymised, "
        "onion-address"
    ),
}
CATEGORY_TYPES = {
    category: {name.strip() for name in types.split(",")}
    for category, types in CATEGORY_TYPES.items()
}

THREAT_LEVELS = {"1", "2", "3", "4"}  # high, medium, low, undefined
ANALYSIS_LEVELS = {"0", "1", "2"}  # initial, ongoing, complete
EVENT_DISTRIBUTIONS = {"0", "1", "2", "3", "4"}
ATTRIBUTE_DISTRIBUTIONS = EVENT_DISTRIBUTIONS | {"5"}  # 5: inherit the event's

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DECIMAL = re.compile(r"^\d+$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}


def check_event(document):
    """Return the problems found in one {"Event": {...}} document."""
    if not isinstance(document, dict) or set(document) != {"Event"}:
        return ["the document must be a JSON object with the single key 'Event'"]
    if not isinstance(document["Event"], dict):
        return ["Event must be a JSON object"]
    event = document["Event"]
    problems = unknown_keys("Event", event, EVENT_KEYS)

    for name in ("uuid", "info", "date", "threat_level_id", "analysis", "distribution",
                 "timestamp", "publish_timestamp"):
        if not isinstance(event.get(name), str):
            problems.append(f"Event.{name} must be a JSON string, found {event.get(name)!r}")
    if not isinstance(event.get("published"), bool):
        problems.append(f"Event.published must be a JSON boolean, found {event.get('published')!r}")
    if problems:
        return problems

    if not UUID.match(event["uuid"]):
        problems.append(f"Event.uuid {event['uuid']!r} is not a lowercase RFC 4122 UUID")
    info = event["info"]
    if not info.strip() or len(info) > 256 or "\n" in info:
        problems.append(f"Event.info must be one non-empty line of at most 256 characters: {info!r}")
    problems.extend(check_date(event["date"]))
    problems.extend(check_code("Event.threat_level_id", event["threat_level_id"], THREAT_LEVELS))
    problems.extend(check_code("Event.analysis", event["analysis"], ANALYSIS_LEVELS))
    problems.extend(check_code("Event.distribution", event["distribution"], EVENT_DISTRIBUTIONS))
    problems.extend(check_sharing_group("Event", event))
    for name in ("timestamp", "publish_timestamp", "attribute_count", "first_publication"):
        if name in event and not (isinstance(event[name], str) and DECIMAL.match(event[name])):
            problems.append(f"Event.{name} {event[name]!r} is not a decimal string")

    problems.extend(check_org(event.get("Orgc")))
    problems.extend(check_tags("Event", event.get("Tag", [])))

    attributes = event.get("Attribute", [])
    if "attribute_count" in event and event["attribute_count"] != str(len(attributes)):
        problems.append(
            f"Event.attribute_count is {event['attribute_count']!r} for {len(attributes)} attributes"
        )
    uuids = [attribute.get("uuid") for attribute in attributes]
    if len(set(uuids)) != len(uuids):
        problems.append("Attribute uuids are not unique")
    for index, attribute in enumerate(attributes):
        problems.extend(check_attribute(f"Attribute[{index}]", attribute))
    return problems


def check_attribute(where, attribute):
    """Return the problems of one attribute."""
    problems = unknown_keys(where, attribute, ATTRIBUTE_KEYS)
    for name in ("uuid", "type", "category", "value", "distribution", "timestamp"):
        if not isinstance(attribute.get(name), str):
            problems.append(f"{where}.{name} must be a JSON string, found {attribute.get(name)!r}")
    for name in ("to_ids", "deleted"):
        if not isinstance(attribute.get(name), bool):
            problems.append(f"{where}.{name} must be a JSON boolean, found {attribute.get(name)!r}")
    for name in ("comment", "sharing_group_id"):
        if name in attribute and not isinstance(attribute[name], str):
            problems.append(f"{where}.{name} must be a JSON string, found {attribute[name]!r}")
    if problems:
        return problems

    if not UUID.match(attribute["uuid"]):
        problems.append(f"{where}.uuid {attribute['uuid']!r} is not a lowercase RFC 4122 UUID")
    category, kind, value = attribute["category"], attribute["type"], attribute["value"]
    if category not in CATEGORY_TYPES:
        problems.append(f"{where}: category {category!r} is not one this checker knows")
    elif kind not in CATEGORY_TYPES[category]:
        problems.append(f"{where}: type {kind!r} is not valid in category {category!r}")
    problems.extend(check_value(where, kind, value))
    problems.extend(
        check_code(f"{where}.distribution", attribute["distribution"], ATTRIBUTE_DISTRIBUTIONS)
    )
    problems.extend(check_sharing_group(where, attribute))
    if not DECIMAL.match(attribute["timestamp"]):
        problems.append(f"{where}.timestamp {attribute['timestamp']!r} is not a decimal string")
    problems.extend(check_tags(where, attribute.get("Tag", [])))
    return problems


def check_value(where, kind, value):
    """Return the problems of an attribute value for the types huntbridge exports."""
    if not value:
        return [f"{where}: empty value"]
    if kind in ("ip-dst", "ip-src"):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return [f"{where}: {value!r} is not an IP address or CIDR block"]
    if kind in HEX_LENGTHS and not re.fullmatch(f"[0-9a-f]{{{HEX_LENGTHS[kind]}}}", value):
        return [f"{where}: {value!r} is not a lowercase {kind} digest"]
    if kind == "url" and "://" not in value:
        return [f"{where}: URL {value!r} has no scheme"]
    if kind == "domain" and ("/" in value or ":" in value or "." not in value):
        return [f"{where}: {value!r} is not a domain name"]
    if kind == "email" and "@" not in value:
        return [f"{where}: {value!r} is not an e-mail address"]
    if "[.]" in value or value.startswith("hxxp"):
        return [f"{where}: {value!r} is defanged; MISP values are refanged"]
    return []


def check_date(value):
    if not DATE.match(value):
        return [f"Event.date {value!r} is not YYYY-MM-DD"]
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return [f"Event.date {value!r} is not a calendar date"]
    return []


def check_code(where, value, allowed):
    if value not in allowed:
        return [f"{where} {value!r} is not one of {sorted(allowed)}"]
    return []


def check_sharing_group(where, obj):
    """Require sharing_group_id "0" unless distribution is "4", as the core format does."""
    if obj.get("distribution") != "4" and obj.get("sharing_group_id", "0") != "0":
        return [f"{where}.sharing_group_id must be '0' when distribution is not '4'"]
    return []


def check_org(org):
    if not isinstance(org, dict):
        return ["Event.Orgc is missing"]
    problems = unknown_keys("Event.Orgc", org, ORG_KEYS)
    if not (isinstance(org.get("uuid"), str) and UUID.match(org["uuid"])):
        problems.append(f"Event.Orgc.uuid {org.get('uuid')!r} is not a lowercase RFC 4122 UUID")
    if not (isinstance(org.get("name"), str) and org["name"].strip()):
        problems.append("Event.Orgc.name is missing")
    return problems


def check_tags(where, tags):
    problems = []
    tlp_tags = [tag for tag in tags if str(tag.get("name", "")).startswith("tlp:")]
    if where == "Event" and len(tlp_tags) != 1:
        problems.append(f"Event has {len(tlp_tags)} tlp: tags, expected one")
    for index, tag in enumerate(tags):
        at = f"{where}.Tag[{index}]"
        problems.extend(unknown_keys(at, tag, TAG_KEYS))
        if not (isinstance(tag.get("name"), str) and tag["name"]):
            problems.append(f"{at}.name is missing")
        if "colour" in tag and not (isinstance(tag["colour"], str) and COLOUR.match(tag["colour"])):
            problems.append(f"{at}.colour {tag['colour']!r} is not #rrggbb")
        if "exportable" in tag and not isinstance(tag["exportable"], bool):
            problems.append(f"{at}.exportable must be a JSON boolean")
    return problems


def unknown_keys(where, obj, allowed):
    extra = sorted(set(obj) - allowed)
    return [f"{where}: keys {extra} are not in the core format"] if extra else []


def main(paths):
    if not paths:
        sys.exit("usage: misp_check.py EVENT.json...")
    failed = False
    for path in paths:
        try:
            with open(path, encoding="utf-8") as file:
                problems = check_event(json.load(file))
        except (OSError, ValueError) as error:
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
