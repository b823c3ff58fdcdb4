//! Unit tests for IOC extraction, one per rule.
use super::*;

#[test]
fn scratch_dump() {
    let ex = Extractor::default();
    let text =
        std::fs::read_to_string("/work/shared/cases/regsvr32-squiblydoo/events.jsonl").unwrap();
    for ioc in ex.extract(&text) {
        println!(
            "{:?} {} {:?} {}",
            ioc.kind,
            ioc.value,
            ioc.flags,
            ioc.defanged()
        );
    }
    println!("-----");
    let text = std::fs::read_to_string("/work/shared/cases/regsvr32-squiblydoo/conversation.chat")
        .unwrap();
    for ioc in ex.extract(&text) {
        println!(
            "{:?} {} {:?} {}",
            ioc.kind,
            ioc.value,
            ioc.flags,
            ioc.defanged()
        );
    }
    println!("-----");
    for l in std::fs::read_to_string("/work/shared/cases/ioc-extraction.tsv")
        .unwrap()
        .lines()
        .skip(4)
    {
        let input = l.split('\t').next().unwrap().replace("\\n", "\n");
        println!("IN {input}");
        for ioc in ex.extract(&input) {
            println!(
                "   {:?} {} {:?} {}",
                ioc.kind,
                ioc.value,
                ioc.flags,
                ioc.defanged()
            );
        }
    }
    for t in [
        "System.Windows.Forms",
        "Microsoft.Windows",
        "Microsoft.PowerShell.Commands",
        "System.Net.WebClient",
        "Net.WebClient",
        "System.IO.File",
        "System.Text.Encoding",
        "evil.onion",
        "a.b.local",
        "Trojan.Win32.Kryptik.app",
        "foo.bank",
        "System.Management.Automation",
        "Get-Process.ps1",
    ] {
        println!(
            "{t} -> {:?} psl={:?}",
            ex.extract(t),
            psl::domain_str(&t.to_ascii_lowercase())
        );
    }
}
