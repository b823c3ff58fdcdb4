//! IOC extraction throughput over log text: the 19 Sysmon events of the
//! regsvr32 case (`tests/data/ioc-sysmon-events.jsonl`, real JSON lines with
//! escaped backslashes) repeated to about 4 MB, and the same events as plain
//! text. Run with `cargo bench --bench ioc`. Results are recorded in
//! docs/benchmarks.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huntbridge::domain::ioc::{Extractor, KnownGood};

/// Size of the generated input in bytes, before rounding up to whole copies.
const TARGET_LEN: usize = 4 * 1024 * 1024;

const EVENTS: &str = include_str!("../tests/data/ioc-sysmon-events.jsonl");

/// Repeats `text` until it is at least `TARGET_LEN` bytes long.
fn repeat_to_target(text: &str) -> String {
    text.repeat(TARGET_LEN.div_ceil(text.len()))
}

/// Returns the events' `Message` fields as plain log lines, without JSON escapes: the
/// shape of a syslog or EDR text export.
fn plain_text_events() -> String {
    EVENTS
        .lines()
        .filter_map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).ok()?;
            Some(event["Message"].as_str()?.replace("\r\n", "\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn extraction(c: &mut Criterion) {
    let extractor = Extractor::new(KnownGood::shipped());
    let inputs = [
        ("sysmon_jsonl", repeat_to_target(EVENTS)),
        ("sysmon_plain_text", repeat_to_target(&plain_text_events())),
    ];

    let mut group = c.benchmark_group("ioc_extract");
    group.sample_size(20);
    for (name, input) in &inputs {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(*name, |b| b.iter(|| extractor.extract(black_box(input))));
    }
    group.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
