//! The website API (`WebsiteApi`, served by the `resubscribe` function, a name deployed stacks
//! keep): what the company's website backend and senders call. One file per route ([`ROUTES`],
//! openapi.yaml, docs/api.md); this file has the settings, the router, the API key check, and
//! the one log line and metrics per request.
//!
//! Every request needs an `x-api-key` the deployment knows (`API_KEY_ROLES`, or the old
//! `API_KEYS` as admin keys), checked before its path is looked at; then its role must grant the
//! route ([`crate::domain::access`]), before anything is read or written. The review console's
//! page and files ([`KEYLESS_ROUTES`]) are the one exception: they hold no data and need no
//! key. A resubscribe clears our opt-out only once Vonage confirms it lifted its block, through
//! `Store::record` (the same "newest event wins" rule as the webhook).

mod console;
mod eligibility;
mod evidence;
mod opt_outs;
mod post_consents;
mod post_opt_outs;
mod post_resubscribe;
mod reviews;
mod subscription;

use crate::adapters::config::{ConfigError, Settings};
use crate::adapters::metrics::{Metric, Metrics};
use crate::adapters::provider::{self, Provider, Providers, ShortCodeApi};
use crate::adapters::store::Store;
use crate::adapters::vonage::VonageClient;
use crate::domain::access::{role_grants, Caller, Keys};
use crate::domain::event::Outcome;
use crate::domain::program::{Program, ProgramId, Programs, RevokeAll};
use crate::handlers::http::{ApiError, ErrorCode};
use crate::handlers::routing::{self, Selected};
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;
use std::time::Instant;

pub use eligibility::{ELIGIBILITY_BODY_LIMIT, MAX_NUMBERS};
pub use opt_outs::{DEFAULT_PAGE, MAX_PAGE};
pub use post_opt_outs::IDEMPOTENCY_HEADER;
pub use post_resubscribe::{MAX_CONSENT_AGE, MAX_CONSENT_SKEW};
pub use reviews::{DEFAULT_REVIEW_PAGE, MAX_REVIEW_PAGE};
pub use subscription::{DEFAULT_HISTORY, MAX_HISTORY};

const FUNCTION: &str = "resubscribe";

/// Every (method, path) this function serves; `template.yaml` must route exactly these to it
/// (checked by `shared/tests/integration/template_routes.rs`).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/resubscribe"),
    ("GET", "/subscriptions/{msisdn}"),
    ("GET", "/opt-outs"),
    ("POST", "/opt-outs"),
    ("GET", "/reviews"),
    ("POST", "/reviews/{id}"),
    ("POST", "/eligibility"),
    ("GET", "/subscriptions/{msisdn}/evidence"),
    ("POST", "/consents"),
    ("GET", "/console"),
    ("GET", "/console/{file}"),
];

/// The routes that need no key: the review console's page and files, which hold no data.
pub const KEYLESS_ROUTES: &[(&str, &str)] = &[("GET", "/console"), ("GET", "/console/{file}")];

pub const BODY_LIMIT: usize = 16 * 1024;

/// Everything the API needs, built once per container.
#[derive(Clone)]
pub struct WebsiteApi {
    pub store: Store,
    /// The provider's side of clearing an opt-out, per program (`PROVIDER_MODE`, or a
    /// program's own `provider_mode`).
    pub providers: Providers,
    keys: Keys,
    pub default_region: crate::domain::msisdn::Region,
    /// `PROGRAMS`: what a resubscribe or a lookup is for.
    pub programs: Programs,
    pub revoke_all: RevokeAll,
}

impl std::fmt::Debug for WebsiteApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebsiteApi")
            .field("store", &self.store)
            .field("programs", &self.programs.all().len())
            .field("keys", &self.keys.len())
            .field("default_region", &self.default_region)
            .finish()
    }
}

impl WebsiteApi {
    /// `short-code-api` mode with this Vonage client.
    pub fn new(store: Store, vonage: VonageClient, api_keys: Vec<String>) -> Self {
        Self::with_provider(store, Arc::new(ShortCodeApi(vonage)), api_keys)
    }

    pub fn with_provider(store: Store, provider: Arc<dyn Provider>, api_keys: Vec<String>) -> Self {
        Self {
            store,
            providers: Providers::single(provider),
            // Admin keys, as `API_KEYS` are; none given, every request is refused.
            keys: Keys::new(None, &api_keys).unwrap_or_default(),
            default_region: crate::domain::msisdn::Region::US,
            programs: Programs::single(""),
            revoke_all: RevokeAll::default(),
        }
    }

    /// These keys instead of the ones given to [`WebsiteApi::new`].
    pub fn with_keys(mut self, keys: Keys) -> Self {
        self.keys = keys;
        self
    }

    /// The program a request names (`None`: the default one); 400 for an id no program has.
    pub(super) fn program(&self, id: Option<&str>) -> Result<&Program, ApiError> {
        let Some(id) = id else {
            return Ok(self.programs.default_program());
        };
        ProgramId::parse(id)
            .ok()
            .and_then(|id| self.programs.get(&id))
            .ok_or_else(|| {
                let ids: Vec<&str> = self.programs.all().iter().map(|p| p.id.as_str()).collect();
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("program: no such program (declared: {})", ids.join(", ")),
                )
            })
    }

    /// Settings: docs/configuration.md (`API_KEY_ROLES` or `API_KEYS` required).
    pub fn from_settings(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let plain: Vec<String> = settings
            .get("API_KEYS")
            .unwrap_or("")
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if !plain.is_empty() {
            tracing::warn!(
                keys = plain.len(),
                "API_KEYS are admin keys that can do everything: give each caller a named key with a role in API_KEY_ROLES (optout-admin keys add)"
            );
        }
        let keys =
            Keys::new(settings.get("API_KEY_ROLES"), &plain).map_err(|e| ConfigError::Invalid {
                name: "API_KEY_ROLES",
                reason: e.to_string(),
            })?;
        let programs = Programs::from_settings(settings)?;
        let providers = Providers::from_settings(settings, &programs)?;
        let mut api = Self {
            providers,
            programs,
            keys,
            ..Self::with_provider(store, Arc::new(provider::SelfManaged), Vec::new())
        };
        api.revoke_all = RevokeAll::from_settings(settings)?;
        if let Some(country) = settings.get("DEFAULT_COUNTRY") {
            api.default_region = country.parse().map_err(|_| ConfigError::Invalid {
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
        let result = self.route(&req, &mut log).await;
        let error = result.as_ref().err().map(|e| e.code);
        if let Some(metric) = error.and_then(ErrorCode::metric) {
            Metrics::new(FUNCTION).count(metric).emit();
        }
        // By outcome: what was recorded, or why nothing was.
        let outcome = log
            .outcome
            .map(Outcome::as_str)
            .or(error.map(ErrorCode::as_str))
            .unwrap_or("unknown");
        for (route, metric) in [
            (Route::PostOptOut, Metric::ApiOptOuts),
            (Route::PostConsent, Metric::ApiConsents),
        ] {
            if log.route == route.name() {
                Metrics::new(FUNCTION)
                    .dimension("Outcome", outcome)
                    .count(metric)
                    .emit();
            }
        }
        if let Some(decision) = log.decision {
            Metrics::new(FUNCTION)
                .dimension("Decision", decision)
                .count(Metric::ReviewItemsResolved)
                .emit();
        }
        if log.route == Route::Resubscribe.name() {
            let mut metrics = Metrics::new(FUNCTION)
                .dimension("Outcome", outcome)
                .count(Metric::Resubscribes);
            if let Some(ms) = log.provider_ms {
                metrics = metrics.milliseconds(Metric::VonageLatency, ms);
            }
            metrics.emit();
        }
        let response = result.unwrap_or_else(ApiError::into_response);
        tracing::info!(
            request_id,
            route = log.route,
            api_key = log.key,
            method = req.method().as_str(),
            status = response.status().as_u16(),
            outcome = log.outcome.map(Outcome::as_str),
            error = error.map(ErrorCode::as_str),
            msisdn = log.msisdn,
            review_id = log.review_id,
            decision = log.decision,
            provider_attempts = log.provider_attempts,
            provider_ms = log.provider_ms,
            numbers = log.numbers,
            opted_out = log.opted_out,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "resubscribe api"
        );
        response
    }

    /// The key check first, for every request but [`KEYLESS_ROUTES`]: a missing or wrong key
    /// gets 401 whatever the path, so nothing about the API's paths is told to a caller without
    /// a key.
    async fn route(&self, req: &Request, log: &mut LogLine) -> Result<Response<Body>, ApiError> {
        // An event that is no readable HTTP request has no headers to check a key in.
        ApiError::check_readable(req)?;
        let no_route = || ApiError::not_found("no such route");
        let mut keyless = false;
        let route = match routing::select(req, ROUTES) {
            Selected::Route { route, params } => {
                keyless = KEYLESS_ROUTES.contains(&route);
                Route::of(route, params).ok_or_else(no_route)
            }
            Selected::MethodNotAllowed { allow } => Err(ApiError::method_not_allowed(&allow)),
            Selected::NotFound => Err(no_route()),
        };
        if let Ok(route) = &route {
            log.route = route.name();
        }
        if !keyless {
            let caller = self.authenticate(req)?;
            log.key = Some(caller.name.clone());
            if let Ok(route) = &route {
                if !role_grants(caller.role, route.name()) {
                    return Err(ApiError::new(
                        ErrorCode::Forbidden,
                        format!(
                            "this key ({}) has the role {}, which does not grant {}",
                            caller.name,
                            caller.role.as_str(),
                            route.name()
                        ),
                    ));
                }
            }
        }
        match route? {
            Route::Resubscribe => self.resubscribe(req, log).await,
            Route::Subscription(number) => self.subscription(req, &number, log).await,
            Route::OptOuts => self.opt_outs(req).await,
            Route::PostOptOut => self.post_opt_out(req, log).await,
            Route::Reviews => self.reviews(req).await,
            Route::ResolveReview(id) => self.resolve_review(req, &id, log).await,
            Route::Eligibility => self.eligibility(req, log).await,
            Route::Evidence(number) => self.evidence(req, &number, log).await,
            Route::PostConsent => self.post_consent(req, log).await,
            Route::Console(file) => console::serve(req, file.as_deref()),
        }
    }

    /// The caller the `x-api-key` names ([`Keys::caller`]: every stored hash compared in
    /// constant time).
    fn authenticate(&self, req: &Request) -> Result<Caller, ApiError> {
        let given = req
            .headers()
            .get("x-api-key")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        self.keys.caller(given).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "missing or invalid x-api-key header",
            )
        })
    }
}

/// A route with its path parameters' values (decoded).
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Resubscribe,
    Subscription(String),
    OptOuts,
    PostOptOut,
    Reviews,
    ResolveReview(String),
    Eligibility,
    Evidence(String),
    PostConsent,
    /// The review console's page (`None`) or one of its files.
    Console(Option<String>),
}

impl Route {
    /// `None` only for a [`ROUTES`] entry this match misses (a test checks there is none).
    fn of(route: (&str, &str), params: Vec<String>) -> Option<Route> {
        let param = || params.first().cloned().unwrap_or_default();
        Some(match route {
            ("POST", "/resubscribe") => Route::Resubscribe,
            ("GET", "/subscriptions/{msisdn}") => Route::Subscription(param()),
            ("GET", "/opt-outs") => Route::OptOuts,
            ("POST", "/opt-outs") => Route::PostOptOut,
            ("GET", "/reviews") => Route::Reviews,
            ("POST", "/reviews/{id}") => Route::ResolveReview(param()),
            ("POST", "/eligibility") => Route::Eligibility,
            ("GET", "/subscriptions/{msisdn}/evidence") => Route::Evidence(param()),
            ("POST", "/consents") => Route::PostConsent,
            ("GET", "/console") => Route::Console(None),
            ("GET", "/console/{file}") => Route::Console(Some(param())),
            _ => return None,
        })
    }

    /// `METHOD /template`, as in [`ROUTES`] (the log line's `route`).
    fn name(&self) -> &'static str {
        match self {
            Route::Resubscribe => "POST /resubscribe",
            Route::Subscription(_) => "GET /subscriptions/{msisdn}",
            Route::OptOuts => "GET /opt-outs",
            Route::PostOptOut => "POST /opt-outs",
            Route::Reviews => "GET /reviews",
            Route::ResolveReview(_) => "POST /reviews/{id}",
            Route::Eligibility => "POST /eligibility",
            Route::Evidence(_) => "GET /subscriptions/{msisdn}/evidence",
            Route::PostConsent => "POST /consents",
            Route::Console(None) => "GET /console",
            Route::Console(Some(_)) => "GET /console/{file}",
        }
    }
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
            _ => Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("{name} must be a whole number from 1 to {max}"),
            )),
        },
    }
}

/// Refuses the first field longer than its limit (in characters), with the error code of the
/// part it belongs to.
fn check_lengths(
    code: ErrorCode,
    fields: &[(&str, Option<&String>, usize)],
) -> Result<(), ApiError> {
    for &(name, value, max) in fields {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(ApiError::new(
                code,
                format!("{name} is longer than {max} characters"),
            ));
        }
    }
    Ok(())
}

/// A `captured_at` field: an RFC 3339 time at most [`MAX_CONSENT_SKEW`] ahead of `now` (a
/// caller's clock may run a little fast; such a time is then taken as now by the caller).
fn captured_at(
    code: ErrorCode,
    field: &str,
    value: &str,
    now: time::OffsetDateTime,
) -> Result<time::OffsetDateTime, ApiError> {
    let Some(at) = crate::domain::timestamp::parse_rfc3339(value) else {
        return Err(ApiError::new(
            code,
            format!("{field} must be an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z"),
        ));
    };
    if at > now + MAX_CONSENT_SKEW {
        return Err(ApiError::new(code, format!("{field} is in the future")));
    }
    Ok(at)
}

#[derive(Default)]
struct LogLine {
    route: &'static str,
    /// The caller's key name (never the key): in the log line and every history entry written.
    key: Option<String>,
    outcome: Option<Outcome>,
    msisdn: Option<String>,
    /// `POST /reviews/{id}`: the review, and the decision when this request made it.
    review_id: Option<String>,
    decision: Option<&'static str>,
    provider_attempts: Option<u32>,
    provider_ms: Option<f64>,
    /// Numbers checked (`POST /eligibility`), and how many of them were opted out.
    numbers: Option<usize>,
    opted_out: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_handled_under_its_own_name() {
        for &(method, template) in ROUTES {
            let route = Route::of((method, template), vec!["x".into()])
                .unwrap_or_else(|| panic!("{method} {template} has no handler"));
            assert_eq!(route.name(), format!("{method} {template}"));
        }
        assert_eq!(Route::of(("DELETE", "/opt-outs"), vec![]), None);
    }
}
