//! Behaviour rules from process creations (Sysmon event 1) and image loads
//! (event 7).

use crate::domain::rules::Context;
use crate::domain::rules::behaviour::{
    ENCODED_COMMAND_PATTERNS, Interpreter, POWERSHELL, SCRIPT_ENGINES, bare_url_patterns,
    flag_url_patterns, has_encoded_command_flag, interpreter, proxy_binary, script_engines_named,
    url_arguments,
};
use crate::domain::rules::evidence::SysmonEvent;
use crate::domain::rules::sigma::{RuleDraft, SigmaKind};
use crate::domain::rules::yaml::{Detection, FieldMatch, Selection};

/// Builds a rule for a LOLBin (a proxy binary or a name on the known-good
/// LOLBin list) started with an http, https or ftp URL, as in
/// `regsvr32 /i:http://… scrobj.dll`, `mshta http://…` or
/// `certutil -urlcache -f http://…`.
pub(super) fn remote_url_argument(context: &Context, event: &SysmonEvent) -> Option<RuleDraft> {
    let image = event.basename("Image")?;
    let command_line = event.get("CommandLine")?;
    let proxy = proxy_binary(&image);
    let is_lolbin = proxy.is_some() || context.extractor.known_good().has_filename(&image);
    let arguments = url_arguments(command_line);
    if !is_lolbin || arguments.is_empty() {
        return None;
    }

    let mut flags: Vec<String> = Vec::new();
    for flag in arguments.into_iter().filter_map(|argument| argument.flag) {
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    let url_match = if flags.is_empty() {
        FieldMatch::texts("CommandLine|contains", bare_url_patterns())
    } else {
        let patterns = flags.iter().flat_map(|flag| flag_url_patterns(flag));
        FieldMatch::texts("CommandLine|contains|windash", patterns)
    };
    let engines = script_engines_named(command_line);

    let original_file_name = event
        .get("OriginalFileName")
        .or(proxy.map(|proxy| proxy.original_file_name));
    let mut selections = vec![
        (
            "selection_image".to_string(),
            image_selection("Image", &[image.as_str()], original_file_name.as_slice()),
        ),
        (
            "selection_url".to_string(),
            Selection::AllOf(vec![url_match]),
        ),
    ];
    if !engines.is_empty() {
        selections.push((
            "selection_module".to_string(),
            Selection::AllOf(vec![FieldMatch::texts(
                "CommandLine|contains",
                engines.clone(),
            )]),
        ));
    }

    let mut title = format!("{image} With Remote URL");
    let mut description = format!("Detects {image} started with an http, https or ftp URL");
    if !flags.is_empty() {
        let flags = flags.join(" or ");
        title.push_str(&format!(" in {flags}"));
        description.push_str(&format!(" as the value of {flags}"));
    }
    if !engines.is_empty() {
        let engines = engines.join(", ");
        title.push_str(&format!(" and {engines}"));
        description.push_str(&format!(" and naming {engines}"));
    }
    description.push_str(&format!(
        ", as in {}. A system binary given a remote URL fetches code from another host and runs \
         it under a trusted name.",
        context.input.incident_id
    ));
    if image == "regsvr32.exe" && engines.contains(&"scrobj.dll") {
        description
            .push_str(" With scrobj.dll, regsvr32.exe runs a remote COM scriptlet (Squiblydoo).");
    }

    let derived: Vec<&str> = proxy
        .map(|proxy| proxy.technique)
        .or(interpreter(&image).and_then(|family| family.technique))
        .into_iter()
        .collect();
    Some(RuleDraft {
        kind: SigmaKind::ProcessCreation,
        title,
        description,
        falsepositives: vec![format!(
            "Software installers or management agents that pass a URL to {image}"
        )],
        techniques: context.techniques_for(&derived),
        detection: Detection {
            selections,
            condition: "all of selection_*".to_string(),
        },
    })
}

/// Builds a rule for a proxy binary starting a script interpreter or shell,
/// such as regsvr32.exe starting powershell.exe.
pub(super) fn proxy_starts_interpreter(
    context: &Context,
    event: &SysmonEvent,
) -> Option<RuleDraft> {
    let parent = event.basename("ParentImage")?;
    let child = event.basename("Image")?;
    let proxy = proxy_binary(&parent)?;
    let family = interpreter(&child)?;

    let derived: Vec<&str> = [Some(proxy.technique), family.technique]
        .into_iter()
        .flatten()
        .collect();
    Some(RuleDraft {
        kind: SigmaKind::ProcessCreation,
        title: format!("{child} Started by {parent}"),
        description: format!(
            "Detects {parent} starting {}, as in {}. {parent} has no need to start a script \
             interpreter or shell, so the child runs the code the proxy binary loaded.",
            family.images.join(" or "),
            context.input.incident_id
        ),
        falsepositives: vec![format!("Installers that run scripts through {parent}")],
        techniques: context.techniques_for(&derived),
        detection: Detection {
            selections: vec![
                (
                    "selection_parent".to_string(),
                    Selection::AllOf(vec![FieldMatch::texts(
                        "ParentImage|endswith",
                        [format!("\\{parent}")],
                    )]),
                ),
                ("selection_child".to_string(), family_selection(family)),
            ],
            condition: "all of selection_*".to_string(),
        },
    })
}

/// Builds a rule for PowerShell given an encoded command (`-enc`, `-e`,
/// `-EncodedCommand`…).
pub(super) fn encoded_powershell(context: &Context, event: &SysmonEvent) -> Option<RuleDraft> {
    let image = event.basename("Image")?;
    let command_line = event.get("CommandLine")?;
    if !POWERSHELL.images.contains(&image.as_str()) || !has_encoded_command_flag(command_line) {
        return None;
    }

    Some(RuleDraft {
        kind: SigmaKind::ProcessCreation,
        title: "PowerShell With Encoded Command".to_string(),
        description: format!(
            "Detects PowerShell started with -EncodedCommand or an abbreviation of it (-e, -en, \
             -enc, -ec), as in {}. The Base64 command hides the script from command-line logs.",
            context.input.incident_id
        ),
        falsepositives: vec![
            "Administration and deployment tools that pass Base64-encoded commands to PowerShell"
                .to_string(),
        ],
        techniques: context.techniques_for(&["T1059.001", "T1027"]),
        detection: Detection {
            selections: vec![
                ("selection_image".to_string(), family_selection(&POWERSHELL)),
                (
                    "selection_flag".to_string(),
                    Selection::AllOf(vec![FieldMatch::texts(
                        "CommandLine|contains|windash",
                        ENCODED_COMMAND_PATTERNS,
                    )]),
                ),
            ],
            condition: "all of selection_*".to_string(),
        },
    })
}

/// Builds a rule for a proxy binary loading a script engine, such as
/// regsvr32.exe loading scrobj.dll. The rule matches every engine in the
/// table, not only the one seen.
pub(super) fn script_engine_load(context: &Context, event: &SysmonEvent) -> Option<RuleDraft> {
    let image = event.basename("Image")?;
    let module = event.basename("ImageLoaded")?;
    let proxy = proxy_binary(&image)?;
    if !proxy.script_engine_load_is_suspicious || !SCRIPT_ENGINES.contains(&module.as_str()) {
        return None;
    }

    Some(RuleDraft {
        kind: SigmaKind::ImageLoad,
        title: format!("Script Engine Loaded by {image}"),
        description: format!(
            "Detects {image} loading a script engine ({}), as in {} where it loaded {module}. \
             The binary is running script code, such as a COM scriptlet.",
            SCRIPT_ENGINES.join(", "),
            context.input.incident_id
        ),
        falsepositives: vec![format!(
            "Registration of legitimate script components through {image}"
        )],
        techniques: context.techniques_for(&[proxy.technique]),
        detection: Detection {
            selections: vec![(
                "selection".to_string(),
                Selection::AllOf(vec![
                    FieldMatch::texts("Image|endswith", [format!("\\{image}")]),
                    FieldMatch::texts(
                        "ImageLoaded|endswith",
                        SCRIPT_ENGINES.map(|engine| format!("\\{engine}")),
                    ),
                ]),
            )],
            condition: "selection".to_string(),
        },
    })
}

/// Builds a selection that matches a process by file name, or by original
/// file name so that a renamed copy matches too.
fn image_selection(field: &str, images: &[&str], original_file_names: &[&str]) -> Selection {
    let mut matches = vec![FieldMatch::texts(
        &format!("{field}|endswith"),
        images.iter().map(|image| format!("\\{image}")),
    )];
    if !original_file_names.is_empty() {
        matches.push(FieldMatch::texts(
            "OriginalFileName",
            original_file_names.iter().copied(),
        ));
    }
    if matches.len() == 1 {
        Selection::AllOf(matches)
    } else {
        Selection::AnyOf(matches)
    }
}

fn family_selection(family: &Interpreter) -> Selection {
    image_selection("Image", family.images, family.original_file_names)
}
