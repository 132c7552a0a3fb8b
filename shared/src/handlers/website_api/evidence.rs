//! `GET /subscriptions/{msisdn}/evidence`: a number's evidence file ([`crate::domain::evidence`]),
//! as JSON, or as plain text with `?format=text` (or `Accept: text/plain` without JSON). With
//! `?on=YYYY-MM-DD` (and `program`), it also answers "why was this number texted that day"
//! ([`crate::domain::consent::texted_on`]).

use super::{query_param, LogLine, WebsiteApi};
use crate::domain::consent::texted_on;
use crate::domain::evidence::render_text;
use crate::domain::msisdn::Msisdn;
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};

/// History entries read for the day's answer: a number's whole history in practice (one
/// Query page holds about a thousand).
const DAY_HISTORY: i32 = 1000;

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
        let day = match query_param(req, "on") {
            None => None,
            Some(on) => Some(timestamp::parse_date(on.trim()).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidParameter, "on must be a day, YYYY-MM-DD")
            })?),
        };
        let program = self.program(query_param(req, "program").as_deref())?;
        let evidence = self
            .store
            .evidence(&readings, timestamp::now())
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidMsisdn, "not a phone number"))?;
        log.msisdn = Some(crate::domain::msisdn::mask(&evidence.msisdn));
        let answer = match day {
            Some(day) => {
                let msisdn = Msisdn::from_provider(&evidence.msisdn)?;
                let history = self.store.history(&msisdn, DAY_HISTORY).await?;
                let scopes = self.programs.scopes_reaching(program);
                Some(texted_on(&history, &scopes, day))
            }
            None => None,
        };
        Ok(match format {
            Format::Json => {
                let mut body = serde_json::to_value(&evidence).unwrap_or_default();
                if let (Some(answer), Some(map)) = (&answer, body.as_object_mut()) {
                    map.insert(
                        "texted_on".into(),
                        serde_json::json!({ "program": program.id, "answer": answer }),
                    );
                }
                json_response(StatusCode::OK, &body)
            }
            Format::Text => {
                let mut text = render_text(&evidence);
                if let Some(answer) = &answer {
                    text.push('\n');
                    text.push_str(&answer.render_text(program.id.as_str()));
                }
                let mut response = Response::new(Body::Text(text));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
        })
    }
}
