//! The core flow end to end through the app and the shell adapter, on SQLite
//! and PostgreSQL: the shipped regsvr32 case, bad input, redelivery, roles
//! and TLP.

mod common;

use chrono::{Datelike, Utc};
use huntbridge::app::Outcome;
use huntbridge::chat::ChatEvent;
use huntbridge::chat::shell::{parse_script, run_script};
use huntbridge::config::Config;
use huntbridge::domain::types::Lang;
use huntbridge::store;

use common::{Db, Harness, harness, repo_path};

const CASE: &str = "cases/regsvr32-squiblydoo/conversation.chat";

/// Runs transcript text with files resolved next to the shipped case.
async fn run_transcript(h: &Harness, text: &str, script_id: &str) {
    let messages = parse_script(text).expect("valid transcript");
    let base = repo_path("cases/regsvr32-squiblydoo");
    let mut echo = common::Capture::default();
    run_script(
        &h.app,
        h.adapter.clone(),
        &messages,
        &base,
        script_id,
        true,
        &mut echo,
    )
    .await
    .expect("transcript runs");
}

/// Returns the shipped case up to `/status all`, without the closing commands.
fn case_until_status() -> String {
    let text = std::fs::read_to_string(repo_path(CASE)).unwrap();
    let end = text
        .find("--- @luis:ir #INC\n/close")
        .expect("case has /close");
    text[..end].to_string()
}

fn incident_id() -> String {
    format!("INC-{}-0001", Utc::now().year())
}

async fn count(h: &Harness, table: &str) -> i64 {
    let mut conn = h.db.store.conn().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn regsvr32_case_in_spanish(db: Db) {
    let h = harness(db, Config::default()).await;
    run_transcript(&h, &case_until_status(), "case").await;
    let out = h.output.text();
    let incident = incident_id();
    let room = format!("#{}", incident.to_lowercase());

    // F-1: indicators defanged and flagged, techniques with names, fields.
    assert!(
        out.contains("URL hxxp://10[.]10[.]10[.]5:8444/launcher.sct ⚑ dirección privada"),
        "{out}"
    );
    assert!(
        out.contains("IPv4 10[.]10[.]10[.]5 ⚑ dirección privada"),
        "{out}"
    );
    assert!(
        out.contains("SHA-256 908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53"),
        "{out}"
    );
    assert!(
        out.contains("T1218.010 System Binary Proxy Execution: Regsvr32 (Stealth)"),
        "{out}"
    );
    assert!(
        out.contains("T1059.001 Command and Scripting Interpreter: PowerShell (Execution)"),
        "{out}"
    );
    assert!(
        out.contains("Severidad: alta · Confianza: media · TLP:AMBER"),
        "{out}"
    );
    assert!(out.contains("Equipos: WORKSTATION5.mordor.local"), "{out}");
    assert!(out.contains("Usuarios: MORDOR\\pgustavo"), "{out}");
    assert!(
        !out.contains("http://10.10.10.5"),
        "a live URL reached the chat: {out}"
    );

    // The handoff card reaches #ir.
    let handoff = out
        .find("huntbridge → #ir\n  │ 📨 Traspaso a IR: F-1")
        .expect("handoff card in #ir");

    // Accepting opens one room, invites both people, pins the summary and
    // attaches the evidence and the IOC file.
    assert_eq!(
        out.matches("sala creada / room created").count(),
        1,
        "{out}"
    );
    let created = out
        .find(&format!("room created: {room}"))
        .expect("room created");
    assert!(created > handoff);
    assert!(out.contains("invitados / invited: @ana, @luis"), "{out}");
    assert!(
        out.contains(&format!(
            "huntbridge → {room} (fijado / pinned)\n  │ 📌 {incident}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "huntbridge → {room}: archivo / file events.jsonl (61539 bytes)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("archivo / file {incident}-iocs.tsv")),
        "{out}"
    );
    let folder = h.out_dir.path().join("files").join(incident.to_lowercase());
    let saved = std::fs::read(folder.join("events.jsonl")).expect("evidence saved");
    assert_eq!(
        saved,
        std::fs::read(repo_path("cases/regsvr32-squiblydoo/events.jsonl")).unwrap()
    );
    let ioc_file = std::fs::read_to_string(folder.join(format!("{incident}-iocs.tsv"))).unwrap();
    assert!(
        ioc_file.contains("url\thxxp://10[.]10[.]10[.]5:8444/launcher.sct\tprivate\tfinding"),
        "{ioc_file}"
    );
    // The hash Ana listed is powershell.exe's, as the events file shows: the
    // IOC file and the pinned summary flag it, so neither offers it for blocking.
    assert!(
        ioc_file.contains(
            "sha256\t908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53\tknown_good\tfinding"
        ),
        "{ioc_file}"
    );
    assert!(
        ioc_file
            .contains("filename\tREGSVR32[.]EXE-8461DBEE[.]pf\tknown_good\tevidence:events.jsonl"),
        "{ioc_file}"
    );
    let pinned = &out[out.find("(fijado / pinned)").expect("pinned summary")..];
    let pinned = &pinned[..pinned.find("  └").expect("end of the summary")];
    assert!(
        pinned.contains(
            "SHA-256 908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53 ⚑ lista de valores legítimos"
        ),
        "{pinned}"
    );
    assert!(!ioc_file.contains("http://10.10.10.5"), "{ioc_file}");

    // Playbook, the stage already reached, the actions with MTTC.
    assert!(out.contains("Playbook: Malware persistente"), "{out}");
    assert!(
        out.contains("ya está en la etapa 5/7, Coordinación"),
        "{out}"
    );
    assert!(
        out.contains("acción de contención registrada por @luis"),
        "{out}"
    );
    assert!(out.contains("MTTC (aceptación → contención): "), "{out}");

    // /status all in #ir lists the incident with stage, severity, owner, age.
    let status = &out[out.rfind("huntbridge → #ir").unwrap()..];
    assert!(status.contains("Incidentes abiertos: 1"), "{status}");
    assert!(
        status.contains(&format!(
            "• {incident} · Regsvr32 cargando scriptlet remoto"
        )),
        "{status}"
    );
    assert!(
        status.contains(
            "etapa 5/7 Coordinación · severidad alta · responsable @luis · abierto hace "
        ),
        "{status}"
    );
    assert!(status.contains("MTTC "), "{status}");

    // The timeline contains every step in order, with authors.
    let mut conn = h.db.store.conn().await.unwrap();
    let timeline = store::timeline::list_for_incident(&mut conn, &incident)
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = timeline
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str()))
        .collect();
    let expected = [
        ("finding_created", "@ana"),
        ("handoff_sent", "@ana"),
        ("evidence_added", "@ana"),
        ("handoff_accepted", "@luis"),
        ("incident_opened", "@luis"),
        ("stage_changed", "@luis"),
        ("playbook", "@luis"),
        ("action", "@luis"),
        ("note", "@ana"),
        ("action", "@luis"),
        ("action", "@luis"),
    ];
    assert_eq!(kinds, expected);
    let stages: Vec<&str> = timeline.iter().filter_map(|e| e.stage.as_deref()).collect();
    let order = ["detection", "communication", "coordination"];
    let positions: Vec<usize> = order
        .iter()
        .map(|s| stages.iter().position(|x| x == s).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "stages out of order: {stages:?}"
    );
    assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at));

    // A lead requests the incident in detail: the timeline with authors.
    h.output.clear();
    let detail = format!("--- @marta:lead #ir\n/status {incident}\n--- @luis:ir #INC\n/status\n");
    run_transcript(&h, &detail, "detail").await;
    let out = h.output.text();
    assert_eq!(out.matches("Cronología:").count(), 2, "{out}");
    assert!(
        out.contains("@luis · Coordinación · etapa: Comunicación → Coordinación"),
        "{out}"
    );
    assert!(
        out.contains(
            "@luis · Coordinación · acción de contención: WORKSTATION5[.]mordor[.]local aislado por EDR"
        ),
        "{out}"
    );
    assert!(
        out.contains("@ana · Coordinación · nota: Busqué 10[.]10[.]10[.]5 en el proxy"),
        "{out}"
    );
}

async fn regsvr32_case_in_english(db: Db) {
    let config = Config {
        lang: Lang::En,
        ..Config::default()
    };
    let h = harness(db, config).await;
    run_transcript(&h, &case_until_status(), "case-en").await;
    let out = h.output.text();
    assert!(
        out.contains("URL hxxp://10[.]10[.]10[.]5:8444/launcher.sct ⚑ private address"),
        "{out}"
    );
    assert!(
        out.contains("Severity: high · Confidence: medium · TLP:AMBER"),
        "{out}"
    );
    assert!(out.contains("📨 Handoff to IR: F-1"), "{out}");
    assert!(out.contains("Playbook: Persistent malware"), "{out}");
    assert!(out.contains("MTTC (accept → containment): "), "{out}");
    assert!(
        out.contains("stage 5/7 Coordination · severity high · owner @luis · open for "),
        "{out}"
    );
    assert!(
        !out.contains("Severidad"),
        "Spanish text in an English run: {out}"
    );
}

async fn lang_command_switches_room(db: Db) {
    let h = harness(db, Config::default()).await;
    let text = "--- @ana:hunt #caza\n/lang en\n--- @ana:hunt #caza\n/status all\n--- @ana:hunt #ir\n/status all\n";
    run_transcript(&h, text, "lang").await;
    let out = h.output.text();
    assert!(out.contains("Room language: English."), "{out}");
    assert!(
        out.contains("huntbridge → #caza\n  │ Open incidents: 0"),
        "{out}"
    );
    assert!(
        out.contains("huntbridge → #ir\n  │ Incidentes abiertos: 0"),
        "{out}"
    );
}

fn event(id: &str, room: &str, sender: &str, text: &str) -> ChatEvent {
    ChatEvent {
        platform: "shell".into(),
        event_id: id.into(),
        room_id: room.into(),
        sender: sender.into(),
        text: text.into(),
        attachments: Vec::new(),
        received_at: Utc::now(),
    }
}

async fn hunter(db: Db) -> Harness {
    let mut config = Config::default();
    config.users.insert("@ana".into(), vec!["hunter".into()]);
    config
        .users
        .insert("@luis".into(), vec!["responder".into()]);
    harness(db, config).await
}

/// Sends one finding and returns the reply text; asserts nothing was stored.
async fn rejected_finding(h: &Harness, id: &str, text: &str) -> String {
    h.output.clear();
    let outcome = h
        .app
        .handle(event(id, "#caza", "@ana", text))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Rejected, "{text:.80}");
    let worker = huntbridge::app::outbox::OutboxWorker::new(h.app.clone(), h.adapter.clone());
    worker.drain().await.unwrap();
    assert_eq!(count(h, "findings").await, 0);
    assert_eq!(count(h, "iocs").await, 0);
    assert_eq!(count(h, "timeline").await, 0);
    h.output.text()
}

async fn malformed_findings_store_nothing(db: Db) {
    let h = hunter(db).await;
    let reply = rejected_finding(&h, "e1", "/finding Beacon\nhipotesys: algo").await;
    assert!(
        reply.contains("«hipotesys»") && reply.contains("línea 2") && reply.contains("hipótesis"),
        "{reply}"
    );

    let reply = rejected_finding(&h, "e2", "/finding Beacon\ntécnicas: T1218.010, T99999").await;
    assert!(
        reply.contains("T99999") && reply.contains("T1234.567"),
        "{reply}"
    );

    let reply = rejected_finding(&h, "e3", "/finding   \nhipótesis: x").await;
    assert!(reply.contains("Falta el título"), "{reply}");

    let huge = format!("/finding Grande\n{}", "a".repeat(1024 * 1024));
    let reply = rejected_finding(&h, "e4", &huge).await;
    assert!(reply.contains("1048"), "{reply}");
    assert!(reply.contains("65536"), "{reply}");

    let reply = rejected_finding(&h, "e5", "/finding Beacon\nseveridad: urgente").await;
    assert!(
        reply.contains("«urgente»") && reply.contains("severidad"),
        "{reply}"
    );

    let reply = rejected_finding(&h, "e6", "/finding Beacon\niocs:\n- no es un indicador").await;
    assert!(reply.contains("«no es un indicador»"), "{reply}");
}

async fn repeated_event_changes_nothing(db: Db) {
    let h = hunter(db).await;
    let text = "/finding Beacon a 198.51.100.7\nseveridad: alta";
    assert_eq!(
        h.app
            .handle(event("same", "#caza", "@ana", text))
            .await
            .unwrap(),
        Outcome::Done
    );
    let outbox = count(&h, "outbox").await;
    let timeline = count(&h, "timeline").await;
    assert_eq!(
        h.app
            .handle(event("same", "#caza", "@ana", text))
            .await
            .unwrap(),
        Outcome::Duplicate
    );
    assert_eq!(count(&h, "findings").await, 1);
    assert_eq!(count(&h, "outbox").await, outbox);
    assert_eq!(count(&h, "timeline").await, timeline);
}

async fn hunter_cannot_accept_handoff(db: Db) {
    let h = hunter(db).await;
    h.app
        .handle(event(
            "f",
            "#caza",
            "@ana",
            "/finding Beacon\nseveridad: alta",
        ))
        .await
        .unwrap();
    let outcome = h
        .app
        .handle(event("h", "#ir", "@ana", "/handoff F-1 accept"))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Rejected);
    assert_eq!(count(&h, "incidents").await, 0);
    let outcome = h
        .app
        .handle(event("x", "#ir", "@nobody", "/handoff F-1 accept"))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Rejected);
    let outcome = h
        .app
        .handle(event("l", "#ir", "@luis", "/handoff F-1 accept"))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(count(&h, "incidents").await, 1);
}

async fn handoff_without_decision_names_it(db: Db) {
    let h = hunter(db).await;
    let text = "--- @ana:hunt #caza\n/finding Beacon\n--- @luis:ir #ir\n/handoff F-1\n";
    run_transcript(&h, text, "no-decision").await;
    let out = h.output.text();
    assert!(
        out.contains("Falta la decisión: escribe /handoff F-1 accept o /handoff F-1 decline."),
        "{out}"
    );
    assert!(!out.contains("«»"), "{out}");
    assert_eq!(count(&h, "incidents").await, 0);

    h.output.clear();
    run_transcript(&h, "--- @luis:ir #ir\n/handoff F-9 accept\n", "no-finding").await;
    let out = h.output.text();
    assert!(
        out.contains("No existe el hallazgo F-9. Revisa el número en su tarjeta de traspaso"),
        "{out}"
    );
}

async fn finding_with_two_mistakes_lists_both(db: Db) {
    let h = hunter(db).await;
    // The item after the unknown key is free text, not a third mistake.
    let text =
        "--- @ana:hunt #caza\n/finding Beacon\nseveridad: altisima\nhipotesys: x\n- 203.0.113.5\n";
    run_transcript(&h, text, "two-mistakes").await;
    let out = h.output.text();
    let warnings: Vec<&str> = out.lines().filter(|line| line.contains('⚠')).collect();
    assert_eq!(warnings.len(), 2, "{out}");
    assert!(
        warnings[0].contains("«altisima» no vale para «severidad» (línea 2)"),
        "{out}"
    );
    assert!(
        warnings[1]
            .contains("El campo «hipotesys» de la línea 3 no existe. ¿Querías decir «hipótesis»?"),
        "{out}"
    );
    assert_eq!(count(&h, "findings").await, 0);
}

async fn replies_write_commands_with_the_adapter_prefix(db: Db) {
    let mut config = Config::default();
    config.users.insert("@ana".into(), vec!["hunter".into()]);
    config
        .users
        .insert("@luis".into(), vec!["responder".into()]);
    let h = common::harness_with_prefix(db, config, "!").await;
    let text = "--- @ana:hunt #caza\n!finding Beacon, ver /status en http://x.example/status\n\
                --- @ana:hunt #caza\n!findng x\n--- @ana:hunt #caza\n!handoff F-1 accept\n";
    run_transcript(&h, text, "prefix").await;
    let out = h.output.text();
    // The handoff card and the error messages use the adapter's prefix.
    assert!(
        out.contains("Acepta con !handoff F-1 accept o rechaza con !handoff F-1 decline"),
        "{out}"
    );
    assert!(
        out.contains("No conozco el comando «findng». ¿Querías decir !finding?"),
        "{out}"
    );
    assert!(out.contains("!handoff es solo para estos roles"), "{out}");
    // Text the hunter typed is shown as typed.
    assert!(
        out.contains("Beacon, ver /status en hxxp://x[.]example/status"),
        "{out}"
    );
    assert!(!out.contains("/handoff"), "{out}");
}

async fn public_hosts_and_users_are_defanged_in_cards(db: Db) {
    let h = hunter(db).await;
    let text = "--- @ana:hunt #caza\n/finding Beacon desde web01.example.com\n\
                equipos: web01.example.com, 198.51.100.20, WORKSTATION5.mordor.local\n\
                usuarios: bob@example.com, MORDOR\\pgustavo\n";
    run_transcript(&h, text, "assets").await;
    let out = h.output.text();
    for live in ["web01.example.com", "198.51.100.20", "bob@example.com"] {
        assert!(!out.contains(live), "{live} is live in: {out}");
    }
    assert!(out.contains("Beacon desde web01[.]example[.]com"), "{out}");
    // The organization's own names stay as typed.
    assert!(out.contains("WORKSTATION5.mordor.local"), "{out}");
    assert!(out.contains("MORDOR\\pgustavo"), "{out}");
}

async fn evidence_without_file_explains_attaching(db: Db) {
    let h = hunter(db).await;
    let text = "--- @ana:hunt #caza\n/finding Beacon\n--- @ana:hunt #caza\n/evidence F-1\n";
    run_transcript(&h, text, "no-file").await;
    let out = h.output.text();
    assert!(
        out.contains("No llegó ningún archivo con /evidence F-1. En Matrix, responde al mensaje del archivo con /evidence F-1"),
        "{out}"
    );
    assert!(!out.contains("«-»"), "{out}");
}

async fn red_finding_stays_in_incident_room(db: Db) {
    let h = hunter(db).await;
    let text = "--- @ana:hunt #caza\n/finding Exfiltración a secreto.example.net\ntlp: red\nequipos: SRV-NOMINAS\niocs:\n- 203.0.113.66\n--- @luis:ir #ir\n/handoff F-1 accept\n--- @luis:ir #ir\n/status all\n";
    run_transcript(&h, text, "red").await;
    let out = h.output.text();
    let incident = incident_id().to_lowercase();
    let room_start = out
        .find(&format!("room created: #{incident}"))
        .expect("room created");
    let (outside, inside) = out.split_at(room_start);
    for secret in [
        "SRV-NOMINAS",
        "203[.]0[.]113[.]66",
        "secreto",
        "Exfiltración",
    ] {
        assert!(
            !outside.contains(secret),
            "{secret} leaked before the incident room: {outside}"
        );
        assert!(
            inside.contains(secret) || secret == "Exfiltración",
            "{secret} missing in the room: {inside}"
        );
    }
    // Posts after the room was created but outside it stay restricted too.
    for block in inside
        .split("  ┌ ")
        .filter(|b| !b.starts_with(&format!("huntbridge → #{incident}")))
    {
        assert!(
            !block.contains("SRV-NOMINAS") && !block.contains("Exfiltración"),
            "leak: {block}"
        );
    }
    assert!(out.contains("TLP:RED"), "{out}");
}

on_both_databases!(
    regsvr32_case_in_spanish,
    regsvr32_case_in_english,
    lang_command_switches_room,
    malformed_findings_store_nothing,
    repeated_event_changes_nothing,
    hunter_cannot_accept_handoff,
    handoff_without_decision_names_it,
    finding_with_two_mistakes_lists_both,
    replies_write_commands_with_the_adapter_prefix,
    public_hosts_and_users_are_defanged_in_cards,
    evidence_without_file_explains_attaching,
    red_finding_stays_in_incident_room,
    failed_upload_keeps_room_order,
    red_overlap_not_named_outside,
    overlap_list_names_five_cases,
    overlap_count_is_capped_for_common_indicators,
    amber_strict_label_outside,
);

/// Fails the first upload once, as a platform that times out would.
struct FlakyUploads {
    inner: std::sync::Arc<huntbridge::chat::shell::ShellAdapter>,
    failed: std::sync::atomic::AtomicBool,
}

impl huntbridge::chat::ChatAdapter for FlakyUploads {
    fn platform(&self) -> &str {
        self.inner.platform()
    }

    fn format(&self) -> huntbridge::render::Format {
        self.inner.format()
    }

    async fn deliver(
        &self,
        key: &str,
        delivery: huntbridge::chat::Delivery,
    ) -> Result<huntbridge::chat::Delivered, huntbridge::chat::DeliveryError> {
        use std::sync::atomic::Ordering;
        if matches!(delivery, huntbridge::chat::Delivery::Upload { .. })
            && !self.failed.swap(true, Ordering::SeqCst)
        {
            return Err(huntbridge::chat::DeliveryError::Retry {
                reason: "timed out".into(),
                after: Some(std::time::Duration::from_millis(300)),
            });
        }
        self.inner.deliver(key, delivery).await
    }
}

async fn failed_upload_keeps_room_order(db: Db) {
    let h = hunter(db).await;
    let adapter = std::sync::Arc::new(FlakyUploads {
        inner: h.adapter.clone(),
        failed: std::sync::atomic::AtomicBool::new(false),
    });
    let worker = huntbridge::app::outbox::OutboxWorker::new(h.app.clone(), adapter);
    let finding = "/finding Beacon\nseveridad: alta\n```\nconexión a 198.51.100.7\n```";
    h.app
        .handle(event("f", "#caza", "@ana", finding))
        .await
        .unwrap();
    h.app
        .handle(event("a", "#ir", "@luis", "/handoff F-1 accept"))
        .await
        .unwrap();
    worker.drain().await.unwrap();
    let room = format!("#{}", incident_id().to_lowercase());
    h.app
        .handle(event("n", &room, "@luis", "/note primera nota"))
        .await
        .unwrap();
    // The upload is not due yet, so the note must wait behind it.
    let report = worker.drain().await.unwrap();
    assert!(report.waiting >= 2, "{report:?}");
    assert!(!h.output.text().contains("Nota añadida"));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    worker.drain().await.unwrap();

    let out = h.output.text();
    let upload = out
        .find("-iocs.tsv")
        .expect("IOC file delivered after the retry");
    let note = out.find("Nota añadida").expect("note reply delivered");
    assert!(upload < note, "the note overtook the upload: {out}");
    assert_eq!(count(&h, "outbox").await, {
        let mut conn = h.db.store.conn().await.unwrap();
        store::outbox::count(&mut conn, "delivered").await.unwrap()
    });
}

async fn red_overlap_not_named_outside(db: Db) {
    let h = hunter(db).await;
    let text = "--- @ana:hunt #caza\n/finding Exfiltración\ntlp: red\niocs:\n- 203.0.113.66\n\
                --- @luis:ir #ir\n/handoff F-1 accept\n\
                --- @ana:hunt #caza\n/finding Conexión rara\niocs:\n- 203.0.113.66\n";
    run_transcript(&h, text, "overlap").await;
    let out = h.output.text();
    let second = &out[out.find("F-2: Conexión rara").expect("second card")..];
    assert!(
        !second.contains("F-1") && !second.contains("INC-"),
        "a TLP:RED case was named: {second}"
    );
}

async fn overlap_list_names_five_cases(db: Db) {
    let h = hunter(db).await;
    let text: String = (1..=7)
        .map(|n| format!("--- @ana:hunt #caza\n/finding Escaneo {n}\niocs:\n- 203.0.113.77\n"))
        .collect();
    run_transcript(&h, &text, "capped").await;
    let out = h.output.text();
    let last = &out[out.find("F-7: Escaneo 7").expect("seventh card")..];
    assert!(
        last.contains("aparece en F-6, F-5, F-4, F-3, F-2 y 1 más"),
        "{last}"
    );
}

async fn overlap_count_is_capped_for_common_indicators(db: Db) {
    let h = hunter(db).await;
    let cases = huntbridge::app::view::MAX_OVERLAP_READ + 2;
    let text: String = (1..=cases)
        .map(|n| format!("--- @ana:hunt #caza\n/finding Escaneo {n}\niocs:\n- 203.0.113.77\n"))
        .collect();
    run_transcript(&h, &text, "common").await;
    let out = h.output.text();
    let last = &out[out
        .find(&format!("F-{cases}: Escaneo {cases}"))
        .expect("last card")..];
    // The newest MAX_OVERLAP_READ cases are read, the new finding among
    // them: 5 are named and the rest counted as "at least".
    let more = huntbridge::app::view::MAX_OVERLAP_READ - 1 - 5;
    let named: Vec<String> = (1..=5).map(|back| format!("F-{}", cases - back)).collect();
    let expected = format!("aparece en {} y {more}+ más", named.join(", "));
    assert!(last.contains(&expected), "{expected} not in {last}");
}

async fn amber_strict_label_outside(db: Db) {
    let h = hunter(db).await;
    let text = "--- @ana:hunt #caza\n/finding Estricto\ntlp: amber+strict\nequipos: SRV-1\n\
                --- @luis:ir #ir\n/handoff F-1 accept\n";
    run_transcript(&h, text, "strict").await;
    h.output.clear();
    let status = format!("--- @luis:ir #general\n/status {}\n", incident_id());
    run_transcript(&h, &status, "strict-status").await;
    let out = h.output.text();
    assert!(out.contains("TLP:AMBER+STRICT"), "{out}");
    assert!(
        !out.contains("TLP:RED") && !out.contains("SRV-1") && !out.contains("Estricto"),
        "{out}"
    );
}
