//! Where an event came from and the evidence it carries: a history entry's `source` and
//! `details`, one type per source, shared by every writer and reader so a fact has one name.
//! Strings as written; fields another version wrote are kept in `extra`.

pub use crate::domain::consent::ConsentEvidence;
use crate::domain::inbound::{Api, Encoding};
use crate::domain::review::Decision;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SHORT_CODE_API: &str = "short-code-api";
/// An older name of it, read as [`SHORT_CODE_API`].
const LEGACY_SHORT_CODE_API: &str = "vonage-us-short-code";

pub type Extra = BTreeMap<String, String>;

/// The detail naming the API key whose call wrote an event.
pub const API_KEY_DETAIL: &str = "api_key";

/// Read through [`Stored`]: one plain map read per item, then the source's own struct, so the
/// typed reads are compiled once rather than once per deserializer (bootstrap size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", content = "details", from = "Stored")]
pub enum Origin {
    /// An inbound SMS (a keyword, a revocation phrase, HELP, an opt-in word) through the webhook.
    #[serde(rename = "webhook")]
    Message(InboundMessage),
    /// Consent given on the website (`POST /resubscribe`).
    #[serde(rename = "website")]
    Website(WebsiteConsent),
    /// An opt-out that reached the company another way (`POST /opt-outs`).
    #[serde(rename = "api")]
    Api(OptOutReport),
    /// A person's decision on a review item.
    #[serde(rename = "review")]
    Review(ReviewDecision),
    /// An entry of Vonage's opt-out list (reconciliation).
    #[serde(rename = "vonage-sync")]
    VonageSync(VonageListEntry),
    /// A row of an imported file.
    #[serde(rename = "import")]
    Import(ImportedRow),
    /// Vonage's answer to an opt-in by text: the person's message and what Vonage said.
    #[serde(rename = "sms-opt-in")]
    OptInAnswer(OptInAnswer),
    /// A state written before programs existed, assigned to a program (`optout-admin migrate`).
    #[serde(rename = "migration")]
    Migration(StateMoved),
    /// A consent a sender reported (`POST /consents`) or imported, with its evidence.
    #[serde(rename = "consent")]
    Consent(ConsentEvidence),
    /// Any other source (written by another version or a test), as stored.
    #[serde(untagged)]
    Other {
        source: String,
        #[serde(default)]
        details: Extra,
    },
}

/// `source` and `details` as stored, before they are read as a source's own struct.
#[derive(Deserialize)]
pub struct Stored {
    pub source: String,
    #[serde(default)]
    pub details: Extra,
}

impl From<Stored> for Origin {
    /// A known source whose details do not read as its struct is kept as stored, not refused.
    fn from(stored: Stored) -> Origin {
        fn read<T: serde::de::DeserializeOwned>(details: &Extra) -> Option<T> {
            let pairs = details.iter().map(|(k, v)| (k.as_str(), Detail(v)));
            T::deserialize(serde::de::value::MapDeserializer::new(pairs)).ok()
        }
        let d = &stored.details;
        let typed = match stored.source.as_str() {
            "webhook" => read(d).map(Origin::Message),
            "website" => read(d).map(Origin::Website),
            "api" => read(d).map(Origin::Api),
            "review" => read(d).map(Origin::Review),
            "vonage-sync" => read(d).map(Origin::VonageSync),
            "import" => read(d).map(Origin::Import),
            "sms-opt-in" => read(d).map(Origin::OptInAnswer),
            "migration" => read(d).map(Origin::Migration),
            "consent" => read(d).map(Origin::Consent),
            _ => None,
        };
        typed.unwrap_or(Origin::Other {
            source: stored.source,
            details: stored.details,
        })
    }
}

/// One stored detail: a string, read as an optional field or an enum's name where asked.
struct Detail<'a>(&'a str);

impl<'de> serde::Deserializer<'de> for Detail<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_str(self.0)
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_some(self)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        use serde::de::IntoDeserializer;
        IntoDeserializer::<Self::Error>::into_deserializer(self.0)
            .deserialize_enum(name, variants, v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> serde::de::IntoDeserializer<'de> for Detail<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl Origin {
    pub fn source(&self) -> &str {
        match self {
            Origin::Message(_) => "webhook",
            Origin::Website(_) => "website",
            Origin::Api(_) => "api",
            Origin::Review(_) => "review",
            Origin::VonageSync(_) => "vonage-sync",
            Origin::Import(_) => "import",
            Origin::OptInAnswer(_) => "sms-opt-in",
            Origin::Migration(_) => "migration",
            Origin::Consent(_) => "consent",
            Origin::Other { source, .. } => source,
        }
    }

    /// The details alone, as JSON (an object; empty when there are none).
    pub fn details(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => map.remove("details").unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }

    /// Record the API key (its name, never the key) whose call wrote this event, in the
    /// evidence as `api_key`.
    pub fn record_caller(&mut self, key_name: &str) {
        let extra = match self {
            Origin::Website(c) => &mut c.extra,
            Origin::Api(r) => &mut r.extra,
            Origin::Review(d) => &mut d.extra,
            Origin::Consent(c) => &mut c.extra,
            _ => return,
        };
        extra.insert(API_KEY_DETAIL.into(), key_name.into());
    }

    /// The person's own message, for an event that came in by SMS.
    pub fn message(&self) -> Option<&InboundMessage> {
        match self {
            Origin::Message(m) => Some(m),
            Origin::OptInAnswer(a) => Some(&a.message),
            _ => None,
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub message_id: String,
    /// The number or short code the person texted (replies go out from it).
    pub short_code: String,
    /// The keyword it matched (canonical, upper case), or the revocation phrase.
    pub keyword: Option<String>,
    pub phrase: Option<String>,
    /// For a program's keep keyword: the revoke-all opt-out it answers (its event id).
    pub clarifies: Option<String>,
    /// For a YES that confirms a join by text: the join message's event id (the request).
    pub confirms: Option<String>,
    /// The language of the matched keyword or phrase, when not English: its reply's language.
    pub language: Option<crate::domain::language::Language>,
    /// The first 160 characters.
    pub text: String,
    pub api: Api,
    pub encoding: Encoding,
    /// The message's own time, when Vonage gave one.
    pub message_timestamp: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Consent to be texted again, as the website backend reported it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebsiteConsent {
    pub consent_source: String,
    pub consent_captured_at: String,
    pub consent_ip: Option<String>,
    pub consent_user_agent: Option<String>,
    pub consent_wording: Option<String>,
    /// The provider mode that cleared the block ([`SHORT_CODE_API`], `opt-out-assist`,
    /// `self-managed`), and Vonage's confirmation (JSON) when it was asked.
    #[serde(default, deserialize_with = "provider_name")]
    pub provider: Option<String>,
    pub provider_response: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An opt-out reported through the API: how it reached the company.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutReport {
    pub evidence_source: String,
    pub channel: String,
    pub captured_at: String,
    pub agent: Option<String>,
    pub note: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A person's decision on a review item, with the message it was about.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewDecision {
    pub review_id: String,
    pub decision: Decision,
    pub decided_by: String,
    pub note: Option<String>,
    pub cue: String,
    pub message_id: String,
    pub message_event_id: String,
    pub short_code: String,
    pub text: String,
    pub message_received_at: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What Vonage's opt-out list said of the number.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VonageListEntry {
    pub vonage_opt_out_date: Option<String>,
    /// `true` or `false`, as Vonage's list said.
    pub vonage_opt_in: String,
    pub vonage_opt_in_date: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where an imported opt-out came from.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedRow {
    pub file: String,
    pub line: String,
    /// The `source` column of the file, if it had one.
    pub original_source: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Vonage's answer to an opt-in by text (short-code-api mode): the person's message, the request
/// it answers, and the confirmation or the refusal.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptInAnswer {
    #[serde(flatten)]
    pub message: InboundMessage,
    /// The opt-in request's event id.
    pub opt_in_request: String,
    #[serde(default, deserialize_with = "provider_name")]
    pub provider: Option<String>,
    /// Vonage's confirmation (JSON).
    pub provider_response: Option<String>,
    /// Vonage's refusal (`HTTP <status>: <detail>`).
    pub provider_refusal: Option<String>,
}

/// A state item moved from one scope to another: the event it held (whose own entry stays as
/// written), and where it was kept before and is now.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMoved {
    pub moved_event_id: String,
    /// `ALL`: kept for every program, as everything written before programs existed.
    pub from_scope: String,
    pub to_scope: String,
    #[serde(flatten)]
    pub extra: Extra,
}

fn provider_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = Option::<String>::deserialize(d)?;
    Ok(name.map(|n| match n.as_str() {
        LEGACY_SHORT_CODE_API => SHORT_CODE_API.to_owned(),
        _ => n,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message() -> InboundMessage {
        InboundMessage {
            message_id: "0A00".into(),
            short_code: "16105553939".into(),
            keyword: Some("STOP".into()),
            phrase: None,
            clarifies: None,
            confirms: None,
            language: None,
            text: "stop".into(),
            api: Api::Sms,
            encoding: Encoding::GetQuery,
            message_timestamp: None,
            extra: Extra::new(),
        }
    }

    #[test]
    fn each_source_reads_back_as_written_and_unknown_ones_as_stored() {
        let origins = [
            Origin::Message(message()),
            Origin::OptInAnswer(OptInAnswer {
                message: message(),
                opt_in_request: "sms:0A00".into(),
                provider: Some(SHORT_CODE_API.into()),
                provider_response: None,
                provider_refusal: Some("HTTP 400: no".into()),
            }),
            Origin::Website(WebsiteConsent {
                consent_source: "prefs".into(),
                consent_captured_at: "2026-11-01T10:00:00.000Z".into(),
                consent_ip: Some("192.0.2.1".into()),
                consent_user_agent: None,
                consent_wording: None,
                provider: Some(SHORT_CODE_API.into()),
                provider_response: None,
                extra: Extra::new(),
            }),
            Origin::Api(OptOutReport {
                evidence_source: "support".into(),
                channel: "email".into(),
                captured_at: "2026-11-01T10:00:00.000Z".into(),
                agent: None,
                note: Some("asked by mail".into()),
                extra: Extra::from([("later".into(), "field".into())]),
            }),
            Origin::Review(ReviewDecision {
                review_id: "r1".into(),
                decision: Decision::NotRevocation,
                decided_by: "jane".into(),
                note: None,
                cue: "unsubscribe".into(),
                message_id: "0A00".into(),
                message_event_id: "sms:0A00".into(),
                short_code: "16105553939".into(),
                text: "please unsubscribe my friend".into(),
                message_received_at: "2026-11-01T10:00:00.000Z".into(),
                extra: Extra::new(),
            }),
            Origin::VonageSync(VonageListEntry {
                vonage_opt_out_date: Some("2026-10-01".into()),
                vonage_opt_in: "false".into(),
                vonage_opt_in_date: None,
                extra: Extra::new(),
            }),
            Origin::Import(ImportedRow {
                file: "old.csv".into(),
                line: "2".into(),
                original_source: None,
                extra: Extra::new(),
            }),
            Origin::Migration(StateMoved {
                moved_event_id: "sms:0A00".into(),
                from_scope: "ALL".into(),
                to_scope: "alerts".into(),
                extra: Extra::new(),
            }),
            Origin::Other {
                source: "test".into(),
                details: Extra::from([("a".into(), "b".into())]),
            },
        ];
        let mut sources: Vec<&str> = origins.iter().map(Origin::source).collect();
        sources.dedup();
        assert_eq!(
            sources.len(),
            origins.len(),
            "one of each source: {sources:?}"
        );
        for origin in origins {
            let json = serde_json::to_value(&origin).unwrap_or_default();
            assert_eq!(json["source"], origin.source(), "{json}");
            let back: Result<Origin, _> = serde_json::from_value(json.clone());
            assert_eq!(back.ok(), Some(origin), "{json}");
        }
        let message = serde_json::to_value(Origin::Message(message())).unwrap_or_default();
        assert_eq!(
            message,
            json!({"source": "webhook", "details": {"message_id": "0A00", "short_code": "16105553939",
                "keyword": "STOP", "text": "stop", "api": "sms-api", "encoding": "get-query"}})
        );
    }

    #[test]
    fn fields_of_other_versions_are_kept_and_the_legacy_provider_name_is_read_as_today() {
        let stored = json!({"source": "website", "details": {"consent_source": "prefs",
            "consent_captured_at": "2026-11-01T10:00:00.000Z", "provider": "vonage-us-short-code",
            "future_field": "x"}});
        let origin: Option<Origin> = serde_json::from_value(stored).ok();
        let Some(Origin::Website(consent)) = origin else {
            panic!("{origin:?}");
        };
        assert_eq!(consent.provider.as_deref(), Some(SHORT_CODE_API));
        assert_eq!(
            consent.extra.get("future_field").map(String::as_str),
            Some("x")
        );
        // A known source whose details miss a required field is kept as stored, not refused.
        let odd = json!({"source": "api", "details": {"channel": "email"}});
        let origin: Option<Origin> = serde_json::from_value(odd).ok();
        assert!(
            matches!(&origin, Some(Origin::Other { source, details }) if source == "api" && details.len() == 1),
            "{origin:?}"
        );
    }
}
