//! `optout-admin keys`: the website API's named keys (`API_KEY_ROLES`), kept in a JSON file the
//! operator then puts in the deployment's secret (docs/operations.md "API keys"). Only each
//! key's SHA-256 is stored; a new key is printed once, when it is made.

use serde::Serialize;
use shared::domain::access::{key_hash, KeyEntry, Keys, Role};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeysFileError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("cannot write {0}: {1}")]
    Write(String, String),
    #[error("{0}")]
    Invalid(String),
    #[error("no random source: {0}")]
    Random(String),
}

/// The keys in `file` (the shape `API_KEY_ROLES` reads; none when it does not exist yet), checked as the API checks them.
pub fn read(file: &Path) -> Result<Vec<KeyEntry>, KeysFileError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(KeysFileError::Read(
                file.display().to_string(),
                e.to_string(),
            ))
        }
    };
    let keys: Vec<KeyEntry> = serde_json::from_str(&text)
        .map_err(|e| KeysFileError::Invalid(format!("{}: {e}", file.display())))?;
    if !keys.is_empty() {
        Keys::new(Some(&text), &[]).map_err(|e| KeysFileError::Invalid(e.to_string()))?;
    }
    Ok(keys)
}

fn write(file: &Path, keys: &[KeyEntry]) -> Result<(), KeysFileError> {
    let text =
        serde_json::to_string_pretty(keys).map_err(|e| KeysFileError::Invalid(e.to_string()))?;
    std::fs::write(file, text + "\n")
        .map_err(|e| KeysFileError::Write(file.display().to_string(), e.to_string()))
}

/// A new key: 32 random bytes from the operating system, hex.
pub fn new_key() -> Result<String, KeysFileError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| KeysFileError::Random(e.to_string()))?;
    Ok(format!("ok_{}", hex_encode(&bytes)))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Add a key named `name` with `role` to `file`; the key itself is returned (to print once).
pub fn add(file: &Path, name: &str, role: Role) -> Result<String, KeysFileError> {
    let mut keys = read(file)?;
    if keys.iter().any(|k| k.name == name) {
        return Err(KeysFileError::Invalid(format!(
            "a key named {name} exists; revoke it first, or choose another name"
        )));
    }
    let key = new_key()?;
    keys.push(KeyEntry {
        name: name.to_owned(),
        role,
        sha256: key_hash(&key),
    });
    // Checked as the API will check it (the name's characters, no name twice).
    let text = serde_json::to_string(&keys).map_err(|e| KeysFileError::Invalid(e.to_string()))?;
    Keys::new(Some(&text), &[]).map_err(|e| KeysFileError::Invalid(e.to_string()))?;
    write(file, &keys)?;
    Ok(key)
}

/// Remove the key named `name` from `file`; whether there was one.
pub fn revoke(file: &Path, name: &str) -> Result<bool, KeysFileError> {
    let mut keys = read(file)?;
    let before = keys.len();
    keys.retain(|k| k.name != name);
    if keys.len() == before {
        return Ok(false);
    }
    write(file, &keys)?;
    Ok(true)
}

/// What `keys list` shows: names and roles, never a hash.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub name: String,
    pub role: Role,
}

pub fn list(file: &Path) -> Result<Vec<Listed>, KeysFileError> {
    Ok(read(file)?
        .into_iter()
        .map(|k| Listed {
            name: k.name,
            role: k.role,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_revoke_and_the_key_is_only_returned() {
        let file = std::env::temp_dir().join(format!("keys-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let key = add(&file, "website", Role::Website).expect("add");
        assert!(key.starts_with("ok_") && key.len() == 67, "{key}");
        let text = std::fs::read_to_string(&file).expect("file");
        assert!(
            !text.contains(&key),
            "the file holds the hash, never the key"
        );
        let keys = Keys::new(Some(&text), &[]).expect("the API reads it");
        let caller = keys.caller(key.as_bytes()).expect("the key works");
        assert_eq!(
            (caller.name.as_str(), caller.role),
            ("website", Role::Website)
        );
        assert!(add(&file, "website", Role::Admin).is_err(), "a name once");
        add(&file, "jane.doe", Role::Reviewer).expect("add");
        let names: Vec<String> = list(&file)
            .expect("list")
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, ["website", "jane.doe"]);
        assert!(revoke(&file, "website").expect("revoke"));
        assert!(!revoke(&file, "website").expect("revoke"));
        let text = std::fs::read_to_string(&file).expect("file");
        let keys = Keys::new(Some(&text), &[]).expect("still read");
        assert_eq!(
            keys.caller(key.as_bytes()),
            None,
            "a revoked key is refused"
        );
        assert!(add(&file, "bad name", Role::Admin).is_err());
        let _ = std::fs::remove_file(&file);
    }
}
