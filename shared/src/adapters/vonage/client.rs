//! The HTTP side of Vonage's REST API: one reqwest client per container, form-urlencoded POSTs
//! with the credentials in the body (never the URL), bounded bodies, retries as [`super::retry`]
//! decides, and answers parsed by [`super::responses`].

use super::redact::redact_secret;
use super::responses::{
    body_suffix, error_detail, fix_error, parse_manage, parse_query_response, parse_send_response,
    SendAnswer,
};
use super::retry::{self, full_jitter, GiveUp, Next, RetryPolicy, Verdict, MIN_ATTEMPT_BUDGET};
use super::{
    ManageConfirmation, OutgoingSms, QueryPage, SendOutcome, VonageError, DEFAULT_BASE_URL,
};
use crate::domain::msisdn::Msisdn;
use std::fmt;
use std::time::{Duration, Instant};

/// Path of the "remove from the opt-out list" call.
const MANAGE_PATH: &str = "/sc/us/alert/opt-in/manage/json";
/// Path of the "list opted-out numbers" call.
const QUERY_PATH: &str = "/sc/us/alert/opt-in/query/json";
/// Path of the SMS API's send call.
const SEND_PATH: &str = "/sms/json";

/// Largest response body read. Manage bodies are ~100 bytes and a 100-entry query page ~15 KB;
/// anything bigger is not a Vonage answer we understand.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Client for the US short code opt-in API. Cheap to clone (the HTTP client is shared):
/// build it once per Lambda container.
#[derive(Clone)]
pub struct VonageClient {
    http: reqwest::Client,
    manage_url: reqwest::Url,
    query_url: reqwest::Url,
    send_url: reqwest::Url,
    api_key: String,
    api_secret: String,
    policy: RetryPolicy,
}

impl fmt::Debug for VonageClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VonageClient")
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
    Send,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Manage => "manage",
            Call::Query => "query",
            Call::Send => "send",
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
    NoAnswer {
        detail: String,
        /// Whether the request may have reached Vonage (anything but a failed connection).
        maybe_delivered: bool,
    },
}

impl VonageClient {
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
        let send_url = reqwest::Url::parse(&format!("{trimmed}{SEND_PATH}"))
            .map_err(|e| VonageError::Config(format!("cannot build the send URL: {e}")))?;
        // The compiled-in roots and the cryptography the SDK uses too ([`crate::adapters::tls`]).
        let http = crate::adapters::tls::reqwest_builder()
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
            send_url,
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
            policy: RetryPolicy::default(),
        })
    }

    /// From settings: `VONAGE_API_KEY`, `VONAGE_API_SECRET`, `VONAGE_API_BASE_URL` (default
    /// [`DEFAULT_BASE_URL`]).
    pub fn from_settings(
        settings: &crate::adapters::config::Settings,
    ) -> Result<Self, crate::adapters::config::ConfigError> {
        let base = settings
            .get("VONAGE_API_BASE_URL")
            .unwrap_or(DEFAULT_BASE_URL);
        Self::new(
            base,
            settings.require("VONAGE_API_KEY")?,
            settings.require("VONAGE_API_SECRET")?,
        )
        .map_err(|e| crate::adapters::config::ConfigError::Invalid {
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

    /// Send one SMS (`POST {base}/sms/json`, form body, credentials in the body). Vonage has no
    /// idempotency key (two calls are two texts), so only what certainly did not send is tried
    /// again: a failed connection, an HTTP 429 or 5xx, and the body statuses `"1"` (throttled)
    /// and `"5"` (internal error), with backoff per `policy`, by `deadline`. A request that may
    /// have reached Vonage without an answer we can read is [`SendOutcome::Unknown`], never
    /// retried here.
    pub async fn send_sms(
        &self,
        sms: &OutgoingSms<'_>,
        policy: &RetryPolicy,
        deadline: Instant,
    ) -> SendOutcome {
        let unicode = crate::domain::sms::measure(sms.text).0 == crate::domain::sms::Alphabet::Ucs2;
        let mut form = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.as_str()),
            ("from", sms.from),
            ("to", sms.to.as_str()),
            ("text", sms.text),
            ("client-ref", sms.client_ref),
        ];
        if unicode {
            form.push(("type", "unicode"));
        }
        let subject = sms.to.masked();
        let mut attempt: u32 = 0;
        let mut last = String::from("deadline reached before the first attempt");
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT_BUDGET {
                return SendOutcome::NotSent {
                    detail: format!("{last}; deadline reached"),
                    attempts: attempt,
                };
            }
            attempt += 1;
            let timeout = remaining.min(policy.attempt_timeout);
            let retry_after = match self.attempt(&self.send_url, &form, timeout).await {
                Attempt::NoAnswer {
                    detail,
                    maybe_delivered: true,
                } => {
                    tracing::warn!(call = Call::Send.name(), subject, attempt, error = %detail, "Vonage send: no answer after the request may have arrived");
                    return SendOutcome::Unknown {
                        detail,
                        attempts: attempt,
                    };
                }
                Attempt::NoAnswer { detail, .. } => {
                    tracing::warn!(call = Call::Send.name(), subject, attempt, error = %detail, "Vonage send: not connected");
                    last = detail;
                    None
                }
                Attempt::Answer {
                    status,
                    body,
                    retry_after,
                    ..
                } => {
                    let body = redact_secret(body, &self.api_secret);
                    match retry::classify(Some((status, retry_after))) {
                        Verdict::Answered => match parse_send_response(&body) {
                            SendAnswer::Accepted(message_ids) => {
                                tracing::info!(
                                    call = Call::Send.name(),
                                    subject,
                                    attempt,
                                    "Vonage send: accepted"
                                );
                                return SendOutcome::Accepted {
                                    message_ids,
                                    attempts: attempt,
                                };
                            }
                            SendAnswer::TryAgain { status, detail } => {
                                tracing::warn!(
                                    call = Call::Send.name(),
                                    subject,
                                    attempt,
                                    vonage_status = status.as_str(),
                                    "Vonage send: not sent, worth another try"
                                );
                                last = format!("status {status}: {detail}");
                                None
                            }
                            SendAnswer::Refused { status, detail } => {
                                tracing::warn!(
                                    call = Call::Send.name(),
                                    subject,
                                    attempt,
                                    vonage_status = status.as_str(),
                                    "Vonage send: refused"
                                );
                                return SendOutcome::Refused {
                                    status,
                                    detail,
                                    attempts: attempt,
                                };
                            }
                            SendAnswer::Unreadable(detail) => {
                                return SendOutcome::Unknown {
                                    detail: format!("HTTP {status}: {detail}"),
                                    attempts: attempt,
                                }
                            }
                        },
                        Verdict::Retry { retry_after } => {
                            last = format!("HTTP {status}{}", body_suffix(&body));
                            retry_after
                        }
                        Verdict::Refused => {
                            return SendOutcome::Refused {
                                status: format!("http-{status}"),
                                detail: error_detail(&body),
                                attempts: attempt,
                            }
                        }
                        // Redirects are not followed: the request was not processed.
                        Verdict::Unusable => {
                            return SendOutcome::NotSent {
                                detail: format!("unexpected HTTP {status}{}", body_suffix(&body)),
                                attempts: attempt,
                            }
                        }
                    }
                }
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match retry::next(policy, attempt, retry_after, left, full_jitter) {
                Next::Wait(wait) => tokio::time::sleep(wait).await,
                Next::GiveUp(_) => {
                    return SendOutcome::NotSent {
                        detail: format!("{last} (gave up after {attempt} attempt(s))"),
                        attempts: attempt,
                    }
                }
            }
        }
    }

    /// Run one call with retries ([`super::retry`] decides). Returns the 2xx status, the body
    /// (secret stripped) and the number of attempts made; every other outcome is an error.
    async fn call(
        &self,
        call: Call,
        url: &reqwest::Url,
        form: &[(&str, &str)],
        subject: &str,
        deadline: Instant,
    ) -> Result<(u16, Vec<u8>, u32), VonageError> {
        let mut attempt: u32 = 0;
        let mut last_failure = String::from("deadline reached before the first attempt");
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT_BUDGET {
                tracing::warn!(
                    call = call.name(),
                    subject,
                    attempts = attempt,
                    "Vonage: deadline reached, giving up"
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

            let (verdict, status, body) = match outcome {
                Attempt::NoAnswer { detail, .. } => {
                    tracing::warn!(
                        call = call.name(),
                        subject,
                        attempt,
                        latency_ms,
                        error = %detail,
                        "Vonage attempt failed without an answer"
                    );
                    last_failure = detail;
                    (retry::classify(None), 0, Vec::new())
                }
                Attempt::Answer {
                    status,
                    body,
                    truncated,
                    retry_after,
                } => {
                    let body = redact_secret(body, &self.api_secret);
                    let verdict = retry::classify(Some((status, retry_after)));
                    if verdict == Verdict::Answered {
                        tracing::info!(
                            call = call.name(),
                            subject,
                            attempt,
                            status,
                            latency_ms,
                            "Vonage attempt answered"
                        );
                        if truncated {
                            return Err(VonageError::Unavailable {
                                detail: format!(
                                    "HTTP {status} with a body larger than {MAX_BODY_BYTES} bytes"
                                ),
                                attempts: attempt,
                            });
                        }
                    } else {
                        tracing::warn!(
                            call = call.name(),
                            subject,
                            attempt,
                            status,
                            latency_ms,
                            "Vonage attempt answered with an error status"
                        );
                    }
                    (verdict, status, body)
                }
            };
            let retry_after = match verdict {
                Verdict::Answered => return Ok((status, body, attempt)),
                Verdict::Refused => {
                    return Err(VonageError::Rejected {
                        status,
                        detail: error_detail(&body),
                    })
                }
                Verdict::Unusable => {
                    return Err(VonageError::Unavailable {
                        detail: format!("unexpected HTTP {status}{}", body_suffix(&body)),
                        attempts: attempt,
                    })
                }
                Verdict::Retry { retry_after } => {
                    if status != 0 {
                        last_failure = format!("HTTP {status}{}", body_suffix(&body));
                    }
                    retry_after
                }
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = match retry::next(&self.policy, attempt, retry_after, left, full_jitter) {
                Next::Wait(wait) => wait,
                Next::GiveUp(GiveUp::AttemptsExhausted) => {
                    return Err(VonageError::Unavailable {
                        detail: format!("{last_failure} (gave up after {attempt} attempt(s))"),
                        attempts: attempt,
                    })
                }
                Next::GiveUp(GiveUp::RetryAfterTooLong(wait)) => {
                    return Err(VonageError::Unavailable {
                        detail: format!(
                            "{last_failure}; Retry-After {}s does not fit before the deadline",
                            wait.as_secs()
                        ),
                        attempts: attempt,
                    })
                }
                Next::GiveUp(GiveUp::NoTimeLeft) => {
                    return Err(VonageError::Unavailable {
                        detail: format!("{last_failure}; no time left for another attempt"),
                        attempts: attempt,
                    })
                }
            };
            tokio::time::sleep(wait).await;
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
            Err(_) => Attempt::NoAnswer {
                detail: format!("timed out after {} ms", timeout.as_millis()),
                maybe_delivered: true,
            },
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Attempt::NoAnswer {
                maybe_delivered: !e.is_connect(),
                detail: describe_reqwest_error(e, timeout),
            },
        }
    }
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
        format!("{kind}: {}", super::redact::sanitize_snippet(&text))
    }
}
