//! Closing the shipped regsvr32 case through the app and the shell adapter,
//! on SQLite and PostgreSQL. The tests cover the report, the rule proposals,
//! approval by a lead, the export folder and the STIX export. Sigma rules and
//! STIX bundles are validated with sigma-cli and stix2.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Datelike, Utc};
use huntbridge::chat::shell::{parse_script, run_script};
use huntbridge::config::Config;
use huntbridge::domain::rules::Proposal;
use huntbridge::domain::types::Lang;
use huntbridge::render::format_duration;
use huntbridge::store;

use common::{Db, Harness, harness, repo_path};

fn python() -> PathBuf {
    let path = std::env::var_os("HUNTBRIDGE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path(".venv/bin/python"));
    assert!(
        path.exists(),
        "Python interpreter {} not found: run scripts/pyenv.sh, or set HUNTBRIDGE_TEST_PYTHON",
        path.display()
    );
    path
}

/// Runs a checker script on a file and fails the test with its output.
fn assert_checker_passes(script: &str, file: &Path) {
    let output = Command::new(python())
        .arg(repo_path("scripts").join(script))
        .arg(file)
        .output()
        .expect("checker starts");
    assert!(
        output.status.success(),
        "{script} rejected {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn run(h: &Harness, text: &str, id: &str) {
    let messages = parse_script(text).unwrap();
    let mut echo = common::Capture::default();
    run_script(
        &h.app,
        h.adapter.clone(),
        &messages,
        &repo_path("cases/regsvr32-squiblydoo"),
        id,
        true,
        &mut echo,
    )
    .await
    .unwrap();
}

fn case() -> String {
    std::fs::read_to_string(repo_path("cases/regsvr32-squiblydoo/conversation.chat")).unwrap()
}

fn incident_id() -> String {
    format!("INC-{}-0001", Utc::now().year())
}

/// Harness whose export folder is inside the test's output folder.
async fn closing_harness(db: Db, lang: Lang) -> (Harness, PathBuf) {
    let exports = tempfile::tempdir().unwrap().keep();
    let mut config = Config {
        lang,
        ..Config::default()
    };
    config.exports.dir = exports.clone();
    (harness(db, config).await, exports)
}

async fn shipped_case_closes_with_report_and_rules(db: Db) {
    let (h, exports) = closing_harness(db, Lang::Es).await;
    run(&h, &case(), "case").await;
    let out = h.output.text();
    let incident = incident_id();
    let room = format!("#{}", incident.to_lowercase());

    // The close summary reaches the incident room and the leads' room.
    assert!(
        out.contains(&format!(
            "huntbridge → {room}\n  │ ✅ {incident} cerrado como verdadero positivo."
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "huntbridge → #ir\n  │ ✅ {incident} cerrado como verdadero positivo."
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("archivo / file {incident}-report-es.md")),
        "{out}"
    );
    assert!(
        out.contains(&format!("archivo / file {incident}-report-es.html")),
        "{out}"
    );

    // 10.10.10.5 is not proposed for the perimeter, and the reason is shown.
    assert!(
        out.contains("− 10[.]10[.]10[.]5, 172[.]18[.]39[.]5: dirección privada: el cortafuegos perimetral no ve ese tráfico interno."),
        "{out}"
    );
    assert!(!out.contains("+ 10[.]10[.]10[.]5"), "{out}");
    assert!(
        !out.contains("http://10.10.10.5"),
        "a live URL reached the chat: {out}"
    );
    // /rule list in #ir lists the proposals.
    assert!(out.contains("Propuestas de reglas: "), "{out}");

    // The stored proposals: a process-creation rule for the remote scriptlet.
    let mut conn = h.db.store.conn().await.unwrap();
    let rows = store::proposals::list(&mut conn, Some(&incident))
        .await
        .unwrap();
    let proposals: Vec<(String, Proposal)> = rows
        .iter()
        .map(|row| (row.id.clone(), serde_json::from_str(&row.body).unwrap()))
        .collect();
    let (scriptlet_id, scriptlet) = proposals
        .iter()
        .find_map(|(id, proposal)| match proposal {
            Proposal::Sigma(rule)
                if rule.yaml.contains("category: process_creation")
                    && rule.yaml.contains("/i:http")
                    && rule.yaml.contains("scrobj.dll") =>
            {
                Some((id.clone(), rule.clone()))
            }
            _ => None,
        })
        .expect("a process-creation rule for regsvr32 loading a remote scriptlet");
    let firewall = proposals
        .iter()
        .find_map(|(id, proposal)| match proposal {
            Proposal::Blocklist(list) if list.kind.as_str() == "firewall" => {
                Some((id.clone(), list.clone()))
            }
            _ => None,
        })
        .expect("a firewall blocklist");
    assert!(
        firewall
            .1
            .entries
            .iter()
            .all(|entry| entry.value != "10.10.10.5")
    );
    let excluded = firewall
        .1
        .excluded
        .iter()
        .find(|x| x.value == "10.10.10.5")
        .expect("10.10.10.5 excluded");
    assert_eq!(excluded.reason.code(), "private_address");

    // The report: facts, defanged indicators, metrics that match the timeline.
    let folder = h.out_dir.path().join("files").join(incident.to_lowercase());
    let report = std::fs::read_to_string(folder.join(format!("{incident}-report-es.md"))).unwrap();
    for fact in [
        "# Informe del incidente",
        "WORKSTATION5.mordor.local",
        "MORDOR\\\\pgustavo",
        "10[.]10[.]10[.]5",
        "T1218.010",
        "System Binary Proxy Execution: Regsvr32 (Stealth)",
        "### Contención",
        "aislado por EDR",
        "## Lecciones aprendidas",
        "MTTC (tiempo hasta contener): de la aceptación a la primera acción de contención.",
        "# Registro de la caza",
        "events.jsonl: 61539 bytes",
        "Resultado: verdadero positivo.",
        &scriptlet_id,
    ] {
        assert!(report.contains(fact), "report lacks {fact:?}:\n{report}");
    }
    assert!(!report.contains("http://10.10.10.5"), "{report}");
    let dossier = huntbridge::app::dossier::Dossier::load(&mut conn, &incident)
        .await
        .unwrap()
        .unwrap();
    let accepted = dossier.incident.created_at;
    let contained = dossier
        .timeline
        .iter()
        .find(|entry| entry.kind == "action" && entry.detail.contains("\"contain\""))
        .expect("containment action")
        .at;
    let closed = dossier.incident.closed_at.expect("closed");
    assert!(
        report.contains(&format!(
            "| MTTC | {} |",
            format_duration(contained - accepted)
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "| MTTR | {} |",
            format_duration(closed - accepted)
        )),
        "{report}"
    );
    let html = std::fs::read_to_string(folder.join(format!("{incident}-report-es.html"))).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<table>"),
        "{html}"
    );
    assert_eq!(dossier.incident.stage, "improvement");
    assert_eq!(dossier.incident.status, "closed");
    drop(conn);

    // A hunter may not approve; the lead approves and rejects.
    let decisions = format!(
        "--- @ana:hunt #ir\n/rule approve {scriptlet_id}\n\
         --- @marta:lead #ir\n/rule show {scriptlet_id}\n\
         --- @marta:lead #ir\n/rule approve {scriptlet_id}\n\
         --- @marta:lead #ir\n/rule approve {firewall_id}\n\
         --- @marta:lead #ir\n/rule reject R-999 ruido\n\
         --- @luis:ir #INC\n/export {incident} stix\n",
        firewall_id = firewall.0
    );
    h.output.clear();
    run(&h, &decisions, "decisions").await;
    let out = h.output.text();
    assert!(
        out.contains("/rule es solo para estos roles: lead"),
        "{out}"
    );
    assert!(out.contains("CommandLine|contains"), "{out}");
    assert!(
        out.contains(&format!(
            "@marta aprobó {scriptlet_id}; exportada a sigma/{}.yml",
            scriptlet.id
        )),
        "{out}"
    );
    assert!(out.contains("No existe la propuesta R-999"), "{out}");
    let sigma = exports.join("sigma").join(format!("{}.yml", scriptlet.id));
    assert_eq!(std::fs::read_to_string(&sigma).unwrap(), scriptlet.yaml);
    assert_checker_passes("sigma_check.py", &sigma);
    let blocklist = std::fs::read_to_string(exports.join("blocklists/firewall.txt")).unwrap();
    assert!(
        blocklist.contains(&format!(
            "# {} from {incident} approved by @marta on ",
            firewall.0
        )),
        "{blocklist}"
    );
    assert!(
        !blocklist.lines().any(|line| line == "10.10.10.5"),
        "{blocklist}"
    );

    let stix = folder.join(format!("{incident}-stix.json"));
    assert!(
        stix.exists(),
        "STIX export posted in the incident room: {out}"
    );
    assert_checker_passes("stix_check.py", &stix);
}

async fn shipped_case_report_in_english(db: Db) {
    let (h, _exports) = closing_harness(db, Lang::En).await;
    run(&h, &case(), "case-en").await;
    let out = h.output.text();
    let incident = incident_id();
    assert!(
        out.contains(&format!("✅ {incident} closed as true positive.")),
        "{out}"
    );
    assert!(
        out.contains("private address: the perimeter firewall does not see that internal traffic"),
        "{out}"
    );
    let report = std::fs::read_to_string(
        h.out_dir
            .path()
            .join("files")
            .join(incident.to_lowercase())
            .join(format!("{incident}-report-en.md")),
    )
    .unwrap();
    assert!(report.contains("# Incident report"), "{report}");
    assert!(
        report.contains(
            "MTTC (time to contain): from the acceptance to the first containment action."
        ),
        "{report}"
    );
    assert!(!report.contains("Informe"), "{report}");
}

on_both_databases!(
    shipped_case_closes_with_report_and_rules,
    shipped_case_report_in_english
);

async fn false_positive_keeps_hunt_record_and_tunes(db: Db) {
    let (h, _exports) = closing_harness(db, Lang::Es).await;
    let text = "--- @ana:hunt #caza\n/hunt Uso de certutil para descargar ficheros T1105\n\
                --- @ana:hunt #caza\n/finding certutil descargando de 198.51.100.20\ntécnicas: T1105\nequipos: PC-7\nseveridad: media\n\
                --- @ana:hunt #caza\n/hunt close H-1 found F-1 resultó ser el agente de inventario\n\
                --- @luis:ir #ir\n/handoff F-1 accept\n\
                --- @luis:ir #INC\n/close false-positive Descarga legítima del agente de inventario.\nlecciones: añadir el agente a la lista blanca de la caza\n\
                --- @marta:lead #ir\n/rule list\n";
    run(&h, text, "fp").await;
    let out = h.output.text();
    let incident = incident_id();
    assert!(
        out.contains(&format!("✅ {incident} cerrado como falso positivo.")),
        "{out}"
    );
    assert!(
        !out.contains("Lista de bloqueo"),
        "a false positive proposed a blocklist: {out}"
    );
    assert!(
        out.contains("Nueva caza: Caso falso positivo: añadir una excepción"),
        "{out}"
    );

    let mut conn = h.db.store.conn().await.unwrap();
    let rows = store::proposals::list(&mut conn, Some(&incident))
        .await
        .unwrap();
    assert!(rows.iter().all(|row| row.kind == "hunt_case"), "{rows:?}");
    let tuning = rows[0].id.clone();
    drop(conn);

    let report = std::fs::read_to_string(
        h.out_dir
            .path()
            .join("files")
            .join(incident.to_lowercase())
            .join(format!("{incident}-report-es.md")),
    )
    .unwrap();
    assert!(report.contains("# Registro de la caza"), "{report}");
    assert!(
        report.contains("**H-1**: Uso de certutil para descargar ficheros T1105"),
        "{report}"
    );
    assert!(
        report.contains("- Caza H-1: hallazgo → F-1 (resultó ser el agente de inventario)"),
        "{report}"
    );
    assert!(report.contains("Resultado: falso positivo."), "{report}");
    assert!(
        report.contains("añadir el agente a la lista blanca de la caza"),
        "{report}"
    );

    // A rejection keeps its reason and cannot be decided again.
    h.output.clear();
    let decide = format!(
        "--- @marta:lead #ir\n/rule reject {tuning} el agente ya está excluido\n\
         --- @marta:lead #ir\n/rule approve {tuning}\n"
    );
    run(&h, &decide, "fp-decide").await;
    let out = h.output.text();
    assert!(
        out.contains(&format!(
            "@marta rechazó {tuning}. Motivo: el agente ya está excluido"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("La propuesta {tuning} ya está rechazada (@marta)")),
        "{out}"
    );
    let mut conn = h.db.store.conn().await.unwrap();
    let row = store::proposals::get(&mut conn, &tuning)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "rejected");
    assert_eq!(
        row.decision_note.as_deref(),
        Some("el agente ya está excluido")
    );
}

mod more {
    use super::*;
    on_both_databases!(false_positive_keeps_hunt_record_and_tunes);
}

async fn red_rules_stay_in_incident_room(db: Db) {
    let (h, _exports) = closing_harness(db, Lang::Es).await;
    let text = "--- @ana:hunt #caza\n/finding C2 secreto\ntlp: red\niocs:\n- hxxp://evil-c2[.]net/gate\n\
                --- @luis:ir #ir\n/handoff F-1 accept\n\
                --- @luis:ir #INC\n/close true-positive Contenido.\n\
                --- @marta:lead #ir\n/rule list\n\
                --- @marta:lead #ir\n/rule show R-1\n\
                --- @marta:lead #ir\n/rule approve R-1\n";
    run(&h, text, "red-rules").await;
    let out = h.output.text();
    let outside: String = out
        .split("  ┌ ")
        .filter(|block| {
            block.starts_with("huntbridge → #ir") || block.starts_with("huntbridge → #caza")
        })
        .collect();
    assert!(
        !outside.contains("evil-c2"),
        "TLP:RED content left its room: {outside}"
    );
    assert!(outside.contains("R-1 · TLP:RED · "), "{outside}");
    assert!(
        outside.contains("revísala y decide en la sala del incidente"),
        "{outside}"
    );
    let mut conn = h.db.store.conn().await.unwrap();
    let row = store::proposals::get(&mut conn, "R-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.status, "proposed",
        "a restricted proposal was approved outside its room"
    );
}

mod red {
    use super::*;
    on_both_databases!(red_rules_stay_in_incident_room);
}

async fn red_blocklist_not_posted_with_other_approvals(db: Db) {
    let (h, exports) = closing_harness(db, Lang::Es).await;
    let year = Utc::now().year();
    let text = format!(
        "--- @ana:hunt #caza\n/finding C2 secreto\ntlp: red\niocs:\n- 45.77.99.8\n\
         --- @luis:ir #ir\n/handoff F-1 accept\n\
         --- @luis:ir #INC\n/close true-positive Contenido.\n\
         --- @ana:hunt #caza\n/finding C2 normal\niocs:\n- 45.77.12.9\n\
         --- @luis:ir #ir\n/handoff F-2 accept\n\
         --- @luis:ir #INC\n/close true-positive Contenido.\n\
         --- @marta:lead #inc-{year}-0001\n/rule list\n"
    );
    run(&h, &text, "two-blocklists").await;
    let mut conn = h.db.store.conn().await.unwrap();
    let firewall_of = |incident: &str, rows: &[store::proposals::ProposalRow]| {
        rows.iter()
            .find(|row| {
                row.incident_id == incident && row.kind == "blocklist" && row.title == "firewall"
            })
            .map(|row| row.id.clone())
            .expect("firewall blocklist")
    };
    let rows = store::proposals::list(&mut conn, None).await.unwrap();
    let red = firewall_of(&format!("INC-{year}-0001"), &rows);
    let amber = firewall_of(&format!("INC-{year}-0002"), &rows);
    drop(conn);

    h.output.clear();
    let decide = format!(
        "--- @marta:lead #inc-{year}-0001\n/rule approve {red}\n--- @marta:lead #ir\n/rule approve {amber}\n"
    );
    run(&h, &decide, "two-approvals").await;
    let out = h.output.text();
    let in_ir: String = out
        .split("  ┌ ")
        .filter(|b| b.starts_with("huntbridge → #ir"))
        .collect();
    assert!(
        !in_ir.contains("45[.]77[.]99[.]8") && !in_ir.contains("45.77.99.8"),
        "{in_ir}"
    );
    let posted = std::fs::read_to_string(h.out_dir.path().join("files/ir/firewall.txt")).unwrap();
    assert!(
        posted.contains("45.77.12.9") && !posted.contains("45.77.99.8"),
        "{posted}"
    );
    let on_disk = std::fs::read_to_string(exports.join("blocklists/firewall.txt")).unwrap();
    assert!(
        on_disk.contains("45.77.12.9") && on_disk.contains("45.77.99.8"),
        "{on_disk}"
    );
}

mod two {
    use super::*;
    on_both_databases!(red_blocklist_not_posted_with_other_approvals);
}
