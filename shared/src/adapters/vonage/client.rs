//! The HTTP side of Vonage's REST API: one reqwest client per container, form-urlencoded POSTs
//! with the credentials in the body (never the URL), bounded bodies, every call's attempts made
//! by [`retry::run`] under the call's [`RetryPolicy`], and answers parsed by [`super::responses`].

use super::redact::redact_secret;
use super::responses::{
    body_suffix, error_detail, fix_error, parse_manage, parse_query_response, parse_send_response,
    SendAnswer,
};
use super::retry::{self, RetryPolicy, Step, Verdict};
use super::{
    ManageConfirmation, OutgoingSms, QueryPage, SendOutcome, VonageError, DEFAULT_BASE_URL,
};
use crate::domain::deadline::Deadline;
use crate::domain::msisdn::Msisdn;
use std::fmt;
use std::time::{Duration, Instant};

const MANAGE_PATH: &str = "/sc/us/alert/opt-in/manage/json";
const QUERY_PATH: &str = "/sc/us/alert/opt-in/query/json";
const SEND_PATH: &str = "/sms/json";

/// Manage bodies are ~100 bytes and a 100-entry query page ~15 KB: anything bigger is not a
/// Vonage answer we understand.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Client for Vonage's SMS and US short code opt-in APIs; build it once per Lambda container.
#[derive(Clone)]
pub struct VonageClient {
    http: reqwest::Client,
    manage: Endpoint,
    query: Endpoint,
    send: Endpoint,
    api_key: String,
    api_secret: String,
}

#[derive(Clone, Debug)]
struct Endpoint {
    name: &'static str,
    url: reqwest::Url,
    policy: RetryPolicy,
}

impl fmt::Debug for VonageClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VonageClient")
            .field("manage", &self.manage)
            .field("query", &self.query)
            .field("send", &self.send)
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .finish()
    }
}

/// What one HTTP attempt came to, classified by [`retry::classify`] (bodies have the secret
/// stripped); each call makes its [`Step`] of it.
enum Exchange {
    Answered {
        status: u16,
        body: Vec<u8>,
        truncated: bool,
    },
    /// No answer (network error, timeout), or a 429/5xx: worth another attempt.
    Failed {
        failure: String,
        retry_after: Option<Duration>,
        /// Whether the request may have reached Vonage: an attempt without an answer, unless the
        /// connection failed.
        maybe_delivered: bool,
    },
    /// Another 4xx: Vonage said no.
    Refused { status: u16, body: Vec<u8> },
    /// 1xx, 3xx (redirects are not followed): not retried.
    Unusable(String),
}

impl VonageClient {
    /// `base_url` such as [`DEFAULT_BASE_URL`]; `http` is accepted for local test servers.
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
        let endpoint = |name: &'static str, path: &str, policy: RetryPolicy| {
            let url = reqwest::Url::parse(&format!("{trimmed}{path}"))
                .map_err(|e| VonageError::Config(format!("cannot build the {name} URL: {e}")))?;
            Ok::<_, VonageError>(Endpoint { name, url, policy })
        };
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
            manage: endpoint("manage", MANAGE_PATH, RetryPolicy::MANAGE)?,
            query: endpoint("query", QUERY_PATH, RetryPolicy::QUERY)?,
            send: endpoint("send", SEND_PATH, RetryPolicy::SEND)?,
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
        })
    }

    /// `VONAGE_API_KEY`, `VONAGE_API_SECRET`, `VONAGE_API_BASE_URL`.
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

    /// One retry policy for every call, instead of each call's own (tests: fast retries).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        for endpoint in [&mut self.manage, &mut self.query, &mut self.send] {
            endpoint.policy = policy.clone();
        }
        self
    }

    /// "Remove from the opt-out list". Success only when `"opt-in"` is `"true"` and the echoed
    /// number (when present) is the one asked about. Retries included, finishes by `deadline`.
    pub async fn manage_opt_in(
        &self,
        msisdn: &Msisdn,
        deadline: Deadline,
    ) -> Result<ManageConfirmation, VonageError> {
        let form = [
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.as_str()),
            ("msisdn", msisdn.as_str()),
        ];
        let masked = msisdn.to_string();
        let (status, body, attempts) = self.call(&self.manage, &form, &masked, deadline).await?;
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

    /// One page of the opted-out list ([`parse_query_response`]), by `deadline`.
    pub async fn query_page(
        &self,
        page: u32,
        page_size: u32,
        deadline: Deadline,
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
        let (status, body, attempts) = self.call(&self.query, &form, &label, deadline).await?;
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

    /// Send one SMS, by `deadline`. Vonage has no idempotency key (two calls are two texts), so
    /// only what certainly did not send is tried again (a failed connection, 429, 5xx, body
    /// statuses `"1"` and `"5"`); a request that may have reached Vonage without a readable
    /// answer is [`SendOutcome::Unknown`].
    pub async fn send_sms(&self, sms: &OutgoingSms<'_>, deadline: Deadline) -> SendOutcome {
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
        let (form, subject) = (&form[..], &sms.to.masked()[..]);
        let send = &self.send;
        let outcome = retry::run(&send.policy, deadline, |attempt, timeout| async move {
            let attempts = attempt;
            Step::Done(
                match self.exchange(send, form, subject, attempt, timeout).await {
                    Exchange::Failed {
                        failure: detail,
                        maybe_delivered: true,
                        ..
                    } => SendOutcome::Unknown { detail, attempts },
                    Exchange::Failed {
                        failure,
                        retry_after,
                        ..
                    } => {
                        return Step::Retry {
                            failure,
                            retry_after,
                        }
                    }
                    Exchange::Refused { status, body } => SendOutcome::Refused {
                        status: format!("http-{status}"),
                        detail: error_detail(&body),
                        attempts,
                    },
                    Exchange::Unusable(detail) => SendOutcome::NotSent { detail, attempts },
                    Exchange::Answered { status, body, .. } => match parse_send_response(&body) {
                        SendAnswer::Accepted(message_ids) => SendOutcome::Accepted {
                            message_ids,
                            attempts,
                        },
                        SendAnswer::TryAgain { status, detail } => {
                            tracing::warn!(
                                call = send.name,
                                subject,
                                attempt,
                                vonage_status = status.as_str(),
                                "Vonage send: not sent, worth another try"
                            );
                            return Step::retry(format!("status {status}: {detail}"));
                        }
                        SendAnswer::Refused { status, detail } => SendOutcome::Refused {
                            status,
                            detail,
                            attempts,
                        },
                        SendAnswer::Unreadable(detail) => SendOutcome::Unknown {
                            detail: format!("HTTP {status}: {detail}"),
                            attempts,
                        },
                    },
                },
            )
        })
        .await
        .unwrap_or_else(|stopped| SendOutcome::NotSent {
            detail: stopped.detail,
            attempts: stopped.attempts,
        });
        // Each attempt is logged; what only the body says is logged here (the record's outcome
        // is the caller's to log).
        if let SendOutcome::Refused {
            status, attempts, ..
        } = &outcome
        {
            tracing::warn!(
                call = send.name,
                subject,
                attempts,
                vonage_status = status.as_str(),
                "Vonage send: refused"
            );
        }
        outcome
    }

    /// An opt-in call (manage, query): the 2xx status, the body (secret stripped) and the
    /// attempts made. These calls change nothing twice, so every answerless attempt is retried.
    async fn call(
        &self,
        endpoint: &Endpoint,
        form: &[(&str, &str)],
        subject: &str,
        deadline: Deadline,
    ) -> Result<(u16, Vec<u8>, u32), VonageError> {
        retry::run(&endpoint.policy, deadline, |attempt, timeout| async move {
            let unavailable = |detail| {
                Step::Done(Err(VonageError::Unavailable {
                    detail,
                    attempts: attempt,
                }))
            };
            match self
                .exchange(endpoint, form, subject, attempt, timeout)
                .await
            {
                Exchange::Answered {
                    status,
                    truncated: true,
                    ..
                } => unavailable(format!(
                    "HTTP {status} with a body larger than {MAX_BODY_BYTES} bytes"
                )),
                Exchange::Answered { status, body, .. } => Step::Done(Ok((status, body, attempt))),
                Exchange::Failed {
                    failure,
                    retry_after,
                    ..
                } => Step::Retry {
                    failure,
                    retry_after,
                },
                Exchange::Refused { status, body } => Step::Done(Err(VonageError::Rejected {
                    status,
                    detail: error_detail(&body),
                })),
                Exchange::Unusable(detail) => unavailable(detail),
            }
        })
        .await
        .unwrap_or_else(|stopped| {
            tracing::warn!(
                call = endpoint.name, subject, attempts = stopped.attempts, error = %stopped.detail,
                "Vonage: giving up"
            );
            Err(VonageError::Unavailable {
                detail: stopped.detail,
                attempts: stopped.attempts,
            })
        })
    }

    /// One HTTP attempt, bounded by `timeout` from sending to the end of the body, logged.
    async fn exchange(
        &self,
        endpoint: &Endpoint,
        form: &[(&str, &str)],
        subject: &str,
        attempt: u32,
        timeout: Duration,
    ) -> Exchange {
        let started = Instant::now();
        let request = self
            .http
            .post(endpoint.url.clone())
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
            Ok::<_, reqwest::Error>((status, retry_after, body, truncated))
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Err(_) => Err((format!("timed out after {} ms", timeout.as_millis()), true)),
            Ok(Err(e)) => {
                // A failed connection sent nothing.
                let maybe_delivered = !e.is_connect();
                Err((describe_reqwest_error(e, timeout), maybe_delivered))
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let call = endpoint.name;
        let (status, retry_after, body, truncated) = match answer {
            Ok(answer) => answer,
            Err((failure, maybe_delivered)) => {
                tracing::warn!(
                    call, subject, attempt, latency_ms, error = %failure,
                    "Vonage attempt failed without an answer"
                );
                return Exchange::Failed {
                    failure,
                    retry_after: None,
                    maybe_delivered,
                };
            }
        };
        let body = redact_secret(body, &self.api_secret);
        let status_failure = |body: &[u8]| format!("HTTP {status}{}", body_suffix(body));
        match retry::classify(Some((status, retry_after))) {
            Verdict::Answered => {
                tracing::info!(
                    call,
                    subject,
                    attempt,
                    status,
                    latency_ms,
                    "Vonage attempt answered"
                );
                Exchange::Answered {
                    status,
                    body,
                    truncated,
                }
            }
            verdict => {
                tracing::warn!(
                    call,
                    subject,
                    attempt,
                    status,
                    latency_ms,
                    "Vonage attempt answered with an error status"
                );
                match verdict {
                    Verdict::Retry { retry_after } => Exchange::Failed {
                        failure: status_failure(&body),
                        retry_after,
                        maybe_delivered: false,
                    },
                    Verdict::Refused => Exchange::Refused { status, body },
                    _ => Exchange::Unusable(format!("unexpected {}", status_failure(&body))),
                }
            }
        }
    }
}

/// Short and credential-free.
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
