//! `POST /opt-outs`: an opt-out that reached the company another way than a text, recorded at
//! once through the same newest-event-wins rule as a STOP, with the evidence in history. No
//! provider call and no reply text (docs/api.md).
//!
//! The required `Idempotency-Key` is claimed for the request's canonical body: the same key and
//! body again is a `duplicate`, the same key with another body 409. The event id comes from the
//! key, so a retry after a failure completes the same event.

use super::{captured_at, check_lengths, LogLine, WebsiteApi, BODY_LIMIT};
use crate::domain::event::{Event, EventKind, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::{OptOutReport, Origin};
use crate::domain::program::{Reach, Scope};
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;
/// Program ids one opt-out may name (openapi.yaml).
const MAX_PROGRAMS: usize = 100;
/// The idempotency item's sort key.
const SCOPE: &str = "OPT_OUT";

impl WebsiteApi {
    pub(super) async fn post_opt_out(
        &self,
        req: &Request,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let (request, keyed): (OptOutRequest, _) = idempotent_request(req)?;
        let msisdn = opt_out_number(&request.msisdn, self.default_region)?;
        log.msisdn = Some(msisdn.masked());
        let now = timestamp::now();
        let evidence = request.evidence.validate(now)?;
        let scopes = self.opt_out_scopes(request.programs.as_deref(), evidence.captured_at)?;

        let mut event = opt_out_event(&msisdn, &evidence, &keyed.key_hash, scopes, now);
        let claim = self
            .store
            .claim_idempotency_key(SCOPE, &keyed.key_hash, &keyed.body_hash, &event.event_id)
            .await?;
        if claim == crate::adapters::store::idempotency::KeyClaim::Conflict {
            return Err(ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was used with another body; nothing was recorded",
            ));
        }
        if let Some(key) = &log.key {
            event.origin.record_caller(key);
        }
        // Recording is idempotent on the event id: a repeat is a duplicate.
        let outcome = self.store.record(&event).await?;
        log.outcome = Some(outcome);
        let state = self.store.state_in(&msisdn, &event.scopes).await?;
        Ok(json_response(
            StatusCode::OK,
            &OptOutReply {
                msisdn: msisdn.as_str(),
                status: state.as_ref().map_or(Status::OptedOut, |s| s.status),
                since: state.map(|s| timestamp::format(s.since)),
                outcome: outcome.as_str(),
                event_id: &event.event_id,
            },
        ))
    }
}

impl WebsiteApi {
    /// What an opt-out naming `programs` (absent: every program) ends, dated `at`: each named
    /// program as if texted, so revoke-all applies from its date.
    pub(super) fn opt_out_scopes(
        &self,
        programs: Option<&[String]>,
        at: OffsetDateTime,
    ) -> Result<Vec<Scope>, ApiError> {
        let Some(ids) = programs else {
            return Ok(vec![Scope::Every]);
        };
        if ids.is_empty() || ids.len() > MAX_PROGRAMS {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("programs: 1 to {MAX_PROGRAMS} program ids, or leave it out to end every program"),
            ));
        }
        let mut scopes = Vec::new();
        for id in ids {
            let program = self.program(Some(id))?;
            for scope in
                self.programs
                    .opt_out_scopes(program, Reach::ThisProgram, self.revoke_all, at)
            {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        Ok(scopes)
    }
}

/// A write's `Idempotency-Key` and body, as hashes: the key's (never stored itself) and the
/// canonical body's (the same request however it was spaced or ordered).
pub(super) struct Keyed {
    pub key_hash: String,
    pub body_hash: String,
}

/// The typed body of a write that needs an `Idempotency-Key`, and its [`Keyed`] hashes.
pub(super) fn idempotent_request<T: serde::de::DeserializeOwned>(
    req: &Request,
) -> Result<(T, Keyed), ApiError> {
    let key = idempotency_key(req)?;
    let body = req.body().as_ref();
    if body.len() > BODY_LIMIT {
        return Err(ApiError::payload_too_large(BODY_LIMIT));
    }
    // The typed parse first: it refuses repeated and unknown fields, which a plain JSON value
    // would silently accept.
    let request: T = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
    let canonical: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
    Ok((
        request,
        Keyed {
            key_hash: hex::encode(Sha256::digest(key.as_bytes())),
            body_hash: hex::encode(Sha256::digest(canonical_json(&canonical).as_bytes())),
        },
    ))
}

/// JSON with every object's keys sorted, recursively: the same request however it was spaced
/// or ordered. (Not `Value::to_string`: with serde_json's `preserve_order`, which any crate in
/// the build may turn on, that keeps the sender's key order.)
fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn idempotency_key(req: &Request) -> Result<String, ApiError> {
    let bad = |message: &str| Err(ApiError::new(ErrorCode::InvalidParameter, message));
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return bad("the Idempotency-Key header is required (a unique value per request, reused on retries)");
    };
    let value = value.as_bytes();
    if value.is_empty()
        || value.len() > MAX_KEY_LEN
        || !value.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return bad("Idempotency-Key must be 1 to 255 visible ASCII characters");
    }
    Ok(String::from_utf8_lossy(value).into_owned())
}

/// Any number the webhook could record: the strict reading first, else the provider form,
/// because refusing an opt-out is the unsafe direction.
fn opt_out_number(input: &str, region: crate::domain::msisdn::Region) -> Result<Msisdn, ApiError> {
    match Msisdn::parse(input, region) {
        Ok(m) => Ok(m),
        Err(strict) => {
            let normalized: String = input.nfkc().collect();
            Msisdn::from_provider(&normalized).map_err(|_| strict.into())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptOutRequest {
    msisdn: String,
    evidence: EvidenceInput,
    /// The programs it ends; absent, every program.
    #[serde(default)]
    programs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceInput {
    source: String,
    captured_at: String,
    channel: String,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

struct OptOutEvidence {
    source: String,
    captured_at: OffsetDateTime,
    channel: String,
    agent: Option<String>,
    note: Option<String>,
}

impl EvidenceInput {
    fn validate(self, now: OffsetDateTime) -> Result<OptOutEvidence, ApiError> {
        let bad = |message: String| Err(ApiError::new(ErrorCode::InvalidEvidence, message));
        let source = self.source.trim().to_string();
        if source.is_empty() {
            return bad("evidence.source is required".into());
        }
        let channel = self.channel.trim().to_ascii_lowercase();
        if channel.is_empty()
            || channel.len() > 32
            || !channel
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return bad(
                "evidence.channel is required: a short word such as web, email, phone or support"
                    .into(),
            );
        }
        check_lengths(
            ErrorCode::InvalidEvidence,
            &[
                ("evidence.source", Some(&source), 200),
                ("evidence.agent", self.agent.as_ref(), 200),
                ("evidence.note", self.note.as_ref(), 2000),
            ],
        )?;
        let captured_at = captured_at(
            ErrorCode::InvalidEvidence,
            "evidence.captured_at",
            &self.captured_at,
            now,
        )?;
        // An old opt-out reported late is still recorded (newest event wins decides), but a
        // date before the program could exist is a mistake.
        if captured_at.year() < 2000 {
            return bad("evidence.captured_at is before the year 2000".into());
        }
        let blank_to_none =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(OptOutEvidence {
            source,
            captured_at: captured_at.min(now),
            channel,
            agent: blank_to_none(self.agent),
            note: blank_to_none(self.note),
        })
    }
}

/// Dated when the person opted out.
fn opt_out_event(
    msisdn: &Msisdn,
    evidence: &OptOutEvidence,
    key_hash: &str,
    scopes: Vec<Scope>,
    now: OffsetDateTime,
) -> Event {
    Event {
        scopes,
        msisdn: msisdn.clone(),
        kind: EventKind::OptOut,
        event_id: format!("api:{}", &key_hash[..32]),
        occurred_at: evidence.captured_at,
        received_at: now,
        origin: Origin::Api(OptOutReport {
            evidence_source: evidence.source.clone(),
            channel: evidence.channel.clone(),
            captured_at: timestamp::format(evidence.captured_at),
            agent: evidence.agent.clone(),
            note: evidence.note.clone(),
            extra: Default::default(),
        }),
    }
}

#[derive(Serialize)]
struct OptOutReply<'a> {
    msisdn: &'a str,
    /// The number's state after recording (`subscribed` when a newer resubscribe holds it).
    status: Status,
    since: Option<String>,
    outcome: &'static str,
    event_id: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn evidence(channel: &str, captured_at: &str) -> EvidenceInput {
        EvidenceInput {
            source: "unsubscribe-link".into(),
            captured_at: captured_at.into(),
            channel: channel.into(),
            agent: Some("  ".into()),
            note: None,
        }
    }

    #[test]
    fn evidence_rules() {
        let now = datetime!(2026-11-26 10:00:00 UTC);
        let ok = evidence("Email", "2026-11-20T10:00:00Z")
            .validate(now)
            .unwrap();
        assert_eq!(ok.channel, "email");
        assert_eq!(ok.agent, None);
        // Old opt-outs are recorded; the future (beyond skew) and nonsense are not.
        assert!(evidence("web", "2019-01-01T00:00:00Z")
            .validate(now)
            .is_ok());
        assert!(evidence("web", "1999-12-31T23:59:59Z")
            .validate(now)
            .is_err());
        assert!(evidence("web", "2026-11-26T10:06:00Z")
            .validate(now)
            .is_err());
        let skewed = evidence("web", "2026-11-26T10:04:00Z")
            .validate(now)
            .unwrap();
        assert_eq!(skewed.captured_at, now);
        for bad in ["", "e mail", "e-mail!", &"x".repeat(33)] {
            assert!(
                evidence(bad, "2026-11-20T10:00:00Z").validate(now).is_err(),
                "{bad:?}"
            );
        }
        assert!(evidence("web", "yesterday").validate(now).is_err());
    }

    #[test]
    fn canonical_json_ignores_spacing_and_key_order() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": {"y": 1, "x": [2, {"q": 1, "p": null}]}, "a": "é"}"#)
                .unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":"é","b":{"x":[2,{"p":null,"q":1}],"y":1}}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&b),
            r#"{"a":"é","b":{"x":[2,{"p":null,"q":1}],"y":1}}"#
        );
    }

    #[test]
    fn numbers_the_webhook_could_record_are_accepted() {
        let us = crate::domain::msisdn::Region::US;
        assert_eq!(
            opt_out_number("+1 (415) 555-0100", us).unwrap().as_str(),
            "14155550100"
        );
        // Vonage's documentation example, invalid for libphonenumber, recordable by the webhook.
        assert_eq!(
            opt_out_number("15559301529", us).unwrap().as_str(),
            "15559301529"
        );
        assert!(opt_out_number("call me", us).is_err());
        assert!(opt_out_number("", us).is_err());
    }
}
