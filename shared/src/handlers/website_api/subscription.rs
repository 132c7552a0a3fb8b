//! `GET /subscriptions/{msisdn}`: a number's status and recent history, for any spelling of a
//! number we may hold (see `Msisdn::readings`).

use super::{query_int, LogLine, WebsiteApi};
use crate::domain::event::{pick_reading, state_rank, HistoryEntry, Status};
use crate::domain::msisdn::Msisdn;
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
            let state = self.store.state(&reading).await?;
            found.push((reading, state));
        }
        let (msisdn, state) = pick_reading(found, |s| state_rank(s.as_ref()))
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
                since: state.as_ref().map(|s| s.since),
                known: state.is_some(),
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
    history: Vec<HistoryEntry>,
}
