"""Build the local ATT&CK and D3FEND files that pySigma reads, from the
catalog shipped in data/.

pySigma 1.5 validates `attack.*` tags against MITRE ATT&CK data and
`d3fend.*` tags against the D3FEND ontology, and downloads both on first use.
`sigma.data.mitre_attack.set_url()` and `sigma.data.mitre_d3fend.set_url()`
accept a local path instead, so this module writes the two files from
data/attack-enterprise.tsv and data/attack-enterprise-tactics.tsv.

What pySigma 1.5.1 reads (sigma/data/mitre_attack.py, mitre_d3fend.py):

- ATT&CK: a STIX 2.1 bundle. It skips objects with `revoked` or
  `x_mitre_deprecated` set, and takes the version from the
  `x-mitre-collection` object, each tactic's `x_mitre_shortname` and each
  technique's ID and name from the `mitre-attack` external reference. The
  tactics of a technique come from its `kill_chain_phases`.
- D3FEND: a JSON-LD graph. It takes the version from the `owl:Ontology` item,
  tactics from items typed `d3f:DefensiveTactic` and techniques from items
  with a `d3f:d3fend-id`.

The bundle lists the catalog's active techniques, and its revoked and
deprecated ones marked as such. It leaves out the techniques that ATT&CK v19
removed and the retired Defense Evasion tactic, so `attack.defense-evasion`
and `attack.t1562.001` fail the tag check as they do against the real v19
data.

The D3FEND file contains the seven D3FEND tactics and no technique, because the
catalog has no D3FEND data: a rule tagged with a D3FEND technique
(`d3fend.d3-pa`) is reported invalid.

Run as a script, it writes both files to a folder:
    python scripts/attack_stix.py OUT_DIR
"""

import json
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TECHNIQUES_TSV = REPO / "data" / "attack-enterprise.tsv"
TACTICS_TSV = REPO / "data" / "attack-enterprise-tactics.tsv"

ATTACK_FILE_NAME = "enterprise-attack.json"
D3FEND_FILE_NAME = "d3fend.json"

# ATT&CK version of the shipped catalog (data/README.md).
ATTACK_VERSION = "19.0"

# Fixed STIX timestamp, so the same catalog always gives the same file.
STIX_TIMESTAMP = "2026-04-14T00:00:00.000Z"

# Namespace of the deterministic STIX identifiers in the bundle.
STIX_ID_NAMESPACE = uuid.UUID("6c5d5b4e-8a3f-5f2e-9f0e-4b7a1d2c3e4f")

# The tactics of D3FEND 1.0.
D3FEND_TACTICS = ["Model", "Harden", "Detect", "Isolate", "Deceive", "Evict", "Restore"]


def read_table(path, header):
    """Return the rows of a catalog table as lists of fields, after checking
    its header. Lines starting with `#` are comments."""
    rows = []
    header_seen = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            if fields != header:
                raise ValueError(f"{path}:{number}: expected the header {header}, found {fields}")
            header_seen = True
            continue
        if len(fields) != len(header):
            raise ValueError(
                f"{path}:{number}: expected {len(header)} columns, found {len(fields)}"
            )
        rows.append(fields)
    if not header_seen:
        raise ValueError(f"{path}: missing the header {header}")
    return rows


def stix_id(object_type, key):
    """Return a STIX identifier that depends only on the object type and key."""
    return f"{object_type}--{uuid.uuid5(STIX_ID_NAMESPACE, f'{object_type}/{key}')}"


def stix_object(object_type, key, **properties):
    """Return a STIX 2.1 object with the common properties filled in."""
    return {
        "type": object_type,
        "spec_version": "2.1",
        "id": stix_id(object_type, key),
        "created": STIX_TIMESTAMP,
        "modified": STIX_TIMESTAMP,
        **properties,
    }


def attack_reference(external_id, path):
    return {
        "source_name": "mitre-attack",
        "external_id": external_id,
        "url": f"https://attack.mitre.org/{path}/",
    }


def build_attack_bundle(techniques_tsv=TECHNIQUES_TSV, tactics_tsv=TACTICS_TSV):
    """Return the ATT&CK Enterprise STIX bundle for the catalog tables."""
    objects = [
        stix_object(
            "x-mitre-collection",
            "enterprise-attack",
            name="Enterprise ATT&CK (huntbridge catalog)",
            x_mitre_version=ATTACK_VERSION,
        )
    ]

    tactics = read_table(tactics_tsv, ["id", "shortname", "name"])
    for tactic_id, shortname, name in tactics:
        objects.append(
            stix_object(
                "x-mitre-tactic",
                tactic_id,
                name=name,
                x_mitre_shortname=shortname,
                external_references=[attack_reference(tactic_id, f"tactics/{tactic_id}")],
            )
        )

    techniques = read_table(techniques_tsv, ["id", "name", "tactics", "status", "revoked_by"])
    names = {row[0]: row[1] for row in techniques}
    for technique_id, name, tactic_names, status, _revoked_by in techniques:
        if status == "removed-v19":
            continue
        parent_id, _, sub_id = technique_id.partition(".")
        # The catalog prefixes a sub-technique's name with its parent's name,
        # which STIX keeps in the parent object only.
        parent_prefix = f"{names.get(parent_id, '')}: "
        if sub_id and name.startswith(parent_prefix):
            name = name[len(parent_prefix):]
        path = f"techniques/{parent_id}/{sub_id}" if sub_id else f"techniques/{technique_id}"
        properties = {
            "name": name,
            "external_references": [attack_reference(technique_id, path)],
            "kill_chain_phases": [
                {"kill_chain_name": "mitre-attack", "phase_name": tactic}
                for tactic in tactic_names.split(",")
            ],
            "x_mitre_is_subtechnique": bool(sub_id),
        }
        if status == "revoked":
            properties["revoked"] = True
        elif status == "deprecated":
            properties["x_mitre_deprecated"] = True
        objects.append(stix_object("attack-pattern", technique_id, **properties))

    return {
        "type": "bundle",
        "id": stix_id("bundle", "enterprise-attack"),
        "objects": objects,
    }


def build_d3fend_ontology():
    """Return a D3FEND JSON-LD graph with the D3FEND tactics and no technique."""
    graph = [
        {
            "@id": "http://d3fend.mitre.org/ontologies/d3fend.owl",
            "@type": "owl:Ontology",
            "owl:versionIRI": {"@id": "http://d3fend.mitre.org/ontologies/d3fend/1.0.0"},
        }
    ]
    for tactic in D3FEND_TACTICS:
        graph.append(
            {
                "@id": f"d3f:{tactic}",
                "@type": ["owl:NamedIndividual", "d3f:DefensiveTactic"],
                "rdfs:label": tactic,
            }
        )
    return {
        "@context": {
            "d3f": "http://d3fend.mitre.org/ontologies/d3fend.owl#",
            "owl": "http://www.w3.org/2002/07/owl#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        },
        "@graph": graph,
    }


def write_files(out_dir):
    """Write the ATT&CK bundle and the D3FEND graph to `out_dir` and return
    their paths as (attack, d3fend)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    attack_path = out_dir / ATTACK_FILE_NAME
    d3fend_path = out_dir / D3FEND_FILE_NAME
    attack_path.write_text(json.dumps(build_attack_bundle(), indent=1), encoding="utf-8")
    d3fend_path.write_text(json.dumps(build_d3fend_ontology(), indent=1), encoding="utf-8")
    return attack_path, d3fend_path


def main(argv):
    if len(argv) != 1:
        print("usage: attack_stix.py OUT_DIR", file=sys.stderr)
        return 2
    for path in write_files(argv[0]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
