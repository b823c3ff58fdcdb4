//! Parse, extract and render one finding: the work `/finding` does besides
//! storage. Run with `cargo bench --bench finding`; results are recorded in
//! docs/benchmarks.md.

use criterion::{Criterion, criterion_group, criterion_main};
use huntbridge::app::view;
use huntbridge::domain::attack::Catalog;
use huntbridge::domain::finding::parse_finding;
use huntbridge::domain::ioc::{Extractor, KnownGood};
use huntbridge::domain::types::Lang;
use huntbridge::render::{Format, Message, Renderer};

/// The finding of the shipped regsvr32 case, after the command word.
fn case_finding() -> String {
    let text = include_str!("../cases/regsvr32-squiblydoo/conversation.chat");
    let start = text.find("/finding ").expect("case has a finding") + "/finding ".len();
    let end = text[start..]
        .find("\n--- ")
        .map_or(text.len(), |end| start + end);
    text[start..end].to_string()
}

fn finding(c: &mut Criterion) {
    let input = case_finding();
    let catalog = Catalog::embedded();
    let extractor = Extractor::new(KnownGood::shipped());
    let renderer = Renderer::embedded().expect("templates load");

    c.bench_function("finding_parse_extract", |b| {
        b.iter(|| parse_finding(&input, catalog, &extractor).expect("valid finding"))
    });
    c.bench_function("finding_parse_extract_render", |b| {
        b.iter(|| {
            let parsed = parse_finding(&input, catalog, &extractor).expect("valid finding");
            // As the app does: hosts and users are classified for defanging.
            let assets: Vec<_> = parsed
                .hosts
                .iter()
                .chain(&parsed.users)
                .filter_map(|value| extractor.classify_one(value).ok())
                .collect();
            let message = Message {
                template: "finding_card".into(),
                lang: Lang::Es,
                context: serde_json::json!({ "f": view::finding("F-1", "@ana", &parsed, &assets) }),
            };
            renderer.render(&message, Format::Html).expect("renders")
        })
    });
}

criterion_group!(benches, finding);
criterion_main!(benches);
