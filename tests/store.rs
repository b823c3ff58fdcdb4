//! Repository tests, run against SQLite and PostgreSQL alike.

mod common;

use common::{Db, test_store};
use huntbridge::store::{self, Store, files::NewFile, findings::FindingRow, timeline::TimelineRow};

async fn inbound_event_recorded_once(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    assert!(
        store::inbound::record(&mut conn, "shell", "e1", "#caza", "@ana", 1)
            .await
            .unwrap()
    );
    assert!(
        !store::inbound::record(&mut conn, "shell", "e1", "#caza", "@ana", 2)
            .await
            .unwrap()
    );
    assert!(
        store::inbound::record(&mut conn, "matrix", "e1", "!r", "@ana", 3)
            .await
            .unwrap()
    );
}

async fn counters_count_per_name(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    assert_eq!(
        store::counters::next(&mut conn, "finding").await.unwrap(),
        1
    );
    assert_eq!(
        store::counters::next(&mut conn, "finding").await.unwrap(),
        2
    );
    assert_eq!(
        store::counters::next(&mut conn, "incident-2026")
            .await
            .unwrap(),
        1
    );
}

async fn outbox_moves_through_states(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    let first = store::outbox::enqueue(&mut conn, "shell", "{\"a\":1}", 10)
        .await
        .unwrap();
    let second = store::outbox::enqueue(&mut conn, "shell", "{\"a\":2}", 10)
        .await
        .unwrap();
    store::outbox::enqueue(&mut conn, "matrix", "{}", 10)
        .await
        .unwrap();
    let pending = store::outbox::pending(&mut conn, "shell", 10)
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|row| row.id).collect::<Vec<_>>(),
        vec![first, second]
    );

    store::outbox::mark_retry(&mut conn, first, "timeout", 99)
        .await
        .unwrap();
    store::outbox::mark_delivered(&mut conn, second, "{}", Some("$posted"), 20)
        .await
        .unwrap();
    assert_eq!(
        store::outbox::delivered_effect(&mut conn, "shell", "$posted")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"a\":2}")
    );
    for (platform, message) in [("matrix", "$posted"), ("shell", "$other")] {
        assert_eq!(
            store::outbox::delivered_effect(&mut conn, platform, message)
                .await
                .unwrap(),
            None,
            "{platform} {message}"
        );
    }
    let pending = store::outbox::pending(&mut conn, "shell", 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].next_attempt_at, 99);
    assert_eq!(pending[0].last_error.as_deref(), Some("timeout"));

    store::outbox::mark_failed(&mut conn, first, "gone")
        .await
        .unwrap();
    assert!(
        store::outbox::pending(&mut conn, "shell", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store::outbox::count(&mut conn, "failed").await.unwrap(), 1);
    assert_eq!(
        store::outbox::count(&mut conn, "delivered").await.unwrap(),
        1
    );
}

async fn rolled_back_transaction_leaves_nothing(db: Db) {
    let t = test_store(db).await;
    let mut tx = t.store.begin().await.unwrap();
    store::inbound::record(&mut tx, "shell", "e9", "#caza", "@ana", 1)
        .await
        .unwrap();
    store::outbox::enqueue(&mut tx, "shell", "{}", 1)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut conn = t.store.conn().await.unwrap();
    assert_eq!(store::outbox::count(&mut conn, "pending").await.unwrap(), 0);
    assert!(
        store::inbound::record(&mut conn, "shell", "e9", "#caza", "@ana", 1)
            .await
            .unwrap()
    );
}

fn finding(id: &str) -> FindingRow {
    FindingRow {
        id: id.into(),
        title: "Beacon".into(),
        severity: "high".into(),
        tlp: "amber".into(),
        status: "new".into(),
        reporter: "@ana".into(),
        platform: "shell".into(),
        room_id: "#caza".into(),
        source_event: "e1".into(),
        body: "{}".into(),
        incident_id: None,
        decided_by: None,
        decision_note: None,
        created_at: 5,
        handed_off_at: None,
        decided_at: None,
    }
}

async fn findings_link_to_incident(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    store::findings::insert(&mut conn, &finding("F-1"))
        .await
        .unwrap();
    store::findings::mark_handed_off(&mut conn, "F-1", 6)
        .await
        .unwrap();
    store::findings::decide(&mut conn, "F-1", "accepted", "@luis", None, 7)
        .await
        .unwrap();
    store::findings::link_incident(&mut conn, "F-1", "INC-2026-0001")
        .await
        .unwrap();
    let row = store::findings::get(&mut conn, "F-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "accepted");
    assert_eq!(row.handed_off_at, Some(6));
    assert_eq!(row.incident_id.as_deref(), Some("INC-2026-0001"));
    let linked = store::findings::list_for_incident(&mut conn, "INC-2026-0001")
        .await
        .unwrap();
    assert_eq!(linked.len(), 1);
    assert!(
        store::findings::get(&mut conn, "F-9")
            .await
            .unwrap()
            .is_none()
    );
}

async fn file_content_round_trips(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    let content = [0u8, 255, 10, 13, 0, 42];
    let id = store::files::insert(
        &mut conn,
        &NewFile {
            finding_id: Some("F-1"),
            incident_id: None,
            name: "dump.bin",
            mime: "application/octet-stream",
            sha256: "abc",
            content: &content,
            generated: false,
            added_by: "@ana",
            created_at: 1,
        },
    )
    .await
    .unwrap();
    let (meta, stored) = store::files::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(stored, content);
    assert_eq!(meta.size, 6);
    assert!(!meta.generated);
}

async fn timeline_lists_in_time_order(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    store::findings::insert(&mut conn, &finding("F-1"))
        .await
        .unwrap();
    store::findings::link_incident(&mut conn, "F-1", "INC-1")
        .await
        .unwrap();
    for (at, kind, finding, incident) in [
        (30, "action", None, Some("INC-1")),
        (10, "finding_created", Some("F-1"), None),
        (20, "incident_opened", None, Some("INC-1")),
        (15, "note", None, Some("INC-2")),
    ] {
        let entry = TimelineRow {
            incident_id: incident.map(str::to_string),
            finding_id: finding.map(str::to_string),
            at,
            actor: "@x".into(),
            kind: kind.into(),
            stage: None,
            detail: "{}".into(),
        };
        store::timeline::append(&mut conn, &entry).await.unwrap();
    }
    let kinds: Vec<String> = store::timeline::list_for_incident(&mut conn, "INC-1")
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.kind)
        .collect();
    assert_eq!(kinds, ["finding_created", "incident_opened", "action"]);
}

async fn room_language_and_binding(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    assert_eq!(
        store::rooms::lang(&mut conn, "shell", "#caza")
            .await
            .unwrap(),
        None
    );
    store::rooms::set_lang(&mut conn, "shell", "#caza", "en")
        .await
        .unwrap();
    store::rooms::set_lang(&mut conn, "shell", "#caza", "es")
        .await
        .unwrap();
    assert_eq!(
        store::rooms::lang(&mut conn, "shell", "#caza")
            .await
            .unwrap()
            .as_deref(),
        Some("es")
    );
    store::rooms::bind_incident(&mut conn, "shell", "#inc-1", "INC-1", "es")
        .await
        .unwrap();
    assert_eq!(
        store::rooms::incident_room(&mut conn, "shell", "INC-1")
            .await
            .unwrap()
            .as_deref(),
        Some("#inc-1")
    );
    assert_eq!(
        store::rooms::incident_of_room(&mut conn, "shell", "#inc-1")
            .await
            .unwrap()
            .as_deref(),
        Some("INC-1")
    );
    assert_eq!(
        store::rooms::incident_room(&mut conn, "matrix", "INC-1")
            .await
            .unwrap(),
        None
    );
}

async fn second_claim_fails_until_release(db: Db) {
    let t = test_store(db).await;
    let other = Store::connect(&t.url).await.unwrap();
    let claim = t.store.claim("matrix").await.unwrap();
    let second = other.claim("matrix").await.unwrap_err();
    assert!(
        format!("{second:#}").contains("another huntbridge process already runs matrix"),
        "{second:#}"
    );
    // Another name is a separate claim.
    let slack = other.claim("slack").await.unwrap();
    claim.release().await.unwrap();
    let again = other.claim("matrix").await.unwrap();
    assert_eq!(again.name(), "matrix");
    again.release().await.unwrap();
    slack.release().await.unwrap();
    other.close().await;
}

async fn outbox_heads_skip_finished_entries(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    let first = store::outbox::enqueue(&mut conn, "shell", "{\"a\":1}", 10)
        .await
        .unwrap();
    let second = store::outbox::enqueue(&mut conn, "shell", "{\"a\":2}", 10)
        .await
        .unwrap();
    let third = store::outbox::enqueue(&mut conn, "shell", "{\"a\":3}", 10)
        .await
        .unwrap();
    store::outbox::enqueue(&mut conn, "matrix", "{}", 10)
        .await
        .unwrap();
    store::outbox::mark_delivered(&mut conn, second, "{}", None, 20)
        .await
        .unwrap();
    store::outbox::mark_retry(&mut conn, third, "timeout", 99)
        .await
        .unwrap();

    let heads = store::outbox::pending_heads(&mut conn, "shell", 10)
        .await
        .unwrap();
    let ids: Vec<i64> = heads.iter().map(|head| head.id).collect();
    assert_eq!(ids, vec![first, third]);
    assert_eq!(heads[1].attempts, 1);
    assert_eq!(heads[1].next_attempt_at, 99);
    let limited = store::outbox::pending_heads(&mut conn, "shell", 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);

    // The delivered entry is left out; the others come in ID order.
    let effects = store::outbox::effects(&mut conn, &[third, second, first])
        .await
        .unwrap();
    assert_eq!(
        effects,
        vec![
            (first, "{\"a\":1}".to_string()),
            (third, "{\"a\":3}".to_string())
        ]
    );
    assert!(
        store::outbox::effects(&mut conn, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn overlaps_read_newest_mentions_only(db: Db) {
    let t = test_store(db).await;
    let mut conn = t.store.conn().await.unwrap();
    for finding in ["F-1", "F-2", "F-3"] {
        let row = store::iocs::IocRow {
            finding_id: Some(finding.into()),
            incident_id: None,
            kind: "ipv4".into(),
            value: "203.0.113.7".into(),
            flags: "[]".into(),
            source: "finding".into(),
            added_by: "@ana".into(),
            created_at: 1,
        };
        store::iocs::insert(&mut conn, &row).await.unwrap();
    }
    let findings = |overlaps: &store::iocs::Overlaps| -> Vec<String> {
        overlaps
            .cases
            .iter()
            .filter_map(|case| case.finding.clone())
            .collect()
    };

    let two = store::iocs::overlaps(&mut conn, "ipv4", "203.0.113.7", Some("F-3"), None, 2)
        .await
        .unwrap();
    assert_eq!(findings(&two), vec!["F-2"]);
    assert!(!two.complete);

    let all = store::iocs::overlaps(&mut conn, "ipv4", "203.0.113.7", Some("F-3"), None, 10)
        .await
        .unwrap();
    assert_eq!(findings(&all), vec!["F-2", "F-1"]);
    assert!(all.complete);
}

#[tokio::test]
async fn refused_postgres_names_cause() {
    // Nothing listens on port 1 of the loopback interface.
    let url = "postgres://huntbridge:secret-password@127.0.0.1:1/huntbridge";
    let error = Store::connect(url).await.unwrap_err();
    let message = format!("{error:#}");

    assert!(
        message.contains("failed to connect to postgres://huntbridge:***@127.0.0.1:1/huntbridge"),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("secret-password"), "{message}");
    assert!(!message.contains("pool timed out"), "{message}");
}

on_both_databases!(
    second_claim_fails_until_release,
    inbound_event_recorded_once,
    counters_count_per_name,
    outbox_moves_through_states,
    outbox_heads_skip_finished_entries,
    overlaps_read_newest_mentions_only,
    rolled_back_transaction_leaves_nothing,
    findings_link_to_incident,
    file_content_round_trips,
    timeline_lists_in_time_order,
    room_language_and_binding,
);
