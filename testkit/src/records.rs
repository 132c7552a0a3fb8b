//! Events with the evidence each source records, for tests that put a number's record in place
//! through the store's own writes (`Store::record`), never as hand-made items.

use shared::domain::event::{Event, EventKind};
use shared::domain::inbound::{Api, Encoding};
use shared::domain::msisdn::Msisdn;
use shared::domain::origin::{InboundMessage, Origin, WebsiteConsent};
use shared::domain::timestamp;
use time::OffsetDateTime;

/// An inbound SMS as the webhook records it (`text` matched as `keyword`).
pub fn message(message_id: &str, keyword: &str, text: &str) -> Origin {
    Origin::Message(InboundMessage {
        message_id: message_id.into(),
        short_code: "16105553939".into(),
        keyword: Some(keyword.into()),
        phrase: None,
        clarifies: None,
        confirms: None,
        language: None,
        text: text.into(),
        api: Api::Sms,
        encoding: Encoding::GetQuery,
        message_timestamp: None,
        extra: Default::default(),
    })
}

/// A consent on the website as `POST /resubscribe` records it.
pub fn website_consent(captured_at: OffsetDateTime) -> Origin {
    Origin::Website(WebsiteConsent {
        consent_source: "preferences-page".into(),
        consent_captured_at: timestamp::format(captured_at),
        consent_ip: None,
        consent_user_agent: None,
        consent_wording: None,
        provider: Some("self-managed".into()),
        provider_response: None,
        extra: Default::default(),
    })
}

/// `kind` for `msisdn` at `at`, with `origin`.
pub fn event(
    msisdn: &Msisdn,
    kind: EventKind,
    id: &str,
    at: OffsetDateTime,
    origin: Origin,
) -> Event {
    Event {
        msisdn: msisdn.clone(),
        kind,
        event_id: id.into(),
        occurred_at: at,
        received_at: timestamp::now(),
        origin,
        scopes: vec![shared::domain::program::Scope::Every],
    }
}

/// A STOP texted at `at` (event id `sms:<id>`).
pub fn stop(msisdn: &Msisdn, id: &str, at: OffsetDateTime) -> Event {
    event(
        msisdn,
        EventKind::OptOut,
        &format!("sms:{id}"),
        at,
        message(id, "STOP", "STOP"),
    )
}

/// A resubscribe on the website at `at` (event id `resub:<id>`).
pub fn resubscribe(msisdn: &Msisdn, id: &str, at: OffsetDateTime) -> Event {
    event(
        msisdn,
        EventKind::Resubscribe,
        &format!("resub:{id}"),
        at,
        website_consent(at),
    )
}

/// An open review item as the webhook would open it for `text` (its `cue`) from `digits`,
/// received at `received_at` (which sets its due day).
pub fn open_review(
    digits: &str,
    message_id: &str,
    text: &str,
    cue: &str,
    received_at: OffsetDateTime,
) -> shared::domain::review::Review {
    use shared::domain::review::{self, Review, ReviewStatus};
    let n = crate::msisdn(digits);
    let event_id = format!("sms:{message_id}");
    Review {
        id: review::review_id(&n, &event_id),
        msisdn: n,
        status: ReviewStatus::Open,
        due: review::Due::Day(review::due_date(received_at).expect("a due date")),
        cue: cue.into(),
        text: text.into(),
        message_id: message_id.into(),
        message_event_id: event_id,
        short_code: "16105553939".into(),
        message_at: received_at,
        received_at,
        resolution: None,
    }
}
