//! `POST /eligibility`: the send-time check (docs/decisions/0013-send-time-check.md). For each
//! of up to [`MAX_NUMBERS`] inputs, in input order, whether it may be texted now. Every reading
//! of each input (`Msisdn::readings`) is looked up and an opted-out reading wins; a number we
//! never saw may be sent, an input that is no phone number may not. One `BatchGetItem` per 100
//! distinct readings, all issued at once, never a scan.

use super::{LogLine, WebsiteApi};
use crate::domain::event::{pick_reading, state_rank, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

pub const MAX_NUMBERS: usize = 1000;
/// Largest accepted body: 1,000 numbers of up to 64 characters each (the longest input
/// `Msisdn::parse` considers), JSON-quoted, with room for escapes and white space.
pub const ELIGIBILITY_BODY_LIMIT: usize = 128 * 1024;
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EligibilityRequest {
    numbers: Vec<String>,
    #[serde(default)]
    program: Option<String>,
}

/// The answer for one input (openapi.yaml, `EligibilityResult`).
#[derive(Debug, Serialize)]
struct Verdict<'a> {
    input: &'a str,
    msisdn: Option<&'a str>,
    may_send: bool,
    /// `opted_out`, `subscribed`, `unknown` (no record) or `invalid` (not a phone number).
    status: &'static str,
    #[serde(with = "crate::domain::timestamp::fixed::option")]
    since: Option<time::OffsetDateTime>,
    /// Why not, when `may_send` is false.
    reason: Option<String>,
    /// The event that set the state.
    event_id: Option<&'a str>,
}

impl WebsiteApi {
    pub(super) async fn eligibility(
        &self,
        req: &Request,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let body = req.body().as_ref();
        if body.len() > ELIGIBILITY_BODY_LIMIT {
            return Err(ApiError::payload_too_large(ELIGIBILITY_BODY_LIMIT));
        }
        let request: EligibilityRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
        if request.numbers.len() > MAX_NUMBERS {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "at most {MAX_NUMBERS} numbers per request (this one has {}); split the list",
                    request.numbers.len()
                ),
            ));
        }
        log.numbers = Some(request.numbers.len());
        let program = self.program(request.program.as_deref())?;
        let scopes = self.programs.scopes_reaching(program);
        let readings: Vec<Result<Vec<Msisdn>, String>> = request
            .numbers
            .iter()
            .map(|input| Msisdn::readings(input, self.default_region).map_err(|e| e.to_string()))
            .collect();
        let all: Vec<Msisdn> = readings
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flatten()
            .cloned()
            .collect();
        // Every chunk at once: 1,000 inputs, at most two readings each, one key per scope
        // reaching the program (at most three), 100 keys a request: at most 60 requests.
        let chunks =
            (all.len() * scopes.len()).div_ceil(crate::adapters::store::bulk::BATCH_GET_KEYS);
        let states = self.store.states_parallel(&all, &scopes, chunks).await?;
        let picked: Vec<Result<(Msisdn, Option<&State>), &str>> = readings
            .iter()
            .map(|r| match r {
                Ok(readings) => {
                    let found = readings
                        .iter()
                        .map(|m| (m.clone(), states.get(m.as_str())))
                        .collect();
                    pick_reading(found, |s| state_rank(*s)).ok_or("not a phone number")
                }
                Err(reason) => Err(reason.as_str()),
            })
            .collect();
        let results: Vec<Verdict<'_>> = request
            .numbers
            .iter()
            .zip(&picked)
            .map(|(input, picked)| verdict(input, picked))
            .collect();
        log.opted_out = Some(results.iter().filter(|v| v.status == "opted_out").count());
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "program": program.id, "results": results }),
        ))
    }
}

fn verdict<'a>(input: &'a str, picked: &'a Result<(Msisdn, Option<&State>), &str>) -> Verdict<'a> {
    match picked {
        Err(reason) => Verdict {
            input,
            msisdn: None,
            may_send: false,
            status: "invalid",
            since: None,
            reason: Some((*reason).to_owned()),
            event_id: None,
        },
        Ok((msisdn, state)) => {
            let (status, may_send, reason) = match state {
                None => ("unknown", true, None),
                Some(s) if s.status == Status::OptedOut => (
                    Status::OptedOut.as_str(),
                    false,
                    Some(format!("opted out (source: {})", s.source)),
                ),
                Some(_) => (Status::Subscribed.as_str(), true, None),
            };
            Verdict {
                input,
                msisdn: Some(msisdn.as_str()),
                may_send,
                status,
                since: state.map(|s| s.since),
                reason,
                event_id: state.map(|s| s.event_id.as_str()),
            }
        }
    }
}
