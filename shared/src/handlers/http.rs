//! The HTTP boundary: one error type for every route ([`ApiError`]), mapped to a response in one
//! place, the one `From` per domain and adapter error, and [`json_response`].

use crate::adapters::metrics::Metric;
use crate::adapters::store::StoreError;
use crate::adapters::vonage::VonageError;
use crate::domain::inbound::ParseError;
use crate::domain::msisdn::MsisdnError;
use crate::domain::signature::SignatureError;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

crate::named_enum! {
    /// Every error code a caller can get: the stable part of an error body (openapi.yaml's
    /// `Error` schema; docs/api.md says what a caller should do with each).
    #[strum(serialize_all = "snake_case")]
    pub enum ErrorCode {
        /// Webhook: not an inbound message (missing or invalid fields, bad JSON, repeated fields).
        InvalidMessage,
        /// The event could not be read as an HTTP request at all ([`super::gateway::Unreadable`]).
        InvalidRequest,
        InvalidJson,
        InvalidMsisdn,
        InvalidConsent,
        InvalidEvidence,
        InvalidParameter,
        InvalidCursor,
        InvalidSignature,
        InvalidToken,
        Unauthorized,
        /// A known key whose role does not grant the route.
        Forbidden,
        NotFound,
        MethodNotAllowed,
        PayloadTooLarge,
        /// The number opted out after the consent was captured.
        NewerOptOut,
        /// The same `Idempotency-Key` with another body.
        IdempotencyConflict,
        /// A review item already resolved with another decision.
        ReviewResolved,
        ProviderRejected,
        ProviderUnavailable,
        StorageUnavailable,
    }
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidMessage
            | ErrorCode::InvalidRequest
            | ErrorCode::InvalidJson
            | ErrorCode::InvalidMsisdn
            | ErrorCode::InvalidConsent
            | ErrorCode::InvalidEvidence
            | ErrorCode::InvalidParameter
            | ErrorCode::InvalidCursor => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidSignature | ErrorCode::InvalidToken | ErrorCode::Unauthorized => {
                StatusCode::UNAUTHORIZED
            }
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::NewerOptOut | ErrorCode::IdempotencyConflict | ErrorCode::ReviewResolved => {
                StatusCode::CONFLICT
            }
            ErrorCode::ProviderRejected | ErrorCode::ProviderUnavailable => StatusCode::BAD_GATEWAY,
            ErrorCode::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The operator metric a refusal with this code counts in; Vonage's refusals and conflicts
    /// are outcomes of their route, counted there.
    pub fn metric(self) -> Option<Metric> {
        match self {
            ErrorCode::InvalidSignature | ErrorCode::InvalidToken => {
                Some(Metric::SignatureFailures)
            }
            ErrorCode::StorageUnavailable => Some(Metric::StorageErrors),
            ErrorCode::ProviderUnavailable => Some(Metric::ProviderUnavailable),
            ErrorCode::NewerOptOut
            | ErrorCode::IdempotencyConflict
            | ErrorCode::ReviewResolved
            | ErrorCode::ProviderRejected => None,
            _ => Some(Metric::InvalidRequests),
        }
    }
}

/// `{"error": code, "message": text}` with the code's status. `message` is for people and never
/// holds a secret or a full number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// A 405's `Allow` header: the methods the path has (RFC 9110, section 15.5.6).
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            allow: None,
        }
    }
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
    /// 405 for a path whose methods are `allowed` (`GET, POST`), sent in the `Allow` header too.
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self {
            allow: Some(allowed.to_owned()),
            ..Self::new(
                ErrorCode::MethodNotAllowed,
                format!("allowed methods: {allowed}"),
            )
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        )
    }
    /// `Err` for a stand-in request made from an event that could not be read as one.
    pub fn check_readable(req: &lambda_http::Request) -> Result<(), Self> {
        match req.extensions().get::<super::gateway::Unreadable>() {
            Some(super::gateway::Unreadable(reason)) => {
                Err(Self::new(ErrorCode::InvalidRequest, *reason))
            }
            None => Ok(()),
        }
    }
    /// Storage failed: 503 so the caller (Vonage, the website backend) retries later.
    pub fn storage_unavailable() -> Self {
        Self::new(
            ErrorCode::StorageUnavailable,
            "the record could not be written or read; nothing was changed, retry later",
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = json_response(
            self.status(),
            &ErrorBody {
                error: self.code,
                message: &self.message,
            },
        );
        if let Some(allow) = self
            .allow
            .and_then(|a| header::HeaderValue::from_str(&a).ok())
        {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status().as_u16(),
            self.code.as_str(),
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl From<ParseError> for ApiError {
    fn from(err: ParseError) -> Self {
        Self::new(ErrorCode::InvalidMessage, err.to_string())
    }
}

impl From<SignatureError> for ApiError {
    fn from(err: SignatureError) -> Self {
        let message = match err {
            SignatureError::Missing => "the request is not signed".to_string(),
            SignatureError::Mismatch => "the signature does not match".to_string(),
            SignatureError::Stale => {
                "the signature's timestamp is more than 5 minutes off".to_string()
            }
            SignatureError::Malformed(reason) => format!("the signature is malformed: {reason}"),
        };
        Self::new(ErrorCode::InvalidSignature, message)
    }
}

/// The message never holds the input.
impl From<MsisdnError> for ApiError {
    fn from(err: MsisdnError) -> Self {
        Self::new(ErrorCode::InvalidMsisdn, err.to_string())
    }
}

/// A cursor we did not issue is the caller's mistake; anything else is ours (503, retried), its
/// detail logged, never answered.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BadCursor => Self::new(
                ErrorCode::InvalidCursor,
                "cursor is not one this API returned",
            ),
            other => {
                tracing::error!(error = %other, "storage call failed");
                Self::storage_unavailable()
            }
        }
    }
}

impl From<VonageError> for ApiError {
    fn from(err: VonageError) -> Self {
        match err {
            VonageError::Rejected { .. } => Self::new(
                ErrorCode::ProviderRejected,
                "Vonage did not lift the block for this number; our record is unchanged",
            ),
            VonageError::Unavailable { .. } | VonageError::Config(_) => Self::new(
                ErrorCode::ProviderUnavailable,
                "Vonage could not be reached or gave no usable answer; our record is unchanged, retry later",
            ),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorCode,
    message: &'a str,
}

/// Serialising our own plain structs cannot fail; if it ever did, the caller gets a well-formed
/// 500 body rather than a panic.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"internal","message":"response could not be encoded"}"#.to_string(),
        ),
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_maps_to_small_json_body() {
        let response =
            ApiError::new(ErrorCode::InvalidMessage, "missing field `msisdn`").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["error"], "invalid_message");
        assert_eq!(body["message"], "missing field `msisdn`");
        assert_eq!(body.as_object().map(|o| o.len()), Some(2));
    }

    #[test]
    fn a_405_names_the_allowed_methods_in_its_allow_header() {
        let response = ApiError::method_not_allowed("GET, POST").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, POST");
        let response = ApiError::not_found("no such route").into_response();
        assert!(response.headers().get(header::ALLOW).is_none());
    }

    #[test]
    fn codes_serialise_as_their_names_and_map_to_statuses_and_metrics() {
        for &code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap_or_default(),
                code.as_str(),
                "{code:?}"
            );
            let status = code.status().as_u16();
            assert!((400..600).contains(&status), "{code:?}");
            // Every 4xx that is the caller's mistake counts as an invalid request; 5xx from
            // storage as a storage error; signature failures on their own.
            match code.metric() {
                Some(Metric::InvalidRequests) => assert!((400..500).contains(&status)),
                Some(Metric::StorageErrors) => assert_eq!(status, 503),
                Some(Metric::SignatureFailures) => assert_eq!(status, 401),
                Some(Metric::ProviderUnavailable) => {
                    assert_eq!(code, ErrorCode::ProviderUnavailable)
                }
                Some(other) => panic!("{code:?} counts in {other:?}"),
                None => assert!([409, 502].contains(&status), "{code:?}"),
            }
        }
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}
