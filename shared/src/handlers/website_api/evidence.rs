//! `GET /subscriptions/{msisdn}/evidence`: a number's evidence file ([`crate::domain::evidence`]),
//! as JSON, or as plain text with `?format=text` (or `Accept: text/plain` without JSON).

use super::{query_param, LogLine, WebsiteApi};
use crate::domain::evidence::render_text;
use crate::domain::msisdn::Msisdn;
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};

/// How the file is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Text,
}

fn format(req: &Request) -> Result<Format, ApiError> {
    if let Some(value) = query_param(req, "format") {
        return match value.as_str() {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text),
            _ => Err(ApiError::new(
                ErrorCode::InvalidParameter,
                "format must be json or text",
            )),
        };
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(
        if accept.contains("text/plain") && !accept.contains("application/json") {
            Format::Text
        } else {
            Format::Json
        },
    )
}

impl WebsiteApi {
    pub(super) async fn evidence(
        &self,
        req: &Request,
        number: &str,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let readings = Msisdn::readings(number, self.default_region)?;
        let format = format(req)?;
        let evidence = self
            .store
            .evidence(&readings, timestamp::now())
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidMsisdn, "not a phone number"))?;
        log.msisdn = Some(crate::domain::msisdn::mask(&evidence.msisdn));
        Ok(match format {
            Format::Json => json_response(StatusCode::OK, &evidence),
            Format::Text => {
                let mut response = Response::new(Body::Text(render_text(&evidence)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
        })
    }
}
