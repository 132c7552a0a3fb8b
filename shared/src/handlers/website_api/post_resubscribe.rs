//! `POST /resubscribe`: a person asked on the website to receive texts again. Checked consent,
//! then Vonage's manage call, then our record (the same "newest event wins" rule as a STOP).

use super::{captured_at, check_lengths, LogLine, WebsiteApi, BODY_LIMIT};
use crate::adapters::provider::Lift;
use crate::adapters::vonage::VonageError;
use crate::domain::deadline::Deadline;
use crate::domain::event::{Event, EventKind, Outcome, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::{Origin, WebsiteConsent};
use crate::domain::program::Scope;
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

impl WebsiteApi {
    /// The provider's side of ending an opt-out for `program` (Vonage's opt-in call in
    /// `short-code-api` mode), within the Lambda's time less what recording needs.
    pub(super) async fn lift_block(
        &self,
        req: &Request,
        program: &crate::domain::program::Program,
        msisdn: &Msisdn,
        log: &mut LogLine,
    ) -> Result<(Lift, crate::adapters::provider::ProviderMode), ApiError> {
        let deadline = provider_deadline(req);
        let provider_started = Instant::now();
        let provider = self.providers.for_program(program);
        let lift = provider.lift_block(msisdn, deadline).await;
        log.provider_ms = Some(provider_started.elapsed().as_secs_f64() * 1000.0);
        match lift {
            Ok(lift) => {
                if let Lift::Lifted(confirmation) = &lift {
                    log.provider_attempts = Some(confirmation.attempts);
                }
                Ok((lift, provider.mode()))
            }
            Err(err) => {
                if let VonageError::Unavailable { attempts, .. } = &err {
                    log.provider_attempts = Some(*attempts);
                }
                tracing::warn!(error = %err, msisdn = %msisdn, "Vonage did not confirm the opt-in");
                Err(err.into())
            }
        }
    }
}

/// A consent must be at most this old when it reaches us (a website backend that queued the
/// request for a while is fine; a consent from months ago needs asking again).
pub const MAX_CONSENT_AGE: time::Duration = time::Duration::days(7);
/// Clock skew tolerated for a consent stamped slightly in the future.
pub const MAX_CONSENT_SKEW: time::Duration = time::Duration::minutes(5);
/// Time kept back from the Lambda's deadline for writing the record after Vonage answers.
const STORAGE_RESERVE: Duration = Duration::from_millis(1500);
/// Budget for the Vonage call when no Lambda deadline is known (tests, local runs).
const DEFAULT_PROVIDER_BUDGET: Duration = Duration::from_secs(8);

impl WebsiteApi {
    pub(super) async fn resubscribe(
        &self,
        req: &Request,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let body = req.body().as_ref();
        if body.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large(BODY_LIMIT));
        }
        let request: ResubscribeRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
        let msisdn = Msisdn::parse(&request.msisdn, self.default_region)?;
        log.msisdn = Some(msisdn.masked());
        let now = timestamp::now();
        let consent = request.consent.validate(now)?;
        let program = self.program(request.program.as_deref())?;
        let scope = self.programs.own_scope(program);
        let reaching = self.programs.scopes_reaching(program);
        let event = resubscribe_event(&msisdn, &consent, scope, now);

        // Refuse before touching Vonage when our record already holds a newer opt-out: the
        // person said stop after giving this consent.
        let current = self.store.state_in(&msisdn, &reaching).await?;
        if let Some(state) = &current {
            if state.status == Status::OptedOut && state.order > event.order() {
                return Err(newer_opt_out(Some(state.since)));
            }
        }

        let (lift, mode) = self.lift_block(req, program, &msisdn, log).await?;
        let mut event = event;
        if let Origin::Website(consent) = &mut event.origin {
            consent.provider_response = lift.confirmation();
            consent.provider = Some(mode.as_str().into());
        }
        if let Some(key) = &log.key {
            event.origin.record_caller(key);
        }
        let outcome = self.store.record(&event).await?;
        log.outcome = Some(outcome);
        if outcome == Outcome::Superseded {
            // A STOP newer than this consent landed while Vonage was being called. Our record
            // keeps the opt-out; Vonage's list now says opted in, which reconciliation reports.
            let since = self.store.state_in(&msisdn, &reaching).await.ok().flatten();
            return Err(newer_opt_out(since.map(|s| s.since)));
        }
        let provider = ProviderReply::of(&lift, mode);
        Ok(json_response(
            provider.status_code(),
            &ResubscribeReply {
                msisdn: msisdn.as_str(),
                program: program.id.as_str(),
                status: Status::Subscribed,
                since: timestamp::format(event.occurred_at),
                outcome,
                event_id: &event.event_id,
                provider,
            },
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResubscribeRequest {
    msisdn: String,
    consent: ConsentInput,
    #[serde(default)]
    program: Option<String>,
}

/// Evidence that the person asked to receive messages again.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentInput {
    source: String,
    captured_at: String,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    wording: Option<String>,
}

struct Consent {
    source: String,
    captured_at: OffsetDateTime,
    ip: Option<String>,
    user_agent: Option<String>,
    wording: Option<String>,
}

impl ConsentInput {
    fn validate(self, now: OffsetDateTime) -> Result<Consent, ApiError> {
        let bad = |code: ErrorCode, message: String| Err(ApiError::new(code, message));
        let source = self.source.trim().to_string();
        if source.is_empty() {
            return bad(
                ErrorCode::InvalidConsent,
                "consent.source is required".into(),
            );
        }
        check_lengths(
            ErrorCode::InvalidConsent,
            &[
                ("consent.source", Some(&source), 200),
                ("consent.ip", self.ip.as_ref(), 64),
                ("consent.user_agent", self.user_agent.as_ref(), 1024),
                ("consent.wording", self.wording.as_ref(), 4000),
            ],
        )?;
        let captured_at = captured_at(
            ErrorCode::InvalidConsent,
            "consent.captured_at",
            &self.captured_at,
            now,
        )?;
        if captured_at < now - MAX_CONSENT_AGE {
            return bad(
                ErrorCode::InvalidConsent,
                "consent.captured_at is more than 7 days old; capture the consent again".into(),
            );
        }
        Ok(Consent {
            source,
            // Within the skew allowance, a consent "from the future" counts as now.
            captured_at: captured_at.min(now),
            ip: self.ip,
            user_agent: self.user_agent,
            wording: self.wording,
        })
    }
}

/// The same consent always yields the same event id, so a repeated request is a duplicate; a
/// consent to another program is another event (without programs the id is as it always was).
fn resubscribe_event(
    msisdn: &Msisdn,
    consent: &Consent,
    scope: Scope,
    now: OffsetDateTime,
) -> Event {
    let mut hasher = Sha256::new();
    let program = match &scope {
        Scope::Every => None,
        other => Some(other.name()),
    };
    for part in [
        msisdn.as_str(),
        &timestamp::format(consent.captured_at),
        &consent.source,
    ]
    .into_iter()
    .chain(program)
    {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let id = hex::encode(&hasher.finalize()[..16]);
    Event {
        scopes: vec![scope],
        msisdn: msisdn.clone(),
        kind: EventKind::Resubscribe,
        event_id: format!("resub:{id}"),
        occurred_at: consent.captured_at,
        received_at: now,
        origin: Origin::Website(WebsiteConsent {
            consent_source: consent.source.clone(),
            consent_captured_at: timestamp::format(consent.captured_at),
            consent_ip: consent.ip.clone(),
            consent_user_agent: consent.user_agent.clone(),
            consent_wording: consent.wording.clone(),
            provider: None,
            provider_response: None,
            extra: Default::default(),
        }),
    }
}

fn newer_opt_out(since: Option<time::OffsetDateTime>) -> ApiError {
    let since = since.map_or_else(|| "an unknown time".into(), timestamp::format);
    ApiError::new(
        ErrorCode::NewerOptOut,
        format!(
            "the number opted out at {since}, after this consent was captured; the opt-out stands"
        ),
    )
}

/// The Vonage call must leave time to write the record before the Lambda is stopped. Read in
/// the middle of the invocation, any time left on the context's deadline is real.
fn provider_deadline(req: &Request) -> Deadline {
    req.lambda_context_ref()
        .and_then(|c| Deadline::from_lambda(c.deadline, Duration::ZERO))
        .map(|d| d.minus(STORAGE_RESERVE))
        .unwrap_or_else(|| Deadline::after(DEFAULT_PROVIDER_BUDGET))
}

#[derive(Serialize)]
struct ResubscribeReply<'a> {
    msisdn: &'a str,
    program: &'a str,
    status: Status,
    since: String,
    outcome: Outcome,
    event_id: &'a str,
    /// What the provider still does about this number.
    provider: ProviderReply,
}

#[derive(Serialize)]
pub(super) struct ProviderReply {
    mode: &'static str,
    /// Whether the provider still blocks texts to the number.
    blocked: bool,
    message: &'static str,
}

impl ProviderReply {
    pub(super) fn of(lift: &Lift, mode: crate::adapters::provider::ProviderMode) -> Self {
        Self {
            mode: mode.as_str(),
            blocked: matches!(lift, Lift::StillBlocked),
            message: match lift {
                Lift::Lifted(_) => "Vonage removed the number from its opt-out list",
                Lift::StillBlocked => "our record now allows texts, but Vonage (Opt-Out Assist) still blocks them until the person texts the opt-in keyword (START) to the sender's number",
                Lift::NothingToLift => "no block at the provider: our record is the only one",
            },
        }
    }

    /// Accepted, not done, while the provider still blocks: with Opt-Out Assist, Vonage keeps
    /// blocking texts to the number until the person texts the opt-in keyword; no API can lift
    /// that block.
    pub(super) fn status_code(&self) -> StatusCode {
        if self.blocked {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn consent(captured_at: &str) -> ConsentInput {
        ConsentInput {
            source: "web-form".into(),
            captured_at: captured_at.into(),
            ip: None,
            user_agent: None,
            wording: None,
        }
    }

    #[test]
    fn consent_time_window() {
        let now = datetime!(2026-11-26 10:00:00 UTC);
        assert!(consent("2026-11-26T09:59:00Z").validate(now).is_ok());
        assert!(consent("2026-11-26T10:04:00Z").validate(now).is_ok());
        assert!(consent("2026-11-26T10:06:00Z").validate(now).is_err());
        assert!(consent("2026-11-18T10:00:00Z").validate(now).is_err());
        assert!(consent("26/11/2026").validate(now).is_err());
        let c = consent("2026-11-26T10:04:00Z").validate(now).unwrap();
        assert_eq!(c.captured_at, now);
    }

    #[test]
    fn same_consent_same_event_id() {
        let now = datetime!(2026-11-26 10:00:00 UTC);
        let m = Msisdn::from_provider("14155550100").unwrap();
        let a = resubscribe_event(
            &m,
            &consent("2026-11-26T09:59:00Z").validate(now).unwrap(),
            Scope::Every,
            now,
        );
        let b = resubscribe_event(
            &m,
            &consent("2026-11-26T09:59:00Z").validate(now).unwrap(),
            Scope::Every,
            now + time::Duration::seconds(3),
        );
        let c = resubscribe_event(
            &m,
            &consent("2026-11-26T09:59:01Z").validate(now).unwrap(),
            Scope::Every,
            now,
        );
        assert_eq!(a.event_id, b.event_id);
        assert_ne!(a.event_id, c.event_id);
    }
}
