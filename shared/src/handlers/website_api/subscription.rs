//! `GET /subscriptions/{msisdn}`: a number's status and recent history, for any spelling of a
//! number we may hold (see `Msisdn::readings`).

use super::{query_int, LogLine, WebsiteApi};
use crate::domain::event::{pick_reading, state_rank, HistoryEntry, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::domain::program::newest_in;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const DEFAULT_HISTORY: i32 = 20;
pub const MAX_HISTORY: i32 = 100;

impl WebsiteApi {
    pub(super) async fn subscription(
        &self,
        req: &Request,
        number: &str,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let readings = Msisdn::readings(number, self.default_region)?;
        let limit = query_int(req, "history_limit", DEFAULT_HISTORY, MAX_HISTORY)?;
        let mut found = Vec::with_capacity(readings.len());
        for reading in readings {
            let states = self.store.scoped_states(&reading).await?;
            let per_program: Vec<ProgramStatus> = self
                .programs
                .all()
                .iter()
                .map(|program| {
                    let scopes = self.programs.scopes_reaching(program);
                    ProgramStatus::new(program.id.as_str(), newest_in(&states, &scopes))
                })
                .collect();
            found.push((reading, per_program));
        }
        // The reading to answer for: one with an opt-out in any program first.
        let (msisdn, per_program) = pick_reading(found, |programs| {
            programs
                .iter()
                .map(|p| state_rank(p.state.as_ref()))
                .min()
                .unwrap_or(2)
        })
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidMsisdn, "not a phone number"))?;
        log.msisdn = Some(msisdn.masked());
        // The top-level status is the default program's (the only one without PROGRAMS).
        let default = self.programs.default_program().id.as_str();
        let state = per_program
            .iter()
            .find(|p| p.program == default)
            .and_then(|p| p.state.clone());
        let history = if per_program.iter().any(|p| p.known) {
            self.store.history(&msisdn, limit).await?
        } else {
            Vec::new()
        };
        Ok(json_response(
            StatusCode::OK,
            &SubscriptionReply {
                msisdn: msisdn.as_str(),
                // No record means no opt-out on file.
                status: state.as_ref().map_or(Status::Subscribed, |s| s.status),
                since: state.as_ref().map(|s| s.since),
                known: state.is_some(),
                programs: per_program,
                history,
            },
        ))
    }
}

#[derive(Serialize)]
struct SubscriptionReply<'a> {
    msisdn: &'a str,
    status: Status,
    #[serde(with = "crate::domain::timestamp::fixed::option")]
    since: Option<time::OffsetDateTime>,
    known: bool,
    /// Each program's status, in `PROGRAMS` order.
    programs: Vec<ProgramStatus<'a>>,
    history: Vec<HistoryEntry>,
}

#[derive(Serialize)]
struct ProgramStatus<'a> {
    program: &'a str,
    status: Status,
    #[serde(with = "crate::domain::timestamp::fixed::option")]
    since: Option<time::OffsetDateTime>,
    known: bool,
    #[serde(skip)]
    state: Option<State>,
}

impl<'a> ProgramStatus<'a> {
    fn new(program: &'a str, state: Option<&State>) -> Self {
        Self {
            program,
            // No record means no opt-out on file.
            status: state.map_or(Status::Subscribed, |s| s.status),
            since: state.map(|s| s.since),
            known: state.is_some(),
            state: state.cloned(),
        }
    }
}
