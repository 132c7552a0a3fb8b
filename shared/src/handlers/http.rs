//! The HTTP boundary: one error type for every route of every function, mapped to a response in
//! one place, and the small JSON helpers the handlers share.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

/// What a caller gets back when a request is refused or fails: `{"error": code, "message": text}`.
/// `code` is stable and machine-readable; `message` is for people and never holds a secret or a
/// full phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("allowed methods: {allowed}"),
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {limit} bytes"),
        )
    }
    /// The event could not be read as an HTTP request ([`crate::handlers::gateway::Unreadable`]).
    pub fn unreadable(reason: &str) -> Self {
        Self::bad_request("invalid_request", reason)
    }
    /// `Err` for a stand-in request made from an event that could not be read as one.
    pub fn check_readable(req: &lambda_http::Request) -> Result<(), Self> {
        match req
            .extensions()
            .get::<crate::handlers::gateway::Unreadable>()
        {
            Some(crate::handlers::gateway::Unreadable(reason)) => Err(Self::unreadable(reason)),
            None => Ok(()),
        }
    }
    /// Storage failed: 503 so the caller (Vonage, the website backend) retries later.
    pub fn storage_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the record could not be written or read; nothing was changed, retry later",
        )
    }

    pub fn into_response(self) -> Response<Body> {
        json_response(
            self.status,
            &ErrorBody {
                error: self.code,
                message: &self.message,
            },
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

/// A JSON response. Serialising our own plain structs cannot fail; if it ever did, the caller
/// still gets a well-formed 500 body rather than a panic.
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
            ApiError::bad_request("invalid_message", "missing field `msisdn`").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["error"], "invalid_message");
        assert_eq!(body["message"], "missing field `msisdn`");
        assert_eq!(body.as_object().map(|o| o.len()), Some(2));
    }
}
