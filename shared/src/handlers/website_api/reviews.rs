//! `GET /reviews` (oldest due first, a page at a time) and `POST /reviews/{id}` (a person's
//! decision: `opt_out` records the opt-out dated at the message, so a later resubscribe is not
//! undone; `not_revocation` notes it in history). The same decision again returns the existing
//! resolution; another decision on a resolved item is 409.

use super::{query_int, query_param, LogLine, WebsiteApi, BODY_LIMIT};
use crate::adapters::store::reviews::ResolveOutcome;
use crate::domain::origin::Origin;
use crate::domain::program::Reach;
use crate::domain::review::{self, Decision, Resolution, Review, ReviewStatus};
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

pub const DEFAULT_REVIEW_PAGE: i32 = 50;
pub const MAX_REVIEW_PAGE: i32 = 500;

impl WebsiteApi {
    pub(super) async fn reviews(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let status = match query_param(req, "status") {
            None => ReviewStatus::Open,
            Some(s) => ReviewStatus::parse(s.trim()).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    "status must be open or resolved",
                )
            })?,
        };
        let due_before =
            match query_param(req, "due_before") {
                None => None,
                Some(d) => Some(review::parse_date(&d).map(review::format_date).ok_or_else(
                    || {
                        ApiError::new(
                            ErrorCode::InvalidParameter,
                            "due_before must be a date, YYYY-MM-DD",
                        )
                    },
                )?),
            };
        let limit = query_int(req, "limit", DEFAULT_REVIEW_PAGE, MAX_REVIEW_PAGE)?;
        let cursor = query_param(req, "cursor");
        let (items, next_cursor) = self
            .store
            .reviews_page(status, due_before.as_deref(), limit, cursor.as_deref())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "items": items, "next_cursor": next_cursor }),
        ))
    }

    pub(super) async fn resolve_review(
        &self,
        req: &Request,
        id: &str,
        log: &mut LogLine,
    ) -> Result<Response<Body>, ApiError> {
        let body = req.body().as_ref();
        if body.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large(BODY_LIMIT));
        }
        // A JSON array would read as the struct's fields in order (serde's sequence form).
        let is_object =
            serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object());
        if !is_object {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the body must be a JSON object",
            ));
        }
        let request: DecisionRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
        let request_programs = request.programs.clone();
        let (decision, claimed_by, note) = request.validate()?;
        // Who decided is the key that called, not what the body says; a `by` in the body is
        // kept beside it as what it is, a claim.
        let by = log.key.clone().unwrap_or_default();
        let not_found = || ApiError::not_found("no review item with this id");
        if !review::is_review_id(id) {
            return Err(not_found());
        }
        log.review_id = Some(id.to_owned());
        let item = self.store.review(id).await?.ok_or_else(not_found)?;
        log.msisdn = Some(item.msisdn.masked());
        if item.status == ReviewStatus::Resolved {
            return already_resolved(item, decision);
        }
        let now = timestamp::now();
        let scopes = match request_programs.as_deref() {
            // What the message would have ended had its words been clear.
            None => {
                let texted = self.programs.for_number(&item.short_code);
                let reach = Reach::of_message(None, &item.text);
                self.programs
                    .opt_out_scopes(texted, reach, self.revoke_all, item.message_at)
            }
            Some(ids) => self.opt_out_scopes(Some(ids), item.message_at)?,
        };
        let mut event = review::decision_event(&item, decision, &by, note.as_deref(), scopes, now);
        if let (Origin::Review(details), Some(claim)) = (&mut event.origin, &claimed_by) {
            details
                .extra
                .insert(CLAIMED_BY_DETAIL.into(), claim.clone());
        }
        event.origin.record_caller(&by);
        let resolution = Resolution {
            decision,
            by,
            note,
            resolved_at: now,
            event_id: event.event_id.clone(),
            outcome: String::new(),
        };
        match self
            .store
            .resolve_review(&item, &resolution, &event)
            .await?
        {
            ResolveOutcome::AlreadyResolved(current) => already_resolved(*current, decision),
            ResolveOutcome::Resolved(outcome) => {
                log.outcome = Some(outcome);
                log.decision = Some(decision.as_str());
                let resolved = Review {
                    status: ReviewStatus::Resolved,
                    resolution: Some(Resolution {
                        outcome: outcome.as_str().into(),
                        ..resolution
                    }),
                    ..item
                };
                Ok(json_response(
                    StatusCode::OK,
                    &ResolveReply::new(&resolved, None),
                ))
            }
        }
    }
}

/// The review decision's detail keeping the body's `by`: who the caller says decided.
const CLAIMED_BY_DETAIL: &str = "decided_by_claim";

/// A resolved item: the same decision again is answered with the existing resolution
/// (`outcome: duplicate`); another decision is refused.
fn already_resolved(item: Review, decision: Decision) -> Result<Response<Body>, ApiError> {
    match &item.resolution {
        Some(r) if r.decision == decision => Ok(json_response(
            StatusCode::OK,
            &ResolveReply::new(&item, Some("duplicate")),
        )),
        Some(r) => Err(ApiError::new(
            ErrorCode::ReviewResolved,
            format!(
                "this review was already resolved as {} by {} at {}; it cannot be decided again",
                r.decision.as_str(),
                r.by,
                r.resolved_at
            ),
        )),
        None => Err(ApiError::storage_unavailable()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    decision: String,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    note: Option<String>,
    /// For `opt_out`: the programs it ends; absent, what the message would have ended.
    #[serde(default)]
    programs: Option<Vec<String>>,
}

impl DecisionRequest {
    fn validate(self) -> Result<(Decision, Option<String>, Option<String>), ApiError> {
        let bad = |message: &str| Err(ApiError::new(ErrorCode::InvalidParameter, message));
        let Some(decision) = Decision::parse(self.decision.trim()) else {
            return bad("decision must be opt_out or not_revocation");
        };
        let by = self
            .by
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty());
        if by.as_ref().is_some_and(|b| b.chars().count() > 200) {
            return bad("by is longer than 200 characters");
        }
        let note = self
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return bad("note is longer than 2000 characters");
        }
        Ok((decision, by, note))
    }
}

/// The review after the decision, and what recording it did.
#[derive(Serialize)]
struct ResolveReply<'a> {
    #[serde(flatten)]
    review: &'a Review,
    /// `applied`, `superseded` (the opt-out is in history only), `noted` or `duplicate`.
    outcome: &'a str,
}

impl<'a> ResolveReply<'a> {
    fn new(review: &'a Review, outcome: Option<&'a str>) -> Self {
        let recorded = review
            .resolution
            .as_ref()
            .map_or("", |r| r.outcome.as_str());
        Self {
            review,
            outcome: outcome.unwrap_or(recorded),
        }
    }
}
