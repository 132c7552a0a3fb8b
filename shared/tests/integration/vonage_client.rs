//! Integration tests of the Vonage US short code opt-in client against a local wiremock server.
//!
//! Documented response bodies come from the repository's copy of Vonage's reference data
//! (`testdata/vonage/`, sources in its `SOURCES.md`).

use std::time::{Duration, Instant};

use shared::adapters::vonage::responses::{parse_manage_response, parse_query_response};
use shared::adapters::vonage::{RetryPolicy, VonageClient, VonageError};
use shared::domain::deadline::Deadline;
use shared::domain::msisdn::Msisdn;
use shared::domain::timestamp::parse_vonage_date;
use time::macros::datetime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MANAGE: &str = "/sc/us/alert/opt-in/manage/json";
const QUERY: &str = "/sc/us/alert/opt-in/query/json";
const KEY: &str = "test-key";
const SECRET: &str = "s3cr3t-Pa55";
const NUMBER: &str = "15559301529";

fn reference(rel: &str) -> Vec<u8> {
    testkit::reference::vonage_reference_bytes(rel)
}

fn manage_doc() -> Vec<u8> {
    reference("us-short-codes/subscription_response-format_2_manage.json")
}

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        attempt_timeout: Duration::from_secs(2),
    }
}

fn client(server: &MockServer, policy: RetryPolicy) -> VonageClient {
    VonageClient::new(&server.uri(), KEY, SECRET)
        .unwrap()
        .with_retry_policy(policy)
}

fn number() -> Msisdn {
    Msisdn::from_provider(NUMBER).unwrap()
}

fn in_secs(s: u64) -> Deadline {
    Deadline::after(Duration::from_secs(s))
}

async fn mount(server: &MockServer, p: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// No error detail may echo the secret or the full number.
fn assert_clean(err: &VonageError) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains(SECRET), "secret leaked: {text}");
    assert!(!text.contains(NUMBER), "full number leaked: {text}");
}

fn assert_rejected(result: Result<impl std::fmt::Debug, VonageError>, want_status: u16) {
    match result {
        Err(e @ VonageError::Rejected { status, .. }) => {
            assert_eq!(status, want_status, "{e}");
            assert_eq!(e.code(), "provider_rejected");
            assert_clean(&e);
        }
        other => panic!("expected Rejected({want_status}), got {other:?}"),
    }
}

fn assert_unavailable(
    result: Result<impl std::fmt::Debug, VonageError>,
    want_attempts: u32,
) -> String {
    match result {
        Err(e @ VonageError::Unavailable { attempts, .. }) => {
            assert_eq!(attempts, want_attempts, "{e}");
            assert_eq!(e.code(), "provider_unavailable");
            assert_clean(&e);
            e.to_string()
        }
        other => panic!("expected Unavailable after {want_attempts} attempt(s), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// manage: success

#[tokio::test]
async fn manage_success_with_documented_response() {
    let server = MockServer::start().await;
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_bytes(manage_doc()),
        1,
    )
    .await;

    let c = client(&server, fast_policy(3));
    let ok = c.manage_opt_in(&number(), in_secs(5)).await.unwrap();
    assert!(ok.opt_in);
    assert_eq!(ok.opt_in_date.as_deref(), Some("2014-08-21T17:34:47Z"));
    assert_eq!(ok.opt_out, Some(false));
    assert_eq!(ok.attempts, 1);
    assert!(
        !ok.msisdn.contains(NUMBER),
        "confirmation must hold the masked number"
    );
    assert!(ok.msisdn.ends_with("1529"));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method.as_str(), "POST");
    let content_type = req.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "{content_type}"
    );
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body).unwrap();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("api_key"), Some(KEY));
    assert_eq!(get("api_secret"), Some(SECRET));
    assert_eq!(get("msisdn"), Some(NUMBER));
    assert_eq!(req.url.path(), MANAGE);
    let query = req.url.query().unwrap_or("");
    assert!(!query.contains(SECRET), "secret in URL: {query}");
    assert!(!req.url.as_str().contains(SECRET));
    server.verify().await;
}

#[tokio::test]
async fn manage_success_with_dotnet_fixture_and_trailing_slash_base() {
    let server = MockServer::start().await;
    let body = reference("sdk-fixtures/dotnet_ShortCodes_ManageOptIn-response.json");
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_bytes(body),
        1,
    )
    .await;
    let c = VonageClient::new(&format!("{}/", server.uri()), KEY, SECRET)
        .unwrap()
        .with_retry_policy(fast_policy(3));
    let ok = c.manage_opt_in(&number(), in_secs(5)).await.unwrap();
    assert!(ok.opt_in);
    assert_eq!(ok.opt_in_date.as_deref(), Some("2014-08-21T17:34:47Z"));
    server.verify().await;
}

#[tokio::test]
async fn manage_503_then_success_takes_two_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(manage_doc()))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, fast_policy(3));
    let ok = c.manage_opt_in(&number(), in_secs(5)).await.unwrap();
    assert_eq!(ok.attempts, 2);
    server.verify().await;
}

// ---------------------------------------------------------------------------------------------
// manage: Rejected, never retried

#[tokio::test]
async fn manage_opt_in_false_is_rejected_once() {
    let server = MockServer::start().await;
    let body = r#"{"msisdn":"15559301529","opt-in":"false","opt-out":"true"}"#;
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_string(body),
        1,
    )
    .await;
    let c = client(&server, fast_policy(3));
    assert_rejected(c.manage_opt_in(&number(), in_secs(5)).await, 200);
    server.verify().await;
}

#[tokio::test]
async fn manage_4xx_is_rejected_without_retry() {
    for status in [400u16, 401, 403, 404] {
        let server = MockServer::start().await;
        // The body echoes the number and the secret: neither may reach the error.
        let body = format!("bad request for {NUMBER} with {SECRET}");
        mount(
            &server,
            MANAGE,
            ResponseTemplate::new(status).set_body_string(body),
            1,
        )
        .await;
        let c = client(&server, fast_policy(3));
        assert_rejected(c.manage_opt_in(&number(), in_secs(5)).await, status);
        server.verify().await;
    }
}

#[tokio::test]
async fn manage_error_code_body_with_200_is_rejected() {
    let server = MockServer::start().await;
    let body = r#"{"error-code":"401","error-code-label":"authentication failed"}"#;
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_string(body),
        1,
    )
    .await;
    let c = client(&server, fast_policy(3));
    let result = c.manage_opt_in(&number(), in_secs(5)).await;
    let Err(VonageError::Rejected { detail, .. }) = &result else {
        panic!("expected Rejected, got {result:?}")
    };
    assert!(detail.contains("authentication failed"), "{detail}");
    assert_rejected(result, 200);
    server.verify().await;
}

// ---------------------------------------------------------------------------------------------
// manage: Unavailable

#[tokio::test]
async fn manage_5xx_and_429_are_retried_then_unavailable() {
    for status in [500u16, 503, 429] {
        let server = MockServer::start().await;
        mount(&server, MANAGE, ResponseTemplate::new(status), 3).await;
        let c = client(&server, fast_policy(3));
        let detail = assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 3);
        assert!(detail.contains(&status.to_string()), "{detail}");
        server.verify().await;
    }
}

#[tokio::test]
async fn manage_429_with_retry_after_beyond_deadline_stops_early() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(429).insert_header("Retry-After", "30");
    mount(&server, MANAGE, response, 1).await;
    let c = client(&server, fast_policy(3));
    let started = Instant::now();
    let detail = assert_unavailable(c.manage_opt_in(&number(), in_secs(2)).await, 1);
    assert!(detail.contains("Retry-After"), "{detail}");
    assert!(started.elapsed() < Duration::from_secs(1));
    server.verify().await;
}

#[tokio::test]
async fn manage_429_with_retry_after_that_fits_is_retried() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(429).insert_header("Retry-After", "0");
    mount(&server, MANAGE, response, 2).await;
    let c = client(&server, fast_policy(2));
    assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 2);
    server.verify().await;
}

#[tokio::test]
async fn manage_html_or_empty_200_is_unavailable_once() {
    let html = format!("<html><body>Service temporarily unavailable {NUMBER}</body></html>");
    for body in [html.as_str(), "", "   \n"] {
        let server = MockServer::start().await;
        mount(
            &server,
            MANAGE,
            ResponseTemplate::new(200).set_body_raw(body.to_owned(), "text/html"),
            1,
        )
        .await;
        let c = client(&server, fast_policy(3));
        let detail = assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 1);
        let want = if body.trim().is_empty() {
            "empty body"
        } else {
            "HTML"
        };
        assert!(detail.contains(want), "{detail}");
        server.verify().await;
    }
}

#[tokio::test]
async fn manage_oversized_200_body_is_unavailable_once() {
    let server = MockServer::start().await;
    let body = format!(
        r#"{{"opt-in":"true","pad":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_string(body),
        1,
    )
    .await;
    let c = client(&server, fast_policy(3));
    let detail = assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 1);
    assert!(detail.contains("larger"), "{detail}");
    server.verify().await;
}

#[tokio::test]
async fn manage_redirect_is_not_followed_nor_retried() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(302).insert_header("Location", "/elsewhere");
    mount(&server, MANAGE, response, 1).await;
    let c = client(&server, fast_policy(3));
    assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 1);
    server.verify().await;
}

#[tokio::test]
async fn manage_response_for_another_number_is_unavailable() {
    let server = MockServer::start().await;
    let body = r#"{"msisdn":"15558937009","opt-in":"true","opt-out":"false"}"#;
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_string(body),
        1,
    )
    .await;
    let c = client(&server, fast_policy(3));
    assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 1);
    server.verify().await;
}

#[tokio::test]
async fn manage_slow_server_times_out_before_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(manage_doc())
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        attempt_timeout: Duration::from_millis(200),
    };
    let c = client(&server, policy);
    let started = Instant::now();
    let deadline = Deadline::at(started + Duration::from_millis(600));
    let result = c.manage_opt_in(&number(), deadline).await;
    let elapsed = started.elapsed();
    match &result {
        Err(VonageError::Unavailable { detail, attempts }) => {
            assert!(*attempts >= 2, "{attempts} attempts: {detail}");
            assert!(detail.contains("timed out"), "{detail}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(elapsed < Duration::from_millis(900), "took {elapsed:?}");
}

#[tokio::test]
async fn manage_attempt_timeout_longer_than_deadline_is_cut_by_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MANAGE))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        attempt_timeout: Duration::from_secs(10),
        ..fast_policy(3)
    };
    let c = client(&server, policy);
    let started = Instant::now();
    let result = c
        .manage_opt_in(
            &number(),
            Deadline::at(started + Duration::from_millis(600)),
        )
        .await;
    assert_unavailable(result, 1);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn manage_with_deadline_already_passed_sends_nothing() {
    let server = MockServer::start().await;
    mount(
        &server,
        MANAGE,
        ResponseTemplate::new(200).set_body_bytes(manage_doc()),
        0,
    )
    .await;
    let c = client(&server, fast_policy(3));
    assert_unavailable(
        c.manage_opt_in(&number(), Deadline::at(Instant::now()))
            .await,
        0,
    );
    server.verify().await;
}

#[tokio::test]
async fn manage_connection_refused_is_unavailable_after_retries() {
    // Bind then drop a listener to get a local port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = VonageClient::new(&format!("http://127.0.0.1:{port}"), KEY, SECRET)
        .unwrap()
        .with_retry_policy(fast_policy(3));
    assert_unavailable(c.manage_opt_in(&number(), in_secs(5)).await, 3);
}

// ---------------------------------------------------------------------------------------------
// client construction

#[test]
fn bad_base_urls_are_config_errors() {
    for base in [
        "",
        "not a url",
        "ftp://rest.nexmo.com",
        "https://u:p@rest.nexmo.com",
        "https://rest.nexmo.com?x=1",
    ] {
        match VonageClient::new(base, KEY, SECRET) {
            Err(e @ VonageError::Config(_)) => assert_eq!(e.code(), "provider_config"),
            other => panic!("{base:?}: expected Config, got {other:?}"),
        }
    }
    assert!(matches!(
        VonageClient::new("https://rest.nexmo.com", KEY, ""),
        Err(VonageError::Config(_))
    ));
    assert!(VonageClient::new(shared::adapters::vonage::DEFAULT_BASE_URL, KEY, SECRET).is_ok());
}

#[test]
fn debug_does_not_print_the_secret() {
    let c = VonageClient::new("https://rest.nexmo.com/", KEY, SECRET).unwrap();
    let text = format!("{c:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("redacted"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// query

fn check_documented_page(page: &shared::adapters::vonage::QueryPage) {
    assert_eq!(page.total, Some(3));
    assert!(page.skipped.is_empty(), "{:?}", page.skipped);
    assert_eq!(page.entries.len(), 3);
    let e = &page.entries;
    assert_eq!(e[0].msisdn.as_str(), "15558937009");
    assert!(e[0].opted_out && !e[0].opted_in);
    assert_eq!(e[0].opt_out_date, Some(datetime!(2014-06-27 18:31:33 UTC)));
    assert_eq!(e[0].opt_in_date, None);
    assert_eq!(e[1].msisdn.as_str(), "15554908975");
    assert_eq!(e[1].opt_out_date, Some(datetime!(2014-07-18 16:20:20 UTC)));
    assert_eq!(e[2].msisdn.as_str(), "15559912501");
    assert_eq!(e[2].opt_in_date, Some(datetime!(2014-07-18 15:28:23 UTC)));
    assert_eq!(e[2].opt_out_date, Some(datetime!(2014-08-18 23:17:40 UTC)));
}

#[test]
fn documented_query_response_with_spaced_date_parses() {
    let body = reference("us-short-codes/subscription_response-format_1_query.json");
    // The documented example really has several spaces inside the first date.
    assert!(String::from_utf8_lossy(&body).contains("2014-06-27      18:31:33"));
    check_documented_page(&parse_query_response(&body).unwrap());
}

#[test]
fn dotnet_query_fixture_parses() {
    let body = reference("sdk-fixtures/dotnet_ShortCodes_QueryOptIns-response.json");
    check_documented_page(&parse_query_response(&body).unwrap());
}

#[tokio::test]
async fn query_page_over_http() {
    let server = MockServer::start().await;
    let body = reference("us-short-codes/subscription_response-format_1_query.json");
    mount(
        &server,
        QUERY,
        ResponseTemplate::new(200).set_body_bytes(body),
        1,
    )
    .await;
    let c = client(&server, fast_policy(3));
    let page = c.query_page(2, 50, in_secs(5)).await.unwrap();
    check_documented_page(&page);

    let requests = server.received_requests().await.unwrap();
    let req = &requests[0];
    assert_eq!(req.method.as_str(), "POST");
    assert!(!req.url.as_str().contains(SECRET));
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body).unwrap();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("api_key"), Some(KEY));
    assert_eq!(get("api_secret"), Some(SECRET));
    assert_eq!(get("page"), Some("2"));
    assert_eq!(get("page-size"), Some("50"));
    server.verify().await;
}

#[tokio::test]
async fn query_401_is_rejected_once() {
    let server = MockServer::start().await;
    mount(&server, QUERY, ResponseTemplate::new(401), 1).await;
    let c = client(&server, fast_policy(3));
    assert_rejected(c.query_page(0, 100, in_secs(5)).await, 401);
    server.verify().await;
}

#[test]
fn malformed_entries_are_skipped_and_reported() {
    let body = br#"{
        "opt-in-count": "6",
        "opt-in-list": [
            {"opt-in": "false", "opt-out": "true"},
            {"msisdn": "abc", "opt-in": "false", "opt-out": "true"},
            {"msisdn": "15554908975", "opt-in": "false", "opt-out": "maybe"},
            {"msisdn": "15558937009", "opt-in": "false", "opt-out": "true", "opt-out-date": "2014-06-27 18:31:33"},
            "not an object",
            {"msisdn": "15559912501", "opt-out": "TRUE"}
        ]
    }"#;
    let page = parse_query_response(body).unwrap();
    assert_eq!(page.total, Some(6));
    assert_eq!(page.entries.len(), 2, "{:?}", page.entries);
    assert_eq!(page.entries[0].msisdn.as_str(), "15558937009");
    assert_eq!(
        page.entries[0].opt_out_date,
        Some(datetime!(2014-06-27 18:31:33 UTC))
    );
    assert_eq!(page.entries[1].msisdn.as_str(), "15559912501");
    assert!(page.entries[1].opted_out && !page.entries[1].opted_in);
    let indices: Vec<usize> = page.skipped.iter().map(|s| s.index).collect();
    assert_eq!(indices, vec![0, 1, 2, 4]);
    for s in &page.skipped {
        assert!(!s.reason.is_empty());
        assert!(
            !s.reason.contains("15554908975"),
            "full number in reason: {}",
            s.reason
        );
    }
    assert!(page.skipped[0].reason.contains("msisdn"));
    assert!(page.skipped[1].reason.contains("msisdn"));
    assert!(page.skipped[2].reason.contains("opt-out"));
}

#[test]
fn empty_and_absent_lists_are_empty_pages() {
    let page = parse_query_response(br#"{"opt-in-count":"0","opt-in-list":[]}"#).unwrap();
    assert!(page.entries.is_empty() && page.skipped.is_empty());
    assert_eq!(page.total, Some(0));

    // Vonage documents no shape for an empty result: an absent list reads as "no entries".
    let page = parse_query_response(br#"{"opt-in-count":"0"}"#).unwrap();
    assert!(page.entries.is_empty() && page.skipped.is_empty());
    assert_eq!(page.total, Some(0));

    let page = parse_query_response(b"{}").unwrap();
    assert!(page.entries.is_empty());
    assert_eq!(page.total, None);
}

#[test]
fn query_bodies_that_cannot_be_trusted() {
    assert!(matches!(
        parse_query_response(b""),
        Err(VonageError::Unavailable { .. })
    ));
    assert!(matches!(
        parse_query_response(b"<html></html>"),
        Err(VonageError::Unavailable { .. })
    ));
    assert!(matches!(
        parse_query_response(b"[1,2]"),
        Err(VonageError::Unavailable { .. })
    ));
    assert!(matches!(
        parse_query_response(br#"{"opt-in-list":"nope"}"#),
        Err(VonageError::Unavailable { .. })
    ));
    assert!(matches!(
        parse_query_response(br#"{"error-code":"401","error-code-label":"authentication failed"}"#),
        Err(VonageError::Rejected { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// pure parsers

#[test]
fn parse_manage_response_rules() {
    let ok = parse_manage_response(&manage_doc()).unwrap();
    assert!(ok.opt_in);
    assert_eq!(ok.opt_in_date.as_deref(), Some("2014-08-21T17:34:47Z"));
    assert!(matches!(
        parse_manage_response(br#"{"msisdn":"15559301529","opt-in":"false"}"#),
        Err(VonageError::Rejected { .. })
    ));
    assert!(matches!(
        parse_manage_response(br#"{"msisdn":"15559301529","opt-in":"yes"}"#),
        Err(VonageError::Rejected { .. })
    ));
    assert!(matches!(
        parse_manage_response(br#"{"msisdn":"15559301529"}"#),
        Err(VonageError::Unavailable { .. })
    ));
    assert!(matches!(
        parse_manage_response(b""),
        Err(VonageError::Unavailable { .. })
    ));
    assert!(matches!(
        parse_manage_response(b"<html>oops</html>"),
        Err(VonageError::Unavailable { .. })
    ));
    // Absent date: still a confirmation, without a date.
    let ok = parse_manage_response(br#"{"msisdn":"15559301529","opt-in":"true"}"#).unwrap();
    assert_eq!(ok.opt_in_date, None);
    assert_eq!(ok.opt_out, None);
}

#[test]
fn vonage_dates_are_parsed_leniently() {
    let want = Some(datetime!(2014-06-27 18:31:33 UTC));
    assert_eq!(parse_vonage_date("2014-06-27 18:31:33"), want);
    assert_eq!(parse_vonage_date("2014-06-27      18:31:33"), want);
    assert_eq!(parse_vonage_date(" 2014-06-27 18:31:33 "), want);
    assert_eq!(parse_vonage_date("2014-06-27\t18:31:33"), want);
    assert_eq!(parse_vonage_date("2014-06-27T18:31:33Z"), want);
    for garbage in [
        "",
        "garbage",
        "2014-06-27",
        "18:31:33",
        "2014-13-01 00:00:00",
        "2014-06-27 25:00:00",
        "2014-06-27 18:31:33 extra",
    ] {
        assert_eq!(parse_vonage_date(garbage), None, "{garbage:?}");
    }
}
