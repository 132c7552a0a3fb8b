//! The `resubscribe` function: the API the company's website backend calls.
//!
//! - `POST /resubscribe`: a person who once texted STOP asked, on the website, to receive
//!   messages again. Vonage's opt-in API lifts its block first; only when Vonage confirms is our
//!   opt-out cleared (through [`Store::record`], the same "newest event wins" rule as the webhook).
//! - `GET /subscriptions/{msisdn}`: a number's status and recent history.
//! - `GET /opt-outs?limit=N&cursor=C`: the opted-out numbers, paginated.
//!
//! Every route needs `x-api-key` equal to one of `API_KEYS`. Errors are `{"error", "message"}`
//! with the status in [`ApiError`]; the README lists them.

use crate::config::{ConfigError, Settings};
use crate::http::{json_response, ApiError};
use crate::metrics::Metrics;
use crate::msisdn::Msisdn;
use crate::store::{Event, EventKind, HistoryEntry, Outcome, Status, Store, StoreError};
use crate::timestamp;
use crate::vonage::{OptInClient, VonageError};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Every (method, path) this function serves; `template.yaml` must route exactly these to it
/// (checked by `shared/tests/template_routes.rs`).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/resubscribe"),
    ("GET", "/subscriptions/{msisdn}"),
    ("GET", "/opt-outs"),
];

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 16 * 1024;
/// A consent must be at most this old when it reaches us (a website backend that queued the
/// request for a while is fine; a consent from months ago needs asking again).
pub const MAX_CONSENT_AGE: time::Duration = time::Duration::days(7);
/// Clock skew tolerated for a consent stamped slightly in the future.
pub const MAX_CONSENT_SKEW: time::Duration = time::Duration::minutes(5);
pub const DEFAULT_HISTORY: i32 = 20;
pub const MAX_HISTORY: i32 = 100;
pub const DEFAULT_PAGE: i32 = 100;
pub const MAX_PAGE: i32 = 1000;
/// Time kept back from the Lambda's deadline for writing the record after Vonage answers.
const STORAGE_RESERVE: Duration = Duration::from_millis(1500);
/// Budget for the Vonage call when no Lambda deadline is known (tests, local runs).
const DEFAULT_PROVIDER_BUDGET: Duration = Duration::from_secs(8);

/// Everything the API needs, built once per container.
#[derive(Clone)]
pub struct ResubscribeApi {
    pub store: Store,
    pub vonage: OptInClient,
    api_keys: Vec<String>,
    pub default_region: crate::msisdn::Region,
}

impl std::fmt::Debug for ResubscribeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResubscribeApi")
            .field("store", &self.store)
            .field("vonage", &self.vonage)
            .field("api_keys", &self.api_keys.len())
            .field("default_region", &self.default_region)
            .finish()
    }
}

impl ResubscribeApi {
    pub fn new(store: Store, vonage: OptInClient, api_keys: Vec<String>) -> Self {
        Self {
            store,
            vonage,
            api_keys: api_keys
                .into_iter()
                .filter(|k| !k.trim().is_empty())
                .collect(),
            default_region: crate::msisdn::Region::US,
        }
    }

    /// Settings: `API_KEYS` (comma-separated, required), `VONAGE_API_KEY`, `VONAGE_API_SECRET`,
    /// `VONAGE_API_BASE_URL` (default `https://rest.nexmo.com`), `DEFAULT_COUNTRY` (ISO code used
    /// for numbers written without a country code; default `US`).
    pub fn from_settings(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let keys: Vec<String> = settings
            .require("API_KEYS")?
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        let vonage = OptInClient::from_settings(settings)?;
        let mut api = Self::new(store, vonage, keys);
        if let Some(country) = settings.get("DEFAULT_COUNTRY") {
            api.default_region =
                country
                    .to_ascii_uppercase()
                    .parse()
                    .map_err(|_| ConfigError::Invalid {
                        name: "DEFAULT_COUNTRY",
                        reason: "not an ISO 3166 country code".into(),
                    })?;
        }
        Ok(api)
    }

    /// The Lambda handler. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let mut log = LogLine::default();
        let response = match self.route(&req, &mut log).await {
            Ok(response) => response,
            Err(err) => {
                log.error = Some(err.code);
                err.into_response()
            }
        };
        if log.route == Route::Resubscribe.name() {
            let outcome = log.outcome.or(log.error).unwrap_or("unknown");
            let mut metrics = Metrics::new("resubscribe")
                .dimension("Outcome", outcome)
                .count("Resubscribes");
            if let Some(ms) = log.provider_ms {
                metrics = metrics.milliseconds("VonageLatency", ms);
            }
            metrics.emit();
        }
        tracing::info!(
            request_id,
            route = log.route,
            method = req.method().as_str(),
            status = response.status().as_u16(),
            outcome = log.outcome,
            error = log.error,
            msisdn = log.msisdn,
            provider_attempts = log.provider_attempts,
            provider_ms = log.provider_ms,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "resubscribe api"
        );
        response
    }

    async fn route(&self, req: &Request, log: &mut LogLine) -> Result<Response<Body>, ApiError> {
        let path = req.uri().path().trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let method = req.method().as_str();
        // Match on the path's end so a stage prefix (REST API) does not break routing.
        let route = match segments.as_slice() {
            [.., "resubscribe"] => Route::Resubscribe,
            [.., "subscriptions", number] => Route::Subscription(number),
            [.., "opt-outs"] => Route::OptOuts,
            _ => return Err(ApiError::not_found("no such route")),
        };
        log.route = route.name();
        let allowed = match route {
            Route::Resubscribe => "POST",
            _ => "GET",
        };
        if method != allowed {
            return Err(ApiError::method_not_allowed(allowed));
        }
        self.authenticate(req)?;
        match route {
            Route::Resubscribe => self.resubscribe(req, log).await,
            Route::Subscription(number) => self.subscription(req, number, log).await,
            Route::OptOuts => self.opt_outs(req).await,
        }
    }

    /// `x-api-key` must equal one of the configured keys. Every key is compared, in constant
    /// time, so timing says nothing about which key or how much of it matched.
    fn authenticate(&self, req: &Request) -> Result<(), ApiError> {
        let given = req
            .headers()
            .get("x-api-key")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        let mut ok = subtle::Choice::from(0u8);
        for key in &self.api_keys {
            ok |= given.ct_eq(key.as_bytes());
        }
        if given.is_empty() || !bool::from(ok) {
            return Err(ApiError::unauthorized(
                "unauthorized",
                "missing or invalid x-api-key header",
            ));
        }
        Ok(())
    }

    async fn resubscribe(
        &self,
        req: &Request,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let body = req.body().as_ref();
        if body.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large(BODY_LIMIT));
        }
        let request: ResubscribeRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
        let msisdn = Msisdn::parse(&request.msisdn, self.default_region)
            .map_err(|e| ApiError::bad_request("invalid_msisdn", e.to_string()))?;
        log.msisdn = Some(msisdn.masked());
        let now = timestamp::now();
        let consent = request.consent.validate(now)?;
        let event = resubscribe_event(&msisdn, &consent, now);

        // Refuse before touching Vonage when our record already holds a newer opt-out: the
        // person said stop after giving this consent.
        let current = self.store.state(&msisdn).await.map_err(storage_error)?;
        if let Some(state) = &current {
            if state.status == Status::OptedOut && state.order > event.order() {
                log.outcome = Some("newer_opt_out");
                return Err(newer_opt_out(&state.since));
            }
        }

        let deadline = provider_deadline(req);
        let provider_started = Instant::now();
        let confirmation = self.vonage.manage_opt_in(&msisdn, deadline).await;
        log.provider_ms = Some(provider_started.elapsed().as_secs_f64() * 1000.0);
        let confirmation = match confirmation {
            Ok(c) => c,
            Err(err) => {
                log.outcome = Some(err.code());
                if let VonageError::Unavailable { attempts, .. } = &err {
                    log.provider_attempts = Some(*attempts);
                }
                tracing::warn!(error = %err, msisdn = %msisdn, "Vonage did not confirm the opt-in");
                return Err(provider_error(err));
            }
        };
        log.provider_attempts = Some(confirmation.attempts);

        let mut event = event;
        event.details.insert(
            "provider_response".into(),
            serde_json::to_string(&confirmation).unwrap_or_default(),
        );
        event
            .details
            .insert("provider".into(), "vonage-us-short-code".into());
        let outcome = self.store.record(&event).await.map_err(storage_error)?;
        log.outcome = Some(match outcome {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Superseded => "superseded",
        });
        if outcome == Outcome::Superseded {
            // A STOP newer than this consent landed while Vonage was being called. Our record
            // keeps the opt-out; Vonage's list now says opted in, which reconciliation reports.
            let since = self
                .store
                .state(&msisdn)
                .await
                .ok()
                .flatten()
                .map(|s| s.since)
                .unwrap_or_default();
            return Err(newer_opt_out(&since));
        }
        Ok(json_response(
            StatusCode::OK,
            &ResubscribeReply {
                msisdn: msisdn.as_str(),
                status: Status::Subscribed,
                since: timestamp::format(event.occurred_at),
                outcome,
                event_id: &event.event_id,
            },
        ))
    }

    async fn subscription(
        &self,
        req: &Request,
        number: &str,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let decoded: String = percent_decode(number);
        let msisdn = Msisdn::parse(&decoded, self.default_region)
            .map_err(|e| ApiError::bad_request("invalid_msisdn", e.to_string()))?;
        log.msisdn = Some(msisdn.masked());
        let limit = query_int(req, "history_limit", DEFAULT_HISTORY, MAX_HISTORY)?;
        let state = self.store.state(&msisdn).await.map_err(storage_error)?;
        let history = if state.is_some() {
            self.store
                .history(&msisdn, limit)
                .await
                .map_err(storage_error)?
        } else {
            Vec::new()
        };
        Ok(json_response(
            StatusCode::OK,
            &SubscriptionReply {
                msisdn: msisdn.as_str(),
                // No record means no opt-out on file.
                status: state.as_ref().map_or(Status::Subscribed, |s| s.status),
                since: state.as_ref().map(|s| s.since.as_str()),
                known: state.is_some(),
                history,
            },
        ))
    }

    async fn opt_outs(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let limit = query_int(req, "limit", DEFAULT_PAGE, MAX_PAGE)?;
        let cursor = query_param(req, "cursor");
        let (items, next_cursor) = self
            .store
            .opted_out_page(limit, cursor.as_deref())
            .await
            .map_err(|e| match e {
                StoreError::BadCursor => {
                    ApiError::bad_request("invalid_cursor", "cursor is not one this API returned")
                }
                other => storage_error(other),
            })?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "items": items, "next_cursor": next_cursor }),
        ))
    }
}

enum Route<'a> {
    Resubscribe,
    Subscription(&'a str),
    OptOuts,
}

impl Route<'_> {
    fn name(&self) -> &'static str {
        match self {
            Route::Resubscribe => "POST /resubscribe",
            Route::Subscription(_) => "GET /subscriptions/{msisdn}",
            Route::OptOuts => "GET /opt-outs",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResubscribeRequest {
    msisdn: String,
    consent: ConsentInput,
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
        let bad = |code: &'static str, message: String| Err(ApiError::bad_request(code, message));
        let source = self.source.trim().to_string();
        if source.is_empty() {
            return bad("invalid_consent", "consent.source is required".into());
        }
        for (name, value, max) in [
            ("consent.source", Some(&source), 200),
            ("consent.ip", self.ip.as_ref(), 64),
            ("consent.user_agent", self.user_agent.as_ref(), 1024),
            ("consent.wording", self.wording.as_ref(), 4000),
        ] {
            if value.is_some_and(|v| v.chars().count() > max) {
                return bad(
                    "invalid_consent",
                    format!("{name} is longer than {max} characters"),
                );
            }
        }
        let Some(captured_at) = timestamp::parse_rfc3339(&self.captured_at) else {
            return bad(
                "invalid_consent",
                "consent.captured_at must be an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z"
                    .into(),
            );
        };
        if captured_at > now + MAX_CONSENT_SKEW {
            return bad(
                "invalid_consent",
                "consent.captured_at is in the future".into(),
            );
        }
        if captured_at < now - MAX_CONSENT_AGE {
            return bad(
                "invalid_consent",
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

/// The same consent always yields the same event id, so a repeated request is a duplicate.
fn resubscribe_event(msisdn: &Msisdn, consent: &Consent, now: OffsetDateTime) -> Event {
    let mut hasher = Sha256::new();
    for part in [
        msisdn.as_str(),
        &timestamp::format(consent.captured_at),
        &consent.source,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let id = hex::encode(&hasher.finalize()[..16]);
    let mut details = BTreeMap::new();
    details.insert("consent_source".into(), consent.source.clone());
    details.insert(
        "consent_captured_at".into(),
        timestamp::format(consent.captured_at),
    );
    for (name, value) in [
        ("consent_ip", &consent.ip),
        ("consent_user_agent", &consent.user_agent),
        ("consent_wording", &consent.wording),
    ] {
        if let Some(value) = value {
            details.insert(name.into(), value.clone());
        }
    }
    Event {
        msisdn: msisdn.clone(),
        kind: EventKind::Resubscribe,
        event_id: format!("resub:{id}"),
        occurred_at: consent.captured_at,
        received_at: now,
        source: "website".into(),
        details,
    }
}

fn newer_opt_out(since: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "newer_opt_out",
        format!(
            "the number opted out at {since}, after this consent was captured; the opt-out stands"
        ),
    )
}

fn provider_error(err: VonageError) -> ApiError {
    let message = match &err {
        VonageError::Rejected { .. } => {
            "Vonage did not lift the block for this number; our record is unchanged"
        }
        VonageError::Unavailable { .. } | VonageError::Config(_) => {
            "Vonage could not be reached or gave no usable answer; our record is unchanged, retry later"
        }
    };
    let code = match err {
        VonageError::Rejected { .. } => "provider_rejected",
        _ => "provider_unavailable",
    };
    ApiError::new(StatusCode::BAD_GATEWAY, code, message)
}

fn storage_error(err: StoreError) -> ApiError {
    tracing::error!(error = %err, "storage call failed");
    ApiError::storage_unavailable()
}

/// The Vonage call must leave time to write the record before the Lambda is stopped.
fn provider_deadline(req: &Request) -> Instant {
    let now = Instant::now();
    let budget = req
        .lambda_context_ref()
        .filter(|c| c.deadline > 0)
        .and_then(|c| c.deadline().duration_since(SystemTime::now()).ok())
        .map(|left| left.saturating_sub(STORAGE_RESERVE))
        .unwrap_or(DEFAULT_PROVIDER_BUDGET);
    now + budget
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    let query = req.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn query_int(req: &Request, name: &'static str, default: i32, max: i32) -> Result<i32, ApiError> {
    match query_param(req, name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("{name} must be a whole number from 1 to {max}"),
            )),
        },
    }
}

fn percent_decode(segment: &str) -> String {
    // A path segment is not a form value: `+` is a literal plus (as in "+14155550100").
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!(
        "v={}",
        segment.replace('+', "%2B")
    ))
    .ok()
    .and_then(|mut v| v.pop())
    .map(|(_, v)| v)
    .unwrap_or_else(|| segment.to_string())
}

#[derive(Serialize)]
struct ResubscribeReply<'a> {
    msisdn: &'a str,
    status: Status,
    since: String,
    outcome: Outcome,
    event_id: &'a str,
}

#[derive(Serialize)]
struct SubscriptionReply<'a> {
    msisdn: &'a str,
    status: Status,
    since: Option<&'a str>,
    known: bool,
    history: Vec<HistoryEntry>,
}

#[derive(Default)]
struct LogLine {
    route: &'static str,
    outcome: Option<&'static str>,
    error: Option<&'static str>,
    msisdn: Option<String>,
    provider_attempts: Option<u32>,
    provider_ms: Option<f64>,
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
            now,
        );
        let b = resubscribe_event(
            &m,
            &consent("2026-11-26T09:59:00Z").validate(now).unwrap(),
            now + time::Duration::seconds(3),
        );
        let c = resubscribe_event(
            &m,
            &consent("2026-11-26T09:59:01Z").validate(now).unwrap(),
            now,
        );
        assert_eq!(a.event_id, b.event_id);
        assert_ne!(a.event_id, c.event_id);
    }

    #[test]
    fn path_segments_decode_plus_literally() {
        assert_eq!(percent_decode("%2B14155550100"), "+14155550100");
        assert_eq!(percent_decode("+14155550100"), "+14155550100");
        assert_eq!(percent_decode("415%20555%200100"), "415 555 0100");
    }
}
