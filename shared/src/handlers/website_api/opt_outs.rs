//! `GET /opt-outs?limit=N&cursor=C&program=P`: a program's opted-out numbers in number order, a
//! page at a time (queries on the sparse `opted_out` index, never a scan).

use super::{query_int, query_param, WebsiteApi};
use crate::handlers::http::{json_response, ApiError};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub const DEFAULT_PAGE: i32 = 100;
pub const MAX_PAGE: i32 = 1000;

impl WebsiteApi {
    pub(super) async fn opt_outs(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let limit = query_int(req, "limit", DEFAULT_PAGE, MAX_PAGE)?;
        let cursor = query_param(req, "cursor");
        let program = self.program(query_param(req, "program").as_deref())?;
        let scopes = self.programs.scopes_reaching(program);
        let (items, next_cursor) = self
            .store
            .opted_out_page(limit, cursor.as_deref(), &scopes)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "program": program.id, "items": items, "next_cursor": next_cursor }),
        ))
    }
}
