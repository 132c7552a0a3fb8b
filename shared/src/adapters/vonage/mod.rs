//! Vonage's US short code opt-in API: the "manage" call that lifts Vonage's block on a number
//! that texted STOP (what the resubscribe side calls), and the "query" call that lists the
//! opted-out numbers one page at a time.
//!
//! Facts this module is built on (docs/vonage.md, "The legacy US short code opt-in API"):
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
//! Files: [`client`] (the HTTP calls: one attempt classified, and what each call makes of it),
//! [`retry`] (the retry decision, each call's policy, and the one retry loop every call runs in),
//! [`responses`] (parsing and classifying answers, pure), [`redact`] (what may be echoed into an
//! error or a log line).
//!
//! Nothing here logs or puts into an error the API secret, a full phone number, or a URL with
//! credentials: numbers are logged through [`Msisdn`]'s masked `Display`, echoed bodies are
//! stripped of the secret, truncated to 200 characters and have phone-like digit
//! runs masked.

pub mod client;
pub mod redact;
pub mod responses;
pub mod retry;

pub use client::VonageClient;
pub use retry::RetryPolicy;

use crate::domain::msisdn::Msisdn;
use time::OffsetDateTime;

/// Vonage's REST host for the US short code APIs.
pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

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
    /// HTTP attempts the call took (1 = first try). [`responses::parse_manage_response`] leaves it at 0.
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

/// One SMS to send: from the number or short code the person texted, to the person.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    pub from: &'a str,
    pub to: &'a Msisdn,
    pub text: &'a str,
    /// Our reference, echoed in the delivery receipt (at most 40 characters).
    pub client_ref: &'a str,
}

/// How a send ended. Only [`SendOutcome::NotSent`] may be tried again later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Vonage accepted it for delivery (status `"0"`), with its message ids.
    Accepted {
        message_ids: Vec<String>,
        attempts: u32,
    },
    /// Certainly not sent, and worth trying again later: throttled, Vonage's internal error, no
    /// connection, 429/5xx.
    NotSent { detail: String, attempts: u32 },
    /// Not sent, and never will be as it stands: the number is barred (`"7"`), or the request,
    /// the credentials or the account were refused.
    Refused {
        status: String,
        detail: String,
        attempts: u32,
    },
    /// The request may have reached Vonage but no answer could be read (a timeout after
    /// sending, a broken connection, an unreadable 2xx body): sending again could make two texts.
    Unknown { detail: String, attempts: u32 },
}
