//! Embeds every file under `templates/<lang>/` into the binary, so the bot
//! runs with no files beside it.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=templates");
    // sqlx::migrate! embeds migrations/ at compile time; a new migration file
    // must rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    // Read at run time, not with env!(): a build script compiled for one
    // checkout may be reused by another that shares the target folder.
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("templates");
    let mut entries = Vec::new();
    for lang_dir in fs::read_dir(&root).expect("templates/ exists") {
        let lang_dir = lang_dir.expect("readable templates/ entry").path();
        if !lang_dir.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", lang_dir.display());
        let lang = lang_dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in fs::read_dir(&lang_dir).expect("readable language folder") {
            let path = file.expect("readable template entry").path();
            if path.is_file() {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                entries.push((lang.clone(), name, path));
            }
        }
    }
    entries.sort();
    let mut code = String::from("pub static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for (lang, name, path) in &entries {
        writeln!(
            code,
            "    ({lang:?}, {name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("templates.rs");
    fs::write(out, code).expect("write templates.rs");
}
