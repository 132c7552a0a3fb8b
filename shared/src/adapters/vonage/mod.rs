//! Vonage's REST API (docs/vonage.md): the US short code opt-in API's "manage" call (lifts
//! Vonage's block on a number) and "query" call (the opted-out list), and sending SMS.
//! Credentials always go in a POST **body**, never the URL, so no proxy or access log sees the
//! secret. Nothing here logs or puts into an error the secret, a full phone number, or a URL with
//! credentials: numbers go through [`Msisdn`]'s masked `Display`, echoed bodies through [`redact`].

pub mod client;
pub mod redact;
pub mod responses;
pub mod retry;

pub use client::VonageClient;
pub use retry::RetryPolicy;

use crate::domain::msisdn::Msisdn;
use time::OffsetDateTime;

pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

/// Vonage's confirmation that a number was removed from the opt-out list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ManageConfirmation {
    /// The number Vonage echoed (checked to be the one asked about), **masked**: this struct
    /// goes into responses and logs.
    pub msisdn: String,
    /// Always `true`: anything else is [`VonageError::Rejected`].
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
    pub entries: Vec<OptListEntry>,
    /// Entries that did not parse; they never fail the page.
    pub skipped: Vec<SkippedEntry>,
    /// `opt-in-count` (Vonage's total, not this page's length); `None` when absent or not a number.
    pub total: Option<u64>,
}

/// An entry of the list: Vonage's `opt-out` (required), `opt-out-date`, `opt-in` (`false` when
/// absent) and `opt-in-date`.
#[derive(Debug, Clone, PartialEq)]
pub struct OptListEntry {
    pub msisdn: Msisdn,
    pub opted_out: bool,
    pub opt_out_date: Option<OffsetDateTime>,
    pub opted_in: bool,
    pub opt_in_date: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct SkippedEntry {
    /// Zero-based position in `opt-in-list`.
    pub index: usize,
    /// Never contains a full phone number.
    pub reason: String,
}

/// Why a call to Vonage did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum VonageError {
    /// Vonage said no: 4xx other than 429, a JSON body with `error-code`, or a manage body with
    /// `"opt-in"` != `"true"`. Not retried.
    #[error("Vonage rejected the request (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
    /// No answer we can trust: network error, timeout, 429/5xx after retries, a 3xx, or a 2xx
    /// whose body is empty, HTML, unparseable, too large or about another number.
    #[error("Vonage unavailable after {attempts} attempt(s): {detail}")]
    Unavailable { detail: String, attempts: u32 },
    /// Bad base URL, empty credentials, HTTP client build failure.
    #[error("Vonage client misconfigured: {0}")]
    Config(String),
}

impl VonageError {
    /// For logs, metrics and API responses.
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
