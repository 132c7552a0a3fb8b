//! The consent ledger (docs/decisions/0016-consent-ledger.md): how a consent was given, the
//! evidence it carries, a join by text waiting for its YES, and what the record says about a
//! given day. Consents go through the same newest-event-wins rule as opt-outs
//! ([`crate::domain::event`]): a consent is an event that sets `subscribed`.

use crate::domain::event::{EventKind, HistoryEntry, Status};
use crate::domain::origin::{Extra, Origin};
use crate::domain::program::{Program, Scope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};

crate::named_enum! {
    /// How the person gave consent.
    #[strum(serialize_all = "snake_case")]
    pub enum ConsentChannel {
        /// A form on a web page (its URL and the person's IP are the evidence).
        WebForm,
        /// A keyword texted to the program's number (the person's own messages are).
        Keyword,
        /// A signed paper form, entered by an agent.
        Paper,
        /// Said to an agent on the phone.
        Phone,
        /// Carried over from another platform's records (`optout-admin import-consents`).
        Import,
    }
}

impl ConsentChannel {
    /// The channel of a consent whose state item predates the `channel` attribute: what its
    /// source says (a resubscribe on the website, a START by text, an imported row).
    pub fn of_source(source: &str) -> Option<ConsentChannel> {
        match source {
            "website" => Some(ConsentChannel::WebForm),
            crate::domain::replies::SOURCE_SMS | crate::domain::replies::SOURCE_SMS_OPT_IN => {
                Some(ConsentChannel::Keyword)
            }
            "import" => Some(ConsentChannel::Import),
            _ => None,
        }
    }

    /// The channel of an event that sets `subscribed` (a consent, a resubscribe), if known.
    pub fn of_origin(kind: EventKind, origin: &Origin) -> Option<ConsentChannel> {
        if kind.status() != Some(Status::Subscribed) {
            return None;
        }
        match origin {
            Origin::Consent(consent) => Some(consent.channel),
            other => Self::of_source(other.source()),
        }
    }
}

/// The words that confirm a join by text (double opt-in), as the prompt asks for them.
pub const CONFIRM_WORDS: [&str; 2] = ["YES", "Y"];

/// Whether the whole of `text` is a confirmation word.
pub fn is_confirmation(text: &str) -> bool {
    let word = crate::domain::keywords::match_key(text).to_uppercase();
    CONFIRM_WORDS.contains(&word.as_str())
}

/// A consent as a sender reported it (`POST /consents`, `optout-admin import-consents`): the
/// evidence a court asks for. The consent language is its text, or its SHA-256 and the version
/// id of a text the sender keeps.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEvidence {
    pub channel: ConsentChannel,
    pub captured_at: String,
    pub wording: Option<String>,
    pub wording_sha256: Option<String>,
    pub wording_version: Option<String>,
    /// The page or form the consent was given on.
    pub url: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The agent who took it (phone, paper).
    pub agent_id: Option<String>,
    /// Where an imported consent was read (`<file>:<line>`), and the platform it came from.
    pub imported_from: Option<String>,
    /// The provider mode that cleared a block, when this consent ended an opt-out, and
    /// Vonage's confirmation (JSON) when it was asked.
    pub provider: Option<String>,
    pub provider_response: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Limits of a consent's fields, in characters.
const LIMITS: [(&str, usize); 6] = [
    ("wording", 4000),
    ("wording_version", 100),
    ("url", 2000),
    ("ip", 64),
    ("user_agent", 1024),
    ("agent_id", 200),
];

impl ConsentEvidence {
    /// What every consent needs however it arrives (`POST /consents`, an import): the wording
    /// shown (its text, or its SHA-256 with a version id), a web form's URL and IP, the agent of
    /// a paper or phone consent; each field within its limit. Blank fields count as absent.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            &self.wording,
            &self.wording_version,
            &self.url,
            &self.ip,
            &self.user_agent,
            &self.agent_id,
        ];
        for ((name, max), value) in LIMITS.iter().zip(fields) {
            if value.as_ref().is_some_and(|v| v.chars().count() > *max) {
                return Err(format!("{name} is longer than {max} characters"));
            }
        }
        if let Some(hash) = &self.wording_sha256 {
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("wording_sha256 must be 64 hexadecimal characters".into());
            }
        }
        if self.wording.is_none()
            && (self.wording_sha256.is_none() || self.wording_version.is_none())
        {
            return Err(
                "the wording shown is required: wording, or wording_sha256 with wording_version"
                    .into(),
            );
        }
        match self.channel {
            ConsentChannel::WebForm if self.url.is_none() || self.ip.is_none() => {
                return Err("a web_form consent needs url (the page or form) and ip".into())
            }
            ConsentChannel::Paper | ConsentChannel::Phone if self.agent_id.is_none() => {
                return Err("a paper or phone consent needs agent_id (who took it)".into())
            }
            _ => {}
        }
        if let Some(url) = &self.url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err("url must be an http or https URL".into());
            }
        }
        Ok(())
    }
}

impl ConsentEvidence {
    /// The evidence as the ledger keeps it for `program`: checked ([`ConsentEvidence::check`]);
    /// the wording's SHA-256 computed when only its text was given (and, both given, the one
    /// the other's); where the program registers its wordings, the version one of them and the
    /// wording that one.
    pub fn for_program(mut self, program: &Program) -> Result<Self, String> {
        self.check()?;
        if let Some(text) = &self.wording {
            let hash = hex::encode(Sha256::digest(text.as_bytes()));
            match &self.wording_sha256 {
                Some(given) if *given != hash => {
                    return Err("wording_sha256 is not the SHA-256 of wording".into())
                }
                _ => self.wording_sha256 = Some(hash),
            }
        }
        if program.consent_wordings.is_empty() {
            return Ok(self);
        }
        let registered: Vec<&str> = program
            .consent_wordings
            .keys()
            .map(String::as_str)
            .collect();
        let Some(version) = &self.wording_version else {
            return Err(format!(
                "wording_version is required: program {} registers its wordings ({})",
                program.id,
                registered.join(", ")
            ));
        };
        match program.consent_wordings.get(version) {
            None => Err(format!(
                "wording_version {version:?} is not one program {} registers ({})",
                program.id,
                registered.join(", ")
            )),
            Some(hash) if self.wording_sha256.as_ref() != Some(hash) => Err(format!(
                "the wording is not the text registered as {version:?} for program {}",
                program.id
            )),
            Some(_) => Ok(self),
        }
    }
}

/// A join by text waiting for its confirmation: the `JOIN` message's event, and until when a
/// YES counts.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRequest {
    pub program: crate::domain::program::ProgramId,
    /// The history entry of the join message (`sms:<id>`).
    pub request_event_id: String,
    pub requested_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl ConsentRequest {
    /// Whether a confirmation sent `at` still counts.
    pub fn open_at(&self, at: OffsetDateTime) -> bool {
        at >= self.requested_at && at <= self.expires_at
    }
}

/// The event id of the consent a confirmed join records: one per join, however many YES.
pub fn confirmed_event_id(request_event_id: &str) -> String {
    format!("consent:{request_event_id}")
}

/// What the record says about texting a number in a program on one day (UTC): the consent in
/// force, and any revocation up to the day's end (docs/api.md "Texted on day D").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayAnswer {
    #[serde(with = "crate::domain::timestamp::date")]
    pub day: Date,
    /// `subscribed` or `opted_out` at the day's start; `null` with no record.
    pub status_at_start: Option<Status>,
    /// Whether the record allowed texting the whole day: consent in force at its start and no
    /// revocation during it.
    pub consented_all_day: bool,
    /// The newest event setting `subscribed` before the day's end (the consent, with its
    /// evidence).
    pub consent: Option<HistoryEntry>,
    /// The newest opt-out before the day's end.
    pub revocation: Option<HistoryEntry>,
    /// Every event reaching the program during the day, oldest first.
    pub events_that_day: Vec<HistoryEntry>,
}

/// [`DayAnswer`] from a number's history (any order) for the program `scopes` reach.
pub fn texted_on(history: &[HistoryEntry], scopes: &[Scope], day: Date) -> DayAnswer {
    let start = day.midnight().assume_utc();
    // Saturating: 9999-12-31 is a valid day to ask about.
    let end = start.saturating_add(time::Duration::days(1));
    let reaching: Vec<&HistoryEntry> = history
        .iter()
        .filter(|e| e.kind.status().is_some() && e.scopes.iter().any(|s| scopes.contains(s)))
        .collect();
    // Newest-event-wins as of an instant: the greatest order among events up to it.
    let newest_before = |at: OffsetDateTime, status: Option<Status>| {
        reaching
            .iter()
            .filter(|e| e.occurred_at < at && (status.is_none() || e.kind.status() == status))
            .max_by(|a, b| a.order.cmp(&b.order))
            .map(|e| (*e).clone())
    };
    let at_start = newest_before(start, None);
    let status_at_start = at_start.as_ref().and_then(|e| e.kind.status());
    let mut events_that_day: Vec<HistoryEntry> = reaching
        .iter()
        .filter(|e| e.occurred_at >= start && e.occurred_at < end)
        .map(|e| (*e).clone())
        .collect();
    events_that_day.sort_by(|a, b| a.order.cmp(&b.order));
    let revoked_that_day = events_that_day
        .iter()
        .any(|e| e.kind.status() == Some(Status::OptedOut));
    DayAnswer {
        day,
        status_at_start,
        consented_all_day: status_at_start == Some(Status::Subscribed) && !revoked_that_day,
        consent: newest_before(end, Some(Status::Subscribed)),
        revocation: newest_before(end, Some(Status::OptedOut)),
        events_that_day,
    }
}

impl DayAnswer {
    /// The answer as lines of the evidence file's text form.
    pub fn render_text(&self, program: &str) -> String {
        use std::fmt::Write as _;
        let entry = |e: &Option<HistoryEntry>| match e {
            Some(e) => format!(
                "{} {} at {} (source {}, {})",
                e.kind.as_str(),
                e.event_id,
                crate::domain::timestamp::format(e.occurred_at),
                e.origin.source(),
                e.origin.details()
            ),
            None => "none".into(),
        };
        let mut out = String::new();
        let _ = writeln!(out, "Texted on {} ({program})?", self.day);
        let _ = writeln!(
            out,
            "  At the day's start: {}; consent in force all day: {}",
            self.status_at_start.map_or("no record", |s| s.as_str()),
            if self.consented_all_day { "yes" } else { "no" }
        );
        let _ = writeln!(out, "  Consent: {}", entry(&self.consent));
        let _ = writeln!(out, "  Revocation: {}", entry(&self.revocation));
        for e in &self.events_that_day {
            let _ = writeln!(out, "  That day: {}", entry(&Some(e.clone())));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Event;
    use crate::domain::msisdn::Msisdn;
    use crate::domain::program::ProgramId;
    use time::macros::{date, datetime};

    fn entry(kind: EventKind, at: OffsetDateTime, id: &str, scope: Scope) -> HistoryEntry {
        let event = Event {
            msisdn: Msisdn::from_provider("14155550100").unwrap(),
            kind,
            event_id: id.into(),
            occurred_at: at,
            received_at: at,
            origin: Origin::Other {
                source: "test".into(),
                details: Default::default(),
            },
            scopes: vec![scope.clone()],
        };
        HistoryEntry {
            event_id: id.into(),
            kind,
            occurred_at: at,
            received_at: at,
            origin: event.origin.clone(),
            applied: true,
            scopes: vec![scope],
            order: event.order(),
        }
    }

    #[test]
    fn the_day_answer_names_the_consent_in_force_and_any_revocation() {
        let alerts = Scope::Program(ProgramId::parse("alerts").unwrap());
        let deals = Scope::Program(ProgramId::parse("deals").unwrap());
        let reaching = [Scope::Every, Scope::ConsentRequired, alerts.clone()];
        let history = vec![
            entry(
                EventKind::Consent,
                datetime!(2026-11-01 10:00 UTC),
                "c1",
                alerts.clone(),
            ),
            entry(
                EventKind::OptOut,
                datetime!(2026-11-05 12:00 UTC),
                "s-deals",
                deals,
            ),
            entry(
                EventKind::OptOut,
                datetime!(2026-11-10 12:00 UTC),
                "s1",
                Scope::ConsentRequired,
            ),
            entry(
                EventKind::Help,
                datetime!(2026-11-10 13:00 UTC),
                "h",
                alerts,
            ),
        ];
        let before = texted_on(&history, &reaching, date!(2026 - 10 - 31));
        assert_eq!(before.status_at_start, None);
        assert!(!before.consented_all_day);
        assert!(before.consent.is_none());

        let during = texted_on(&history, &reaching, date!(2026 - 11 - 05));
        assert_eq!(during.status_at_start, Some(Status::Subscribed));
        assert!(
            during.consented_all_day,
            "another program's STOP is not ours"
        );
        assert_eq!(during.consent.map(|e| e.event_id).as_deref(), Some("c1"));
        assert!(during.revocation.is_none());

        let that_day = texted_on(&history, &reaching, date!(2026 - 11 - 10));
        assert_eq!(that_day.status_at_start, Some(Status::Subscribed));
        assert!(!that_day.consented_all_day);
        assert_eq!(
            that_day.revocation.map(|e| e.event_id).as_deref(),
            Some("s1")
        );
        assert_eq!(that_day.events_that_day.len(), 1, "HELP sets nothing");

        let last = texted_on(&history, &reaching, date!(9999 - 12 - 31));
        assert_eq!(
            last.status_at_start,
            Some(Status::OptedOut),
            "the last day reads"
        );

        let after = texted_on(&history, &reaching, date!(2026 - 11 - 11));
        assert_eq!(after.status_at_start, Some(Status::OptedOut));
        assert!(!after.consented_all_day);
        assert_eq!(after.consent.map(|e| e.event_id).as_deref(), Some("c1"));
    }

    #[test]
    fn a_program_that_registers_its_wordings_accepts_only_those() {
        let text = "Yes, text me Acme Alerts.";
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        let programs = crate::domain::program::Programs::parse(&format!(
            r#"[{{"id": "alerts", "name": "A", "consent_wordings": {{"v3": "{hash}"}}}},
               {{"id": "deals", "name": "D"}}]"#
        ))
        .expect("programs");
        let (alerts, deals) = (&programs.all()[0], &programs.all()[1]);
        let evidence =
            |wording: Option<&str>, sha: Option<&str>, version: Option<&str>| ConsentEvidence {
                channel: ConsentChannel::Keyword,
                captured_at: "2026-11-26T10:00:00.000Z".into(),
                wording: wording.map(str::to_owned),
                wording_sha256: sha.map(str::to_owned),
                wording_version: version.map(str::to_owned),
                url: None,
                ip: None,
                user_agent: None,
                agent_id: None,
                imported_from: None,
                provider: None,
                provider_response: None,
                extra: Default::default(),
            };
        let kept = evidence(Some(text), None, Some("v3")).for_program(alerts);
        assert_eq!(
            kept.map(|e| e.wording_sha256),
            Ok(Some(hash.clone())),
            "the text's hash is kept beside it"
        );
        assert!(evidence(None, Some(&hash), Some("v3"))
            .for_program(alerts)
            .is_ok());
        for refused in [
            evidence(Some("Another text"), None, Some("v3")),
            evidence(None, Some(&"0".repeat(64)), Some("v3")),
            evidence(None, Some(&hash), Some("v2")),
            evidence(Some(text), None, None),
            evidence(Some(text), Some(&"0".repeat(64)), Some("v3")),
        ] {
            assert!(refused.clone().for_program(alerts).is_err(), "{refused:?}");
        }
        // A program that registers none takes any version.
        assert!(evidence(None, Some(&"0".repeat(64)), Some("any"))
            .for_program(deals)
            .is_ok());
        assert!(crate::domain::program::Programs::parse(
            r#"[{"id": "a", "name": "A", "consent_wordings": {"v1": "not a hash"}}]"#
        )
        .is_err());
    }

    #[test]
    fn channels_and_confirmations() {
        for &channel in ConsentChannel::ALL {
            assert_eq!(ConsentChannel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(
            ConsentChannel::of_source("website"),
            Some(ConsentChannel::WebForm)
        );
        assert_eq!(
            ConsentChannel::of_source("webhook"),
            Some(ConsentChannel::Keyword)
        );
        assert_eq!(ConsentChannel::of_source("vonage-sync"), None);
        for yes in ["YES", "yes", " Yes! ", "y"] {
            assert!(is_confirmation(yes), "{yes}");
        }
        for no in ["yes please stop", "no", "yesterday", ""] {
            assert!(!is_confirmation(no), "{no}");
        }
        let request = ConsentRequest {
            program: ProgramId::parse("alerts").unwrap(),
            request_event_id: "sms:1".into(),
            requested_at: datetime!(2026-11-01 10:00 UTC),
            expires_at: datetime!(2026-11-02 10:00 UTC),
        };
        assert!(request.open_at(datetime!(2026-11-02 10:00 UTC)));
        assert!(!request.open_at(datetime!(2026-11-02 10:00:01 UTC)));
        assert!(!request.open_at(datetime!(2026-11-01 09:59 UTC)));
    }
}
