//! Who may call which route of the website API (docs/decisions/0018-named-keys-and-roles.md):
//! named keys, each with a role, stored as the SHA-256 of the key (never the key itself), and
//! the routes each role grants. The old plain `API_KEYS` are admin keys.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

crate::named_enum! {
    /// What a key's holder does.
    #[strum(serialize_all = "snake_case")]
    pub enum Role {
        /// The company's website backend: resubscribes, consents, lookups, opt-outs by API.
        Website,
        /// A sending platform: the send-time check and the opted-out list.
        Sender,
        /// A compliance officer: review items, evidence files, lookups.
        Reviewer,
        /// Everything.
        Admin,
    }
}

/// A route of the website API as a role table names it (`METHOD /template`).
pub fn role_grants(role: Role, route: &str) -> bool {
    const WEBSITE: &[&str] = &[
        "POST /resubscribe",
        "POST /consents",
        "GET /subscriptions/{msisdn}",
        "POST /opt-outs",
    ];
    const SENDER: &[&str] = &["POST /eligibility", "GET /opt-outs"];
    const REVIEWER: &[&str] = &[
        "GET /reviews",
        "POST /reviews/{id}",
        "GET /subscriptions/{msisdn}/evidence",
        "GET /subscriptions/{msisdn}",
    ];
    match role {
        Role::Admin => true,
        Role::Website => WEBSITE.contains(&route),
        Role::Sender => SENDER.contains(&route),
        Role::Reviewer => REVIEWER.contains(&route),
    }
}

/// One key as `API_KEY_ROLES` lists it (and `optout-admin keys` writes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Who holds it (`website`, `braze-sender`, `jane.doe`): what logs and history name.
    pub name: String,
    pub role: Role,
    /// The key's SHA-256, lower-case hex.
    pub sha256: String,
}

/// The caller a key identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// Every key the API accepts.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    entries: Vec<KeyEntry>,
}

/// Why `API_KEYS` / `API_KEY_ROLES` are refused at cold start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeysError(String);

/// The SHA-256 of a key, as stored.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Keys {
    /// `API_KEY_ROLES` (a JSON list of [`KeyEntry`]) and the plain `API_KEYS` (comma-separated,
    /// each an admin key named `api-keys-<n>`). At least one key; names unique.
    pub fn new(roles: Option<&str>, plain: &[String]) -> Result<Self, KeysError> {
        let mut entries: Vec<KeyEntry> = match roles {
            None => Vec::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|e| KeysError(format!("API_KEY_ROLES: not a list of keys ({e})")))?,
        };
        for entry in &mut entries {
            entry.sha256 = entry.sha256.to_ascii_lowercase();
            let name_ok = (1..=64).contains(&entry.name.len())
                && entry
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
            let hash_ok =
                entry.sha256.len() == 64 && entry.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !name_ok || !hash_ok {
                return Err(KeysError(format!(
                    "API_KEY_ROLES: key {:?}: a name of 1 to 64 of A-Z a-z 0-9 . _ - @, and the key's SHA-256 in hex",
                    entry.name
                )));
            }
        }
        for (i, key) in plain.iter().filter(|k| !k.trim().is_empty()).enumerate() {
            entries.push(KeyEntry {
                name: format!("api-keys-{}", i + 1),
                role: Role::Admin,
                sha256: key_hash(key.trim()),
            });
        }
        let mut names = std::collections::HashSet::new();
        if let Some(twice) = entries.iter().find(|e| !names.insert(e.name.as_str())) {
            return Err(KeysError(format!(
                "API_KEY_ROLES: key name {} twice",
                twice.name
            )));
        }
        if entries.is_empty() {
            return Err(KeysError(
                "no API key: set API_KEY_ROLES (or API_KEYS)".into(),
            ));
        }
        Ok(Self { entries })
    }

    /// The caller `given` identifies. Every stored hash is compared, in constant time: timing
    /// says nothing about which key or how much of it matched.
    pub fn caller(&self, given: &[u8]) -> Option<Caller> {
        if given.is_empty() {
            return None;
        }
        let hash = hex::encode(Sha256::digest(given));
        let mut found = None;
        for entry in &self.entries {
            if bool::from(hash.as_bytes().ct_eq(entry.sha256.as_bytes())) {
                found = Some(Caller {
                    name: entry.name.clone(),
                    role: entry.role,
                });
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_by_its_hash_and_the_plain_keys_are_admins() {
        let roles = format!(
            r#"[{{"name": "website", "role": "website", "sha256": "{}"}},
                {{"name": "jane.doe", "role": "reviewer", "sha256": "{}"}}]"#,
            key_hash("w-key"),
            key_hash("j-key").to_uppercase()
        );
        let keys = Keys::new(Some(&roles), &["old-key".into()]).expect("keys");
        assert_eq!(keys.len(), 3);
        let caller = |k: &str| keys.caller(k.as_bytes()).map(|c| (c.name, c.role));
        assert_eq!(caller("w-key"), Some(("website".into(), Role::Website)));
        assert_eq!(caller("j-key"), Some(("jane.doe".into(), Role::Reviewer)));
        assert_eq!(caller("old-key"), Some(("api-keys-1".into(), Role::Admin)));
        assert_eq!(caller("nope"), None);
        assert_eq!(caller(""), None);
        assert!(Keys::new(None, &[]).is_err());
        assert!(Keys::new(Some("[]"), &[" ".into()]).is_err());
        assert!(Keys::new(
            Some(r#"[{"name": "x", "role": "god", "sha256": "00"}]"#),
            &[]
        )
        .is_err());
        let twice = format!(
            r#"[{{"name": "a", "role": "admin", "sha256": "{0}"}}, {{"name": "a", "role": "sender", "sha256": "{0}"}}]"#,
            key_hash("k")
        );
        assert!(Keys::new(Some(&twice), &[]).is_err());
    }

    #[test]
    fn roles_grant_their_routes() {
        assert!(role_grants(Role::Sender, "POST /eligibility"));
        assert!(!role_grants(Role::Sender, "POST /resubscribe"));
        assert!(role_grants(Role::Website, "POST /resubscribe"));
        assert!(!role_grants(Role::Website, "POST /reviews/{id}"));
        assert!(role_grants(Role::Reviewer, "POST /reviews/{id}"));
        assert!(!role_grants(Role::Reviewer, "POST /opt-outs"));
        assert!(role_grants(Role::Admin, "POST /reviews/{id}"));
    }
}
