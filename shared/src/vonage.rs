//! Vonage's US short code opt-in API: the "manage" call that lifts Vonage's block on a number
//! that texted STOP (what the resubscribe side calls), and the "query" call that lists the
//! opted-out numbers one page at a time.
//!
//! Facts this module is built on (see the project's Vonage reference, section 1):
//! - both calls take `api_key` + `api_secret` as parameters; this client always sends them in a
//!   form-urlencoded POST **body**, never in the URL, so no proxy or access log sees the secret;
//! - every value in a response is a JSON **string**, booleans included (`"true"` / `"false"`);
//! - dates are `YYYY-MM-DD HH:MM:SS` with no zone (UTC); one official example has several spaces
//!   between date and time, and an unset date is absent;
//! - no error bodies are documented: anything but a parsed manage body with `"opt-in": "true"`
//!   is a failed resubscribe.
//!
//! Outcome classes ([`VonageError`]):
//! - **Rejected** (`provider_rejected`, never retried): Vonage answered and said no: a 4xx other
//!   than 429, a JSON body carrying `error-code` / `error-code-label`, or a parsed manage body whose
//!   `opt-in` is not `"true"`.
//! - **Unavailable** (`provider_unavailable`): no answer we can trust: network or connect error,
//!   timeout, 429/5xx after the retries, a 3xx (redirects are not followed: they would turn the POST
//!   into a GET without the credentials), or a 2xx whose body is empty, HTML, unparseable, too large,
//!   lacks `opt-in`, or is about another number. Only network errors, timeouts, 429 and 5xx are
//!   retried; a 2xx with a bad body is not (asking again would not make it trustworthy).
//! - **Config** (`provider_config`): bad base URL, empty credentials, HTTP client build failure.
//!
//! Nothing here logs or puts into an error the API secret, a full phone number, or a URL with
//! credentials: numbers are logged through [`Msisdn`]'s masked `Display`, echoed bodies are
//! stripped of the secret, truncated to 200 characters and have phone-like digit
//! runs masked.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::msisdn::Msisdn;

/// Vonage's REST host for the US short code APIs.
pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

/// Path of the "remove from the opt-out list" call.
const MANAGE_PATH: &str = "/sc/us/alert/opt-in/manage/json";
/// Path of the "list opted-out numbers" call.
const QUERY_PATH: &str = "/sc/us/alert/opt-in/query/json";

/// An attempt is not started (and a backoff sleep not begun) unless at least this much time is
/// left before the caller's deadline: less than this cannot complete a TLS round trip anyway.
const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(50);

/// Largest response body read. Manage bodies are ~100 bytes and a 100-entry query page ~15 KB;
/// anything bigger is not a Vonage answer we understand.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest echoed text (response snippet, error label) placed into an error `detail`.
const DETAIL_MAX_CHARS: usize = 200;

/// How many times, how fast and how long each call is tried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts including the first one (0 is treated as 1).
    pub max_attempts: u32,
    /// Backoff cap before attempt 2; doubled for each further attempt ("full jitter": the actual
    /// sleep is uniformly random between zero and the cap).
    pub base_delay: Duration,
    /// Upper bound of the backoff cap.
    pub max_delay: Duration,
    /// Timeout of one attempt (connect, send, read the whole body); the effective timeout is the
    /// smaller of this and the time left before the caller's deadline.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff 100 ms doubling up to 1 s, 3 s per attempt.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(3),
        }
    }
}

/// Vonage's confirmation that a number was removed from the opt-out list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ManageConfirmation {
    /// The number Vonage echoed, **masked** (last 4 digits only, [`Msisdn`]'s `Display`), because
    /// this struct is meant to be serialised into responses and logs. The client has already
    /// checked that the echoed number is the one it asked about.
    pub msisdn: String,
    /// Always `true` in a confirmation: anything else is [`VonageError::Rejected`].
    pub opt_in: bool,
    /// `opt-in-date` as RFC 3339 UTC; `None` when absent or unparseable.
    pub opt_in_date: Option<String>,
    /// `opt-out`; `None` when absent or neither `"true"` nor `"false"`.
    pub opt_out: Option<bool>,
    /// HTTP attempts the call took (1 = first try). [`parse_manage_response`] leaves it at 0.
    pub attempts: u32,
}

/// One page of Vonage's opt-in/opt-out list.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Entries that parsed.
    pub entries: Vec<OptListEntry>,
    /// Entries that did not parse, by position in `opt-in-list`; they never fail the page.
    pub skipped: Vec<SkippedEntry>,
    /// `opt-in-count` (Vonage's total, not this page's length); `None` when absent or not a number.
    pub total: Option<u64>,
}

/// One entry of the opt-in/opt-out list.
#[derive(Debug, Clone, PartialEq)]
pub struct OptListEntry {
    pub msisdn: Msisdn,
    /// `opt-out` (required: an entry without it is skipped).
    pub opted_out: bool,
    /// `opt-out-date`; `None` when absent.
    pub opt_out_date: Option<OffsetDateTime>,
    /// `opt-in`; `false` when absent.
    pub opted_in: bool,
    /// `opt-in-date`; `None` when absent.
    pub opt_in_date: Option<OffsetDateTime>,
}

/// An `opt-in-list` entry that was skipped, and why.
#[derive(Debug, Clone)]
pub struct SkippedEntry {
    /// Zero-based position in `opt-in-list`.
    pub index: usize,
    /// Human-readable reason; never contains a full phone number.
    pub reason: String,
}

/// Why a call to Vonage did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum VonageError {
    /// Vonage answered and said no: 4xx other than 429, a JSON body with
    /// `error-code` / `error-code-label`, or a parsed manage body with `"opt-in"` != `"true"`.
    /// Not retried.
    #[error("Vonage rejected the request (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
    /// Could not get an answer we can trust: network error, timeout, 429/5xx after retries,
    /// 2xx with an empty/HTML/unparseable body. `detail` says which.
    #[error("Vonage unavailable after {attempts} attempt(s): {detail}")]
    Unavailable { detail: String, attempts: u32 },
    /// Client misconfiguration (bad base URL, empty credentials).
    #[error("Vonage client misconfigured: {0}")]
    Config(String),
}

impl VonageError {
    /// Stable machine-readable code for logs, metrics and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            VonageError::Rejected { .. } => "provider_rejected",
            VonageError::Unavailable { .. } => "provider_unavailable",
            VonageError::Config(_) => "provider_config",
        }
    }
}

/// Client for the US short code opt-in API. Cheap to clone (the HTTP client is shared):
/// build it once per Lambda container.
#[derive(Clone)]
pub struct OptInClient {
    http: reqwest::Client,
    manage_url: reqwest::Url,
    query_url: reqwest::Url,
    api_key: String,
    api_secret: String,
    policy: RetryPolicy,
}

impl fmt::Debug for OptInClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptInClient")
            .field("manage_url", &self.manage_url.as_str())
            .field("query_url", &self.query_url.as_str())
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .field("policy", &self.policy)
            .finish()
    }
}

/// Which call is being made (for logs and response parsing).
#[derive(Clone, Copy)]
enum Call {
    Manage,
    Query,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Manage => "manage",
            Call::Query => "query",
        }
    }
}

/// What one HTTP attempt produced.
enum Attempt {
    /// A complete answer: status and (size-capped) body.
    Answer {
        status: u16,
        body: Vec<u8>,
        truncated: bool,
        retry_after: Option<Duration>,
    },
    /// No answer: network/connect error or timeout (retryable).
    NoAnswer(String),
}

impl OptInClient {
    /// One reqwest client, built once per Lambda container. `base_url` without trailing slash
    /// (one is tolerated), e.g. [`DEFAULT_BASE_URL`]; `http` is accepted for local test servers.
    pub fn new(base_url: &str, api_key: &str, api_secret: &str) -> Result<Self, VonageError> {
        let trimmed = base_url.trim();
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let base = reqwest::Url::parse(trimmed)
            .map_err(|e| VonageError::Config(format!("base URL is not a valid URL: {e}")))?;
        if base.scheme() != "https" && base.scheme() != "http" {
            return Err(VonageError::Config(format!(
                "base URL scheme must be https (or http for tests), got {:?}",
                base.scheme()
            )));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(VonageError::Config("base URL has no host".into()));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(VonageError::Config(
                "base URL must not contain credentials".into(),
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(VonageError::Config(
                "base URL must not have a query string or fragment".into(),
            ));
        }
        if api_key.trim().is_empty() {
            return Err(VonageError::Config("Vonage API key is empty".into()));
        }
        if api_secret.trim().is_empty() {
            return Err(VonageError::Config("Vonage API secret is empty".into()));
        }
        // `trimmed` has no trailing slash; a base with a path prefix keeps it.
        let manage_url = reqwest::Url::parse(&format!("{trimmed}{MANAGE_PATH}"))
            .map_err(|e| VonageError::Config(format!("cannot build the manage URL: {e}")))?;
        let query_url = reqwest::Url::parse(&format!("{trimmed}{QUERY_PATH}"))
            .map_err(|e| VonageError::Config(format!("cannot build the query URL: {e}")))?;
        // The compiled-in roots and the cryptography the SDK uses too ([`crate::tls`]).
        let http = crate::tls::reqwest_builder()
            // A redirect would turn the POST into a GET and drop the form: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("optout-shared/", env!("CARGO_PKG_VERSION")))
            // Lambda containers are frozen between invocations: don't keep idle sockets for long.
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| VonageError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            manage_url,
            query_url,
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
            policy: RetryPolicy::default(),
        })
    }

    /// From settings: `VONAGE_API_KEY`, `VONAGE_API_SECRET`, `VONAGE_API_BASE_URL` (default
    /// [`DEFAULT_BASE_URL`]).
    pub fn from_settings(
        settings: &crate::config::Settings,
    ) -> Result<Self, crate::config::ConfigError> {
        let base = settings
            .get("VONAGE_API_BASE_URL")
            .unwrap_or(DEFAULT_BASE_URL);
        Self::new(
            base,
            settings.require("VONAGE_API_KEY")?,
            settings.require("VONAGE_API_SECRET")?,
        )
        .map_err(|e| crate::config::ConfigError::Invalid {
            name: "VONAGE_API_BASE_URL",
            reason: e.to_string(),
        })
    }

    /// Replace the retry policy (default: [`RetryPolicy::default`]).
    pub fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        Self { policy, ..self }
    }

    /// "Remove from the opt-out list": POST form-urlencoded to
    /// `{base}/sc/us/alert/opt-in/manage/json` with `api_key`, `api_secret`, `msisdn` (digits) in
    /// the body. Success only when the body parses, `"opt-in"` is `"true"` and the echoed number
    /// (when present) is the one asked about. The whole call, retries included, finishes by
    /// `deadline`.
    pub async fn manage_opt_in(
        &self,
        msisdn: &Msisdn,
        deadline: Instant,
    ) -> Result<ManageConfirmation, VonageError> {
        let form = [
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.as_str()),
            ("msisdn", msisdn.as_str()),
        ];
        let masked = msisdn.to_string();
        let (status, body, attempts) = self
            .call(Call::Manage, &self.manage_url, &form, &masked, deadline)
            .await?;
        let (mut confirmation, echoed) =
            parse_manage(&body).map_err(|e| fix_error(e, status, attempts))?;
        match echoed {
            Some(echoed) if echoed.as_str() != msisdn.as_str() => {
                tracing::warn!(
                    msisdn = %masked,
                    echoed = %echoed,
                    attempt = attempts,
                    "Vonage opt-in manage: response is about another number"
                );
                return Err(VonageError::Unavailable {
                    detail: format!(
                        "HTTP {status}: response is about another number ({echoed}) than the one asked ({masked})"
                    ),
                    attempts,
                });
            }
            Some(_) => {}
            None => confirmation.msisdn = masked.clone(),
        }
        confirmation.attempts = attempts;
        tracing::info!(
            msisdn = %masked,
            attempts,
            opt_in_date = confirmation.opt_in_date.as_deref().unwrap_or(""),
            "Vonage opt-in manage: number removed from the opt-out list"
        );
        Ok(confirmation)
    }

    /// One page of the opted-out list: POST form `api_key`, `api_secret`, `page`, `page-size` to
    /// `{base}/sc/us/alert/opt-in/query/json` (the secret in the body, as for manage). Lenient
    /// parsing, see [`parse_query_response`]. The whole call, retries included, finishes by
    /// `deadline`.
    pub async fn query_page(
        &self,
        page: u32,
        page_size: u32,
        deadline: Instant,
    ) -> Result<QueryPage, VonageError> {
        let page_s = page.to_string();
        let size_s = page_size.to_string();
        let form = [
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.as_str()),
            ("page", page_s.as_str()),
            ("page-size", size_s.as_str()),
        ];
        let label = format!("page {page}");
        let (status, body, attempts) = self
            .call(Call::Query, &self.query_url, &form, &label, deadline)
            .await?;
        let parsed = parse_query_response(&body).map_err(|e| fix_error(e, status, attempts))?;
        for skipped in &parsed.skipped {
            tracing::warn!(
                page,
                index = skipped.index,
                reason = %skipped.reason,
                "Vonage opt-in query: entry skipped"
            );
        }
        tracing::info!(
            page,
            page_size,
            entries = parsed.entries.len(),
            skipped = parsed.skipped.len(),
            total = parsed.total,
            attempts,
            "Vonage opt-in query: page read"
        );
        Ok(parsed)
    }

    /// Run one call with retries. Returns the 2xx status, the body (secret stripped) and the
    /// number of attempts made; every other outcome is an error.
    async fn call(
        &self,
        call: Call,
        url: &reqwest::Url,
        form: &[(&str, &str)],
        subject: &str,
        deadline: Instant,
    ) -> Result<(u16, Vec<u8>, u32), VonageError> {
        let max_attempts = self.policy.max_attempts.max(1);
        let mut attempt: u32 = 0;
        let mut last_failure = String::from("deadline reached before the first attempt");
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT_BUDGET {
                tracing::warn!(
                    call = call.name(),
                    subject,
                    attempts = attempt,
                    "Vonage opt-in: deadline reached, giving up"
                );
                let detail = if attempt == 0 {
                    last_failure
                } else {
                    format!("{last_failure}; deadline reached, no time for another attempt")
                };
                return Err(VonageError::Unavailable {
                    detail,
                    attempts: attempt,
                });
            }
            attempt += 1;
            let timeout = remaining.min(self.policy.attempt_timeout);
            let started = Instant::now();
            let outcome = self.attempt(url, form, timeout).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

            let retry_after = match outcome {
                Attempt::NoAnswer(detail) => {
                    tracing::warn!(
                        call = call.name(),
                        subject,
                        attempt,
                        latency_ms,
                        error = %detail,
                        "Vonage opt-in attempt failed without an answer"
                    );
                    last_failure = detail;
                    None
                }
                Attempt::Answer {
                    status,
                    body,
                    truncated,
                    retry_after,
                } => {
                    let body = self.redact(body);
                    if (200..300).contains(&status) {
                        tracing::info!(
                            call = call.name(),
                            subject,
                            attempt,
                            status,
                            latency_ms,
                            "Vonage opt-in attempt answered"
                        );
                        if truncated {
                            return Err(VonageError::Unavailable {
                                detail: format!(
                                    "HTTP {status} with a body larger than {MAX_BODY_BYTES} bytes"
                                ),
                                attempts: attempt,
                            });
                        }
                        return Ok((status, body, attempt));
                    }
                    tracing::warn!(
                        call = call.name(),
                        subject,
                        attempt,
                        status,
                        latency_ms,
                        "Vonage opt-in attempt answered with an error status"
                    );
                    if status == 429 || (500..600).contains(&status) {
                        last_failure = format!("HTTP {status}{}", body_suffix(&body));
                        if status == 429 {
                            retry_after
                        } else {
                            None
                        }
                    } else if (400..500).contains(&status) {
                        return Err(VonageError::Rejected {
                            status,
                            detail: error_detail(&body),
                        });
                    } else {
                        // 1xx/3xx (redirects are not followed) or a nonsense status.
                        return Err(VonageError::Unavailable {
                            detail: format!("unexpected HTTP {status}{}", body_suffix(&body)),
                            attempts: attempt,
                        });
                    }
                }
            };

            if attempt >= max_attempts {
                return Err(VonageError::Unavailable {
                    detail: format!("{last_failure} (gave up after {attempt} attempt(s))"),
                    attempts: attempt,
                });
            }

            let mut delay = self.backoff(attempt);
            if let Some(wait) = retry_after {
                let left = deadline.saturating_duration_since(Instant::now());
                if wait.saturating_add(MIN_ATTEMPT_BUDGET) > left {
                    return Err(VonageError::Unavailable {
                        detail: format!(
                            "{last_failure}; Retry-After {}s does not fit before the deadline",
                            wait.as_secs()
                        ),
                        attempts: attempt,
                    });
                }
                delay = delay.max(wait);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if delay.saturating_add(MIN_ATTEMPT_BUDGET) > left {
                return Err(VonageError::Unavailable {
                    detail: format!("{last_failure}; no time left for another attempt"),
                    attempts: attempt,
                });
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP attempt, bounded by `timeout` from sending to the end of the body.
    async fn attempt(
        &self,
        url: &reqwest::Url,
        form: &[(&str, &str)],
        timeout: Duration,
    ) -> Attempt {
        let request = self
            .http
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .timeout(timeout);
        let exchange = async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut body = Vec::new();
            let mut truncated = false;
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Attempt::Answer {
                status,
                body,
                truncated,
                retry_after,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Attempt::NoAnswer(format!("timed out after {} ms", timeout.as_millis())),
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Attempt::NoAnswer(describe_reqwest_error(e, timeout)),
        }
    }

    /// Full-jitter exponential backoff after failed attempt number `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let cap = self
            .policy
            .base_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay);
        let cap_nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=cap_nanos))
    }

    /// The body with any occurrence of the API secret replaced, so that no detail or log built
    /// from it can leak the secret.
    fn redact(&self, body: Vec<u8>) -> Vec<u8> {
        let secret = self.api_secret.as_bytes();
        if secret.is_empty() || !contains(&body, secret) {
            return body;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            if body[i..].starts_with(secret) {
                out.extend_from_slice(b"[redacted]");
                i += secret.len();
            } else {
                out.push(body[i]);
                i += 1;
            }
        }
        out
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A reqwest error as a short, credential-free description.
fn describe_reqwest_error(e: reqwest::Error, timeout: Duration) -> String {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response body failed"
    } else {
        "request failed"
    };
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", sanitize_snippet(&text))
    }
}

/// Put the real HTTP status and attempt count into an error from a pure parse function.
fn fix_error(e: VonageError, status: u16, attempts: u32) -> VonageError {
    match e {
        VonageError::Rejected { detail, .. } => VonageError::Rejected { status, detail },
        VonageError::Unavailable { detail, .. } => VonageError::Unavailable {
            detail: format!("HTTP {status}: {detail}"),
            attempts,
        },
        other => other,
    }
}

/// `": <snippet>"` for a non-empty body, else `""`.
fn body_suffix(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", sanitize_snippet(&text))
    }
}

/// Detail for an error status: the Vonage error label when the body is JSON with one, else a
/// snippet of the body.
fn error_detail(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if let Some(detail) = error_code_detail(&map) {
            return detail;
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        "empty body".to_owned()
    } else {
        sanitize_snippet(&text)
    }
}

/// `error-code` / `error-code-label` of an older-style Vonage error body, if present. An
/// `error-code` of `"0"` (success in Vonage's older APIs) without a label does not count.
fn error_code_detail(map: &Map<String, Value>) -> Option<String> {
    let code = map.get("error-code").and_then(scalar_text);
    let label = map.get("error-code-label").and_then(scalar_text);
    match (code, label) {
        (None, None) => None,
        (Some(code), None) if code.trim() == "0" => None,
        (Some(code), None) => Some(format!("error-code {}", sanitize_snippet(&code))),
        (None, Some(label)) => Some(format!("error: {}", sanitize_snippet(&label))),
        (Some(code), Some(label)) => Some(sanitize_snippet(&format!(
            "error-code {}: {}",
            code.trim(),
            label.trim()
        ))),
    }
}

/// A JSON scalar as text (strings as-is, numbers and booleans printed); `None` for null,
/// arrays and objects.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Make echoed text safe for an error detail: control characters become spaces, phone-like
/// digit runs (6+ digits, possibly separated by spaces, dashes, dots, parentheses or `+`) keep
/// only their last 4 digits, and the result is cut to 200 characters.
fn sanitize_snippet(text: &str) -> String {
    let chars: Vec<char> = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let is_sep = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')' | '+');
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Extend over digits and separators, ending on the last digit.
        let start = i;
        let mut end = i; // exclusive end of the last digit seen
        let mut j = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || is_sep(chars[j])) {
            if chars[j].is_ascii_digit() {
                end = j + 1;
            }
            j += 1;
        }
        let run = &chars[start..end];
        let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
        if digits >= 6 {
            let mut keep = 4;
            let mut masked: Vec<char> = run.to_vec();
            for c in masked.iter_mut().rev() {
                if c.is_ascii_digit() {
                    if keep > 0 {
                        keep -= 1;
                    } else {
                        *c = '*';
                    }
                }
            }
            out.extend(masked);
        } else {
            out.extend_from_slice(run);
        }
        i = end;
    }
    let mut s: String = out.into_iter().take(DETAIL_MAX_CHARS).collect();
    if text.trim().chars().count() > DETAIL_MAX_CHARS {
        s.push('…');
    }
    s
}

/// Why a body is not JSON we can read, as a short detail.
fn unparseable_detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        return "empty body".to_owned();
    }
    let kind = if t.starts_with('<') {
        "HTML/XML body instead of JSON"
    } else {
        "body is not valid JSON"
    };
    format!("{kind}: {}", sanitize_snippet(t))
}

/// Parse a body into a JSON object, classifying failures: empty/unparseable/non-object bodies are
/// `Unavailable`, bodies with `error-code` / `error-code-label` are `Rejected`. Pure-function
/// errors carry status 200 and 0 attempts; the client fills in the real values.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, VonageError> {
    let unavailable = |detail: String| VonageError::Unavailable {
        detail,
        attempts: 0,
    };
    let text = std::str::from_utf8(body).map_err(|_| unavailable(unparseable_detail(body)))?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(unavailable("empty body".to_owned()));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|_| unavailable(unparseable_detail(body)))?;
    let Value::Object(map) = value else {
        return Err(unavailable(format!(
            "JSON body is not an object: {}",
            sanitize_snippet(text)
        )));
    };
    if let Some(detail) = error_code_detail(&map) {
        return Err(VonageError::Rejected {
            status: 200,
            detail,
        });
    }
    Ok(map)
}

/// Lenient boolean: the strings `"true"` / `"false"` (any case, surrounding spaces allowed), or a
/// JSON boolean. `Err(())` for anything else.
fn lenient_bool(v: &Value) -> Result<bool, ()> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if s.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                Err(())
            }
        }
        _ => Err(()),
    }
}

/// A value absent, `null` or a blank string counts as "not set".
fn is_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// Short description of a JSON value for a skip reason or detail, without echoing digits.
fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!(
            "\"{}\"",
            sanitize_snippet(s).chars().take(40).collect::<String>()
        ),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => "a number".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Parse a Vonage date leniently, as UTC: `YYYY-MM-DD HH:MM:SS` with any amount of whitespace
/// around and between date and time (one official example has several spaces); also accepts a
/// `T` separator and a trailing `Z`. `None` for anything else.
pub fn parse_vonage_date(s: &str) -> Option<OffsetDateTime> {
    let date_fmt = format_description!("[year]-[month]-[day]");
    let time_fmt = format_description!("[hour]:[minute]:[second]");
    let s = s.trim();
    let mut parts = s.split_whitespace();
    let (date_s, time_s) = match (parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(t), None) => (d, t),
        (Some(one), None, None) => {
            let (d, t) = one.split_once(['T', 't'])?;
            (d, t.strip_suffix(['Z', 'z']).unwrap_or(t))
        }
        _ => return None,
    };
    let date = Date::parse(date_s, &date_fmt).ok()?;
    let time = Time::parse(time_s, &time_fmt).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Parse a manage response body. `Ok` only for a JSON object whose `opt-in` is `"true"`
/// (`attempts` is left at 0, `msisdn` is the masked echoed number or empty when absent).
///
/// Errors: empty, HTML, unparseable, non-object, no `opt-in`, or an invalid echoed `msisdn` →
/// `Unavailable` (attempts 0); `error-code` / `error-code-label` or `opt-in` other than `"true"` →
/// `Rejected` with status 200 (the client substitutes the real 2xx status).
pub fn parse_manage_response(body: &[u8]) -> Result<ManageConfirmation, VonageError> {
    parse_manage(body).map(|(confirmation, _)| confirmation)
}

/// [`parse_manage_response`], also returning the echoed number (for the client's check).
fn parse_manage(body: &[u8]) -> Result<(ManageConfirmation, Option<Msisdn>), VonageError> {
    let map = parse_object(body)?;
    let unavailable = |detail: String| VonageError::Unavailable {
        detail,
        attempts: 0,
    };
    let Some(opt_in_value) = map.get("opt-in") else {
        return Err(unavailable(format!(
            "manage response has no \"opt-in\" field: {}",
            sanitize_snippet(&String::from_utf8_lossy(body))
        )));
    };
    if lenient_bool(opt_in_value) != Ok(true) {
        return Err(VonageError::Rejected {
            status: 200,
            detail: format!(
                "Vonage did not opt the number in: \"opt-in\" is {}",
                describe_value(opt_in_value)
            ),
        });
    }
    let echoed = match map.get("msisdn") {
        v if is_unset(v) => None,
        Some(v) => {
            let text = scalar_text(v).unwrap_or_default();
            match Msisdn::from_provider(text.trim()) {
                Ok(m) => Some(m),
                Err(_) => {
                    return Err(unavailable(format!(
                        "manage response has an invalid \"msisdn\" ({})",
                        describe_value(v)
                    )))
                }
            }
        }
        None => None,
    };
    let opt_in_date = map
        .get("opt-in-date")
        .and_then(Value::as_str)
        .and_then(parse_vonage_date)
        .and_then(|d| d.format(&Rfc3339).ok());
    let opt_out = map.get("opt-out").and_then(|v| lenient_bool(v).ok());
    let confirmation = ManageConfirmation {
        msisdn: echoed.as_ref().map(ToString::to_string).unwrap_or_default(),
        opt_in: true,
        opt_in_date,
        opt_out,
        attempts: 0,
    };
    Ok((confirmation, echoed))
}

/// Parse a query response body leniently.
///
/// - `opt-in-count` (string or number) becomes `total`; absent or not a number → `None`.
/// - `opt-in-list` absent or `null` → an empty page (Vonage documents no "empty" shape; an absent
///   list is read as "no entries", with `total` still reported so a caller can notice a mismatch).
///   A single object instead of an array is read as a one-entry list. Any other type → `Unavailable`.
/// - Each entry needs a valid `msisdn` (string, or number, of E.164 digits) and an `opt-out` of
///   `"true"`/`"false"`; `opt-in` defaults to `false` when absent; dates are optional
///   ([`parse_vonage_date`]; absent, null or blank = not set). A malformed entry (wrong types,
///   invalid number, boolean not true/false, a date present but unparseable) is put in `skipped`
///   with its index and a reason, and never fails the page.
/// - Errors for the whole body are as for [`parse_manage_response`] (empty/HTML/unparseable →
///   `Unavailable`, `error-code` → `Rejected`).
pub fn parse_query_response(body: &[u8]) -> Result<QueryPage, VonageError> {
    let map = parse_object(body)?;
    let total = match map.get("opt-in-count") {
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    let list: &[Value] = match map.get("opt-in-list") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        Some(other) => {
            return Err(VonageError::Unavailable {
                detail: format!(
                    "query response \"opt-in-list\" is {}, not a list",
                    describe_value(other)
                ),
                attempts: 0,
            })
        }
    };
    let mut entries = Vec::with_capacity(list.len());
    let mut skipped = Vec::new();
    for (index, item) in list.iter().enumerate() {
        match parse_entry(item) {
            Ok(entry) => entries.push(entry),
            Err(reason) => skipped.push(SkippedEntry { index, reason }),
        }
    }
    Ok(QueryPage {
        entries,
        skipped,
        total,
    })
}

/// One `opt-in-list` entry, or the reason it is skipped (no full number in it).
fn parse_entry(item: &Value) -> Result<OptListEntry, String> {
    let Value::Object(entry) = item else {
        return Err(format!("entry is {}, not an object", describe_value(item)));
    };
    let msisdn = match entry.get("msisdn") {
        v if is_unset(v) => return Err("missing \"msisdn\"".to_owned()),
        Some(v @ (Value::String(_) | Value::Number(_))) => {
            let text = scalar_text(v).unwrap_or_default();
            Msisdn::from_provider(text.trim())
                .map_err(|_| format!("invalid \"msisdn\" ({})", describe_value(v)))?
        }
        Some(v) => return Err(format!("\"msisdn\" is {}", describe_value(v))),
        None => return Err("missing \"msisdn\"".to_owned()),
    };
    let opted_out = match entry.get("opt-out") {
        None | Some(Value::Null) => return Err("missing \"opt-out\"".to_owned()),
        Some(v) => lenient_bool(v).map_err(|()| {
            format!(
                "\"opt-out\" is {}, not \"true\"/\"false\"",
                describe_value(v)
            )
        })?,
    };
    let opted_in = match entry.get("opt-in") {
        None | Some(Value::Null) => false,
        Some(v) => lenient_bool(v).map_err(|()| {
            format!(
                "\"opt-in\" is {}, not \"true\"/\"false\"",
                describe_value(v)
            )
        })?,
    };
    let opt_out_date = entry_date(entry, "opt-out-date")?;
    let opt_in_date = entry_date(entry, "opt-in-date")?;
    Ok(OptListEntry {
        msisdn,
        opted_out,
        opt_out_date,
        opted_in,
        opt_in_date,
    })
}

/// An optional date field of an entry: not set → `None`; set but unparseable → skip reason.
fn entry_date(entry: &Map<String, Value>, key: &str) -> Result<Option<OffsetDateTime>, String> {
    let v = entry.get(key);
    if is_unset(v) {
        return Ok(None);
    }
    match v {
        Some(Value::String(s)) => parse_vonage_date(s).map(Some).ok_or_else(|| {
            format!(
                "unparseable \"{key}\" ({})",
                describe_value(&Value::String(s.clone()))
            )
        }),
        Some(other) => Err(format!("\"{key}\" is {}", describe_value(other))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_masks_phone_numbers_and_truncates() {
        let s = sanitize_snippet("number 15559301529 and +1 (555) 930-1529, code 401, 2014-06");
        assert!(!s.contains("15559301529"), "{s}");
        assert!(s.contains("*******1529"), "{s}");
        assert!(!s.contains("555) 930"), "{s}");
        assert!(s.contains("401"), "{s}");
        let long = "x".repeat(1000);
        assert!(sanitize_snippet(&long).chars().count() <= DETAIL_MAX_CHARS + 1);
    }

    #[test]
    fn backoff_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 40,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            attempt_timeout: Duration::from_secs(1),
        };
        let Ok(client) = OptInClient::new("http://127.0.0.1:9", "k", "s") else {
            panic!("client")
        };
        let client = client.with_retry_policy(policy);
        for attempt in 1..40 {
            assert!(client.backoff(attempt) <= Duration::from_millis(300));
        }
    }

    #[test]
    fn redact_removes_secret() {
        let Ok(client) = OptInClient::new("http://127.0.0.1:9", "k", "s3cr3t") else {
            panic!("client")
        };
        let out = client.redact(b"a s3cr3t b s3cr3t".to_vec());
        assert_eq!(&*out, b"a [redacted] b [redacted]");
    }
}
