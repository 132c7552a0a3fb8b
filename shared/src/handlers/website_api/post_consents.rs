//! `POST /consents`: a consent to be texted, with its evidence, recorded in the ledger through
//! the same newest-event-wins rule as every opt-out (docs/decisions/0016-consent-ledger.md).
//!
//! A consent older than an opt-out in force is kept as history and changes nothing. One newer
//! than an opt-out in force ends it, so it is a resubscribe and needs what `POST /resubscribe`
//! needs: captured at most [`MAX_CONSENT_AGE`] ago, and the provider's block lifted first. The
//! required `Idempotency-Key` works as for `POST /opt-outs`.

use super::post_opt_outs::idempotent_request;
use super::post_resubscribe::ProviderReply;
use super::{captured_at, LogLine, WebsiteApi, MAX_CONSENT_AGE};
use crate::adapters::store::idempotency::KeyClaim;
use crate::domain::consent::{ConsentChannel, ConsentEvidence};
use crate::domain::event::{Event, EventKind, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::Origin;
use crate::domain::program::Program;
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The idempotency item's sort key.
const SCOPE: &str = "CONSENT";

impl WebsiteApi {
    pub(super) async fn post_consent(
        &self,
        req: &Request,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let (request, keyed): (ConsentRequestBody, _) = idempotent_request(req)?;
        let msisdn = Msisdn::parse(&request.msisdn, self.default_region)?;
        log.msisdn = Some(msisdn.masked());
        let now = timestamp::now();
        let program = self.program(request.program.as_deref())?;
        let evidence = request.consent.validate(now, program)?;
        let reaching = self.programs.scopes_reaching(program);
        let mut event = Event {
            scopes: vec![self.programs.own_scope(program)],
            msisdn: msisdn.clone(),
            kind: EventKind::Consent,
            event_id: format!("consent:api:{}", &keyed.key_hash[..32]),
            occurred_at: evidence.captured_at,
            received_at: now,
            origin: Origin::Consent(evidence.record),
        };

        // Whether this consent ends an opt-out in force: then it is a resubscribe.
        let current = self.store.state_in(&msisdn, &reaching).await?;
        let ends_opt_out = current
            .as_ref()
            .is_some_and(|s| s.status == Status::OptedOut && s.order < event.order());
        if ends_opt_out && event.occurred_at < now - MAX_CONSENT_AGE {
            return Err(ApiError::new(
                ErrorCode::InvalidConsent,
                "this consent is newer than the number's opt-out, so it would end it, but it was captured more than 7 days ago; capture the consent again",
            ));
        }
        let claim = self
            .store
            .claim_idempotency_key(SCOPE, &keyed.key_hash, &keyed.body_hash, &event.event_id)
            .await?;
        if claim == KeyClaim::Conflict {
            return Err(ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was used with another body; nothing was recorded",
            ));
        }
        let provider = if ends_opt_out {
            let (lift, mode) = self.lift_block(req, program, &msisdn, log).await?;
            if let Origin::Consent(record) = &mut event.origin {
                record.provider = Some(mode.as_str().into());
                record.provider_response = lift.confirmation();
            }
            Some(ProviderReply::of(&lift, mode))
        } else {
            None
        };
        if let Some(key) = &log.key {
            event.origin.record_caller(key);
        }
        let outcome = self.store.record(&event).await?;
        log.outcome = Some(outcome);
        let state = self.store.state_in(&msisdn, &reaching).await?;
        let status = provider
            .as_ref()
            .map_or(StatusCode::OK, ProviderReply::status_code);
        Ok(json_response(
            status,
            &ConsentReply {
                msisdn: msisdn.as_str(),
                program: program.id.as_str(),
                outcome: outcome.as_str(),
                event_id: &event.event_id,
                status: state.as_ref().map(|s| s.status),
                since: state.as_ref().map(|s| timestamp::format(s.since)),
                state_event_id: state.as_ref().map(|s| s.event_id.as_str()),
                provider,
            },
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentRequestBody {
    msisdn: String,
    #[serde(default)]
    program: Option<String>,
    consent: ConsentInput,
}

/// The evidence of a consent, as openapi.yaml's `ConsentEvidence` describes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentInput {
    channel: String,
    captured_at: String,
    #[serde(default)]
    wording: Option<String>,
    #[serde(default)]
    wording_sha256: Option<String>,
    #[serde(default)]
    wording_version: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
}

struct ValidConsent {
    captured_at: OffsetDateTime,
    record: ConsentEvidence,
}

impl ConsentInput {
    fn validate(self, now: OffsetDateTime, program: &Program) -> Result<ValidConsent, ApiError> {
        let bad = |message: &str| Err(ApiError::new(ErrorCode::InvalidConsent, message));
        let blank_to_none =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let (wording, wording_sha256, wording_version, url, ip, user_agent, agent_id) = (
            blank_to_none(self.wording),
            blank_to_none(self.wording_sha256).map(|h| h.to_ascii_lowercase()),
            blank_to_none(self.wording_version),
            blank_to_none(self.url),
            blank_to_none(self.ip),
            blank_to_none(self.user_agent),
            blank_to_none(self.agent_id),
        );
        let channel = match ConsentChannel::parse(self.channel.trim()) {
            Some(ConsentChannel::Import) => {
                return bad("consent.channel import is for optout-admin import-consents")
            }
            Some(channel) => channel,
            None => return bad("consent.channel must be web_form, keyword, paper or phone"),
        };
        let at = captured_at(
            ErrorCode::InvalidConsent,
            "consent.captured_at",
            &self.captured_at,
            now,
        )?;
        if at.year() < 2000 {
            return bad("consent.captured_at is before the year 2000");
        }
        // Within the skew allowance, a consent "from the future" counts as now.
        let at = at.min(now);
        let record = ConsentEvidence {
            channel,
            captured_at: timestamp::format(at),
            wording,
            wording_sha256,
            wording_version,
            url,
            ip,
            user_agent,
            agent_id,
            imported_from: None,
            provider: None,
            provider_response: None,
            extra: Default::default(),
        };
        let record = record
            .for_program(program)
            .map_err(|e| ApiError::new(ErrorCode::InvalidConsent, format!("consent: {e}")))?;
        Ok(ValidConsent {
            captured_at: at,
            record,
        })
    }
}

#[derive(Serialize)]
struct ConsentReply<'a> {
    msisdn: &'a str,
    program: &'a str,
    /// What recording did: `applied`, `superseded` (an opt-out newer than this consent stands),
    /// `duplicate`.
    outcome: &'static str,
    event_id: &'a str,
    /// The program's state after this request, and the event that set it.
    status: Option<Status>,
    since: Option<String>,
    state_event_id: Option<&'a str>,
    /// When this consent ended an opt-out: what the provider still does.
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<ProviderReply>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn input(channel: &str) -> ConsentInput {
        ConsentInput {
            channel: channel.into(),
            captured_at: "2026-11-26T09:00:00Z".into(),
            wording: Some("Yes, text me Acme Alerts".into()),
            wording_sha256: None,
            wording_version: None,
            url: Some("https://acme.example/join".into()),
            ip: Some("203.0.113.9".into()),
            user_agent: None,
            agent_id: None,
        }
    }

    #[test]
    fn each_channel_needs_its_evidence() {
        let now = datetime!(2026-11-26 10:00:00 UTC);
        let programs = crate::domain::program::Programs::single("Acme");
        let program = programs.default_program();
        assert!(input("web_form").validate(now, program).is_ok());
        let no_ip = ConsentInput {
            ip: None,
            ..input("web_form")
        };
        assert!(no_ip.validate(now, program).is_err());
        assert!(
            input("phone").validate(now, program).is_err(),
            "phone needs an agent"
        );
        let phone = ConsentInput {
            agent_id: Some("agent-7".into()),
            ..input("phone")
        };
        assert!(phone.validate(now, program).is_ok());
        assert!(input("import").validate(now, program).is_err());
        assert!(input("sms").validate(now, program).is_err());
        let hashed = ConsentInput {
            wording: None,
            wording_sha256: Some("A".repeat(64)),
            wording_version: Some("v3".into()),
            ..input("keyword")
        };
        let valid = hashed.validate(now, program).map_err(|e| e.message);
        assert_eq!(
            valid.map(|v| v.record.wording_sha256),
            Ok(Some("a".repeat(64)))
        );
        let no_wording = ConsentInput {
            wording: None,
            ..input("keyword")
        };
        assert!(no_wording.validate(now, program).is_err());
        let future = ConsentInput {
            captured_at: "2026-11-26T11:00:00Z".into(),
            ..input("web_form")
        };
        assert!(future.validate(now, program).is_err());
    }
}
