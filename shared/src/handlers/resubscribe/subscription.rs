//! `GET /subscriptions/{msisdn}`: a number's status and recent history, for any spelling of a
//! number we may hold (see `Msisdn::readings`).

use super::{percent_decode, query_int, LogLine, ResubscribeApi};
use crate::domain::event::{HistoryEntry, State, Status};
use crate::domain::msisdn::Msisdn;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const DEFAULT_HISTORY: i32 = 20;
pub const MAX_HISTORY: i32 = 100;

impl ResubscribeApi {
    pub(super) async fn subscription(
        &self,
        req: &Request,
        number: &str,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let decoded: String = percent_decode(number);
        let readings = Msisdn::readings(&decoded, self.default_region)?;
        let limit = query_int(req, "history_limit", DEFAULT_HISTORY, MAX_HISTORY)?;
        let mut found = Vec::with_capacity(readings.len());
        for reading in readings {
            let state = self.store.state(&reading).await?;
            found.push((reading, state));
        }
        let (msisdn, state) = pick_reading(found)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidMsisdn, "not a phone number"))?;
        log.msisdn = Some(msisdn.masked());
        let history = if state.is_some() {
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
                since: state.as_ref().map(|s| s.since.as_str()),
                known: state.is_some(),
                history,
            },
        ))
    }
}

/// Of the numbers an input may mean ([`Msisdn::readings`], never empty), the one to answer
/// for: an opted-out one first (never say "may send" while a reading is opted out), then one we
/// hold a record of, then the first (the strict reading).
fn pick_reading(found: Vec<(Msisdn, Option<State>)>) -> Option<(Msisdn, Option<State>)> {
    let rank = |state: &Option<State>| match state {
        Some(s) if s.status == Status::OptedOut => 0,
        Some(_) => 1,
        None => 2,
    };
    // `min_by_key` keeps the first of equals, so the strict reading wins a tie.
    let best = (0..found.len()).min_by_key(|&i| rank(&found[i].1))?;
    found.into_iter().nth(best)
}

#[derive(Serialize)]
struct SubscriptionReply<'a> {
    msisdn: &'a str,
    status: Status,
    since: Option<&'a str>,
    known: bool,
    history: Vec<HistoryEntry>,
}
