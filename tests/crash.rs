//! Delivery across a crash, with the real binary: the process dies after a
//! command is stored and before its reply is delivered; the next start
//! delivers that reply exactly once, and a third start repeats nothing.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_huntbridge");

fn run(dir: &Path, script: &Path, abort_after: Option<usize>) -> (Option<i32>, String) {
    let db = format!("sqlite://{}?mode=rwc", dir.join("hb.db").display());
    let mut command = Command::new(BIN);
    command
        .args(["shell", "--script"])
        .arg(script)
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--db", &db])
        .env_remove("HUNTBRIDGE_TEST_ABORT_AFTER_STORE");
    if let Some(index) = abort_after {
        command.env("HUNTBRIDGE_TEST_ABORT_AFTER_STORE", index.to_string());
    }
    let output = command.output().expect("huntbridge runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn reply_survives_crash_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("talk.chat");
    std::fs::write(
        &script,
        "--- @ana:hunt #caza\n/finding Beacon a 198.51.100.7\nseveridad: alta\n--- @ana:hunt #caza\n/status all\n",
    )
    .unwrap();

    // First start: dies right after storing the finding.
    let (code, first) = run(dir.path(), &script, Some(0));
    // Killed by SIGABRT: no exit code at all, unlike an error exit.
    assert_eq!(code, None, "the process was expected to abort: {first}");
    assert!(
        !first.contains("F-1: Beacon"),
        "reply delivered before the crash: {first}"
    );

    // Second start: the stored reply is delivered once, the finding is not
    // handled again, and the next message runs.
    let (code, second) = run(dir.path(), &script, None);
    assert_eq!(code, Some(0), "{second}");
    assert_eq!(second.matches("F-1: Beacon").count(), 1, "{second}");
    assert_eq!(second.matches("Traspaso a IR: F-1").count(), 1, "{second}");
    assert!(
        !second.contains("F-2"),
        "the finding was handled twice: {second}"
    );
    assert!(second.contains("Incidentes abiertos: 0"), "{second}");

    // Third start: everything was handled and delivered; nothing repeats.
    let (code, third) = run(dir.path(), &script, None);
    assert_eq!(code, Some(0), "{third}");
    assert!(
        !third.contains("huntbridge →"),
        "a reply was delivered again: {third}"
    );
}

#[test]
fn iocs_command_prints_json_lines() {
    use std::io::Write;
    use std::process::Stdio;

    let mut child = Command::new(BIN)
        .arg("iocs")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"beacon to hxxp://evil[.]example[.]com/p and 10.10.10.5\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let url = lines.iter().find(|l| l["type"] == "url").expect("url line");
    assert_eq!(url["value"], "http://evil.example.com/p");
    assert_eq!(url["defanged"], "hxxp://evil[.]example[.]com/p");
    let ip = lines
        .iter()
        .find(|l| l["type"] == "ipv4")
        .expect("ipv4 line");
    assert_eq!(ip["value"], "10.10.10.5");
    assert_eq!(ip["flags"], serde_json::json!(["private"]));
}

#[test]
fn check_config_rejects_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[rooms]\nhuntting = [\"#x\"]\n").unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("huntting"), "{stderr}");
}

#[test]
fn check_config_summary_names_matrix_settings_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("matrix.toml");
    let db = format!("sqlite://{}", dir.path().join("hb.db").display());
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"{db}\"\n[matrix]\nhomeserver = \"http://127.0.0.1:8008\"\n\
             user = \"@huntbridge:localhost\"\npassword = \"summary-secret-value\"\n\
             store_path = \"/var/lib/huntbridge/matrix\"\ncommand_prefixes = [\"!\"]\n"
        ),
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for line in [
        "  matrix homeserver: http://127.0.0.1:8008",
        "  matrix user: @huntbridge:localhost",
        "  matrix device name: huntbridge",
        "  matrix store folder: /var/lib/huntbridge/matrix",
        "  matrix login: password",
        "  command prefixes: !",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("summary-secret-value"), "{stdout}");
}

#[test]
fn export_command_writes_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("hb.db").display());
    let case = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cases/regsvr32-squiblydoo/conversation.chat");
    let status = Command::new(BIN)
        .args(["shell", "--script"])
        .arg(&case)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--db", &db])
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let output = Command::new(BIN)
        .args([
            "export",
            "--db",
            &db,
            "--incident",
            &format!("inc-{year}-0001"),
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("type,value,defanged,flags,to_block,incident,tlp"),
        "{text}"
    );
    assert!(
        text.contains("ipv4,10.10.10.5,10[.]10[.]10[.]5,private,false"),
        "{text}"
    );
    // PowerShell's own hash is a Windows system file: never marked for blocking.
    assert!(text.contains("sha256,908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53,908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53,known_good,false"), "{text}");
    // The prefetch file Windows wrote for regsvr32.exe is not an indicator
    // to block either.
    assert!(
        text.contains(
            "filename,REGSVR32.EXE-8461DBEE.pf,REGSVR32[.]EXE-8461DBEE[.]pf,known_good,false"
        ),
        "{text}"
    );

    let missing = Command::new(BIN)
        .args([
            "export",
            "--db",
            &db,
            "--incident",
            "INC-1999-0001",
            "--format",
            "stix",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("INC-1999-0001 not found"));
}
