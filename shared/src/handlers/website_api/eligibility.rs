//! `POST /eligibility`: the send-time check (docs/decisions/0013-send-time-check.md). For each
//! of up to [`MAX_NUMBERS`] inputs, in input order, whether it may be texted now. Every reading
//! of each input (`Msisdn::readings`) is looked up and an opted-out reading wins; a number we
//! never saw may be sent unless the program asks for a consent on file (`consent_on_file`), an
//! input that is no phone number may not. One `BatchGetItem` per 100 distinct keys, all issued
//! at once, never a scan; for a program with double opt-in, one more round for the numbers
//! without a record (a join waiting for its YES).

use super::{LogLine, WebsiteApi};
use crate::domain::consent::{ConsentChannel, ConsentRequest};
use crate::domain::event::{pick_reading, state_rank, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::program::Program;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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

crate::named_enum! {
    /// What the record says about sending to one input.
    #[strum(serialize_all = "snake_case")]
    pub enum SendStatus {
        OptedOut,
        /// The program asks for a consent on file and there is none.
        NoConsent,
        /// No consent yet, but a join by text is waiting for its YES.
        PendingConfirmation,
        Subscribed,
        /// No record, in a program that needs no consent on file.
        Unknown,
        /// Not a phone number.
        Invalid,
    }
}

/// The answer for one input (openapi.yaml, `EligibilityResult`).
#[derive(Debug, Serialize)]
struct Verdict<'a> {
    input: &'a str,
    msisdn: Option<&'a str>,
    may_send: bool,
    status: SendStatus,
    #[serde(with = "crate::domain::timestamp::fixed::option")]
    since: Option<time::OffsetDateTime>,
    /// Why not, when `may_send` is false.
    reason: Option<String>,
    /// The event that set the state (the consent's evidence id when subscribed), or the
    /// waiting join's.
    event_id: Option<&'a str>,
    /// How the consent in force was given.
    channel: Option<ConsentChannel>,
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
        let waiting = self.joins_waiting(program, &readings, &picked).await?;
        let now = crate::domain::timestamp::now();
        let results: Vec<Verdict<'_>> = request
            .numbers
            .iter()
            .zip(&picked)
            .map(|(input, picked)| verdict(input, picked, program, &waiting, now))
            .collect();
        log.opted_out = Some(
            results
                .iter()
                .filter(|v| v.status == SendStatus::OptedOut)
                .count(),
        );
        // Written straight from the structs: a `json!` value first would build a map per number.
        #[derive(Serialize)]
        struct Reply<'a> {
            program: &'a str,
            results: Vec<Verdict<'a>>,
        }
        Ok(json_response(
            StatusCode::OK,
            &Reply {
                program: program.id.as_str(),
                results,
            },
        ))
    }
}

impl WebsiteApi {
    /// For a program with double opt-in whose check asks for consent: the joins waiting for
    /// the inputs with no record, by every reading's digits.
    async fn joins_waiting(
        &self,
        program: &Program,
        readings: &[Result<Vec<Msisdn>, String>],
        picked: &[Result<(Msisdn, Option<&State>), &str>],
    ) -> Result<HashMap<String, ConsentRequest>, ApiError> {
        if !(program.consent_on_file && program.join_keyword.is_some() && program.confirm_join) {
            return Ok(HashMap::new());
        }
        let unknown: Vec<&Msisdn> = readings
            .iter()
            .zip(picked)
            .filter(|(_, p)| matches!(p, Ok((_, None))))
            .filter_map(|(r, _)| r.as_ref().ok())
            .flatten()
            .collect();
        let chunks = unknown
            .len()
            .div_ceil(crate::adapters::store::bulk::BATCH_GET_KEYS);
        Ok(self
            .store
            .consent_requests(&unknown, &program.id, chunks)
            .await?)
    }
}

fn verdict<'a>(
    input: &'a str,
    picked: &'a Result<(Msisdn, Option<&State>), &str>,
    program: &Program,
    waiting: &'a HashMap<String, ConsentRequest>,
    now: time::OffsetDateTime,
) -> Verdict<'a> {
    let (msisdn, state) = match picked {
        Err(reason) => {
            return Verdict {
                input,
                msisdn: None,
                may_send: false,
                status: SendStatus::Invalid,
                since: None,
                reason: Some((*reason).to_owned()),
                event_id: None,
                channel: None,
            }
        }
        Ok((msisdn, state)) => (msisdn, *state),
    };
    let mut verdict = Verdict {
        input,
        msisdn: Some(msisdn.as_str()),
        may_send: true,
        status: SendStatus::Subscribed,
        since: state.map(|s| s.since),
        reason: None,
        event_id: state.map(|s| s.event_id.as_str()),
        channel: state.and_then(|s| s.channel),
    };
    match state {
        Some(s) if s.status == Status::OptedOut => {
            verdict.status = SendStatus::OptedOut;
            verdict.may_send = false;
            verdict.reason = Some(format!("opted out (source: {})", s.source));
        }
        Some(_) => {}
        None if !program.consent_on_file => verdict.status = SendStatus::Unknown,
        None => {
            verdict.may_send = false;
            let join = waiting
                .get(msisdn.as_str())
                .filter(|join| join.open_at(now));
            match join {
                Some(join) => {
                    verdict.status = SendStatus::PendingConfirmation;
                    verdict.since = Some(join.requested_at);
                    verdict.event_id = Some(join.request_event_id.as_str());
                    verdict.reason = Some("a join by text is waiting for its YES".into());
                }
                None => {
                    verdict.status = SendStatus::NoConsent;
                    verdict.reason = Some(format!("no consent on file for {}", program.id));
                }
            }
        }
    }
    verdict
}
