//! Short-string catalogs: one `strings.toml` per language, nested tables
//! flattened to dotted keys (`severity.high`), with `{name}` placeholders.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::bail;

/// A language's catalog.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    entries: Arc<BTreeMap<String, String>>,
}

impl Strings {
    /// Parses a catalog from TOML text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let table: toml::Table = text.parse()?;
        let mut entries = BTreeMap::new();
        flatten("", &table, &mut entries)?;
        Ok(Self {
            entries: Arc::new(entries),
        })
    }

    /// The text for `key` with `{name}` placeholders replaced. Placeholders
    /// without an argument stay as they are.
    pub fn format(&self, key: &str, args: &[(&str, String)]) -> Option<String> {
        let template = self.entries.get(key)?;
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match args.iter().find(|(arg, _)| *arg == name) {
                        Some((_, value)) => out.push_str(value),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Some(out)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(text) => {
                out.insert(full, text.clone());
            }
            toml::Value::Table(inner) => flatten(&full, inner, out)?,
            _ => bail!("{full} must be a string"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_fills_placeholders() {
        let strings = Strings::parse("[a]\nb = \"hola {name}, {missing}\"").unwrap();
        assert_eq!(
            strings.format("a.b", &[("name", "Ana".into())]).unwrap(),
            "hola Ana, {missing}"
        );
        assert!(strings.format("a.c", &[]).is_none());
    }
}
