//! `GET /console` and its two files: the review console, a page a compliance officer opens in a
//! browser to decide review items with a reviewer key (docs/operations.md, "The review
//! console"; why it is served here: docs/decisions/0019-review-console.md).
//!
//! The files are compiled in and hold no data, so they are served without a key; every call the
//! page makes goes to the API's own routes with the key the reviewer typed, kept in the tab's
//! session storage. The headers allow no inline script, no other origin, no framing.

use crate::handlers::http::ApiError;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// Only this origin's script, style and API calls; no inline script or style, no plugins, no
/// framing, no form posted anywhere (the key form is read by the script, never submitted).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The page (`file` `None`) or one of its files; 404 for any other name.
pub(super) fn serve(req: &Request, file: Option<&str>) -> Result<Response<Body>, ApiError> {
    let (body, content_type) = match file {
        // `/console/` would resolve the page's relative links one level too deep.
        None if req.uri().path().ends_with('/') => return Ok(redirect("../console")),
        None => (PAGE, "text/html; charset=utf-8"),
        Some("console.js") => (SCRIPT, "text/javascript; charset=utf-8"),
        Some("console.css") => (STYLE, "text/css; charset=utf-8"),
        Some(_) => return Err(ApiError::not_found("no such console file")),
    };
    let mut response = Response::new(Body::Text(body.to_owned()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new deployment's page and script are fetched again, never mixed.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}

fn redirect(location: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page loads its script and style from files, never inline, as the policy demands.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = PAGE.to_ascii_lowercase();
        for opening in page.match_indices("<script").map(|(i, _)| &page[i..]) {
            let tag = &opening[..opening.find('>').unwrap_or(opening.len())];
            assert!(tag.contains(" src="), "inline script: {tag}");
            assert!(opening[tag.len()..].starts_with("></script>"));
        }
        assert!(!page.contains("<style"), "inline style");
        assert!(!page.contains(" style="), "a style attribute");
        let handler = page.match_indices(" on").any(|(i, _)| {
            let name = &page[i + 1..];
            let end = name.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(0);
            name[end..].starts_with('=')
        });
        assert!(!handler, "an event handler attribute");
        assert!(!SCRIPT.contains("innerHTML"), "HTML written from data");
    }
}
