//! The review console (`GET /console`) in a real browser: headless Chromium driven over
//! WebDriver (Debian's `chromium` and `chromium-driver`, which `scripts/test` installs), the
//! website API served over HTTP on 127.0.0.1 by the real handler, the local DynamoDB server.
//! A reviewer opens the console, sees the seeded items oldest due first with the numbers
//! masked, opens one with the keyboard, reads the full number and the evidence file, decides
//! it, sees it leave the list, and the API then shows it resolved under the reviewer's key name.
//! A `website` key is refused by the console's calls. A screenshot of the list is kept at
//! `.local/console-list.png`.
//!
//! `CHROMEDRIVER` and `CHROMIUM` name the programs when they are not `chromedriver` on `PATH`
//! and `/usr/bin/chromium`.

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::adapters::store::Store;
use shared::domain::access::{key_hash, Role};
use shared::domain::event::Status;
use shared::domain::review::{Review, ReviewStatus};
use shared::domain::timestamp;
use shared::handlers::website_api::WebsiteApi;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use testkit::*;

const REVIEWER: (&str, &str) = ("jane.doe", "key-reviewer-console-5b21");
const WEBSITE: (&str, &str) = ("website", "key-website-console-0c7e");
const WAIT: Duration = Duration::from_secs(20);

fn api(store: Store) -> WebsiteApi {
    let keys = serde_json::json!([
        {"name": REVIEWER.0, "role": Role::Reviewer.as_str(), "sha256": key_hash(REVIEWER.1)},
        {"name": WEBSITE.0, "role": Role::Website.as_str(), "sha256": key_hash(WEBSITE.1)},
    ])
    .to_string();
    let keys = shared::domain::access::Keys::new(Some(&keys), &[]).expect("keys");
    let vonage = shared::adapters::vonage::VonageClient::new("http://127.0.0.1:9", "k", "s")
        .expect("client");
    WebsiteApi::new(store, vonage, Vec::new()).with_keys(keys)
}

/// A review item as the webhook would open it, received `days_ago`.
fn item(digits: &str, message_id: &str, text: &str, cue: &str, days_ago: i64) -> Review {
    let received_at = timestamp::now() - time::Duration::days(days_ago);
    testkit::records::open_review(digits, message_id, text, cue, received_at)
}

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found: install Debian's chromium and chromium-driver \
                 (scripts/test does), or set {variable}"
            )
        })
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(program("CHROMEDRIVER", "chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

async fn browser(driver: &Driver) -> Client {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    // Headless, and none of Chromium's own calls home (refused on a closed network).
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,860"
            ]
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_default()
}

/// Waits until the element's text contains `want`, and returns it.
async fn wait_text(browser: &Client, css: &str, want: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = text_of(browser, css).await;
        if text.contains(want) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never showed {want:?}; it shows {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The list's rows, each as its cells' texts, once it has `count` rows.
async fn rows(browser: &Client, count: usize) -> Vec<Vec<String>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = browser
            .find_all(Locator::Css("#items tbody tr"))
            .await
            .expect("rows");
        if found.len() == count {
            let mut rows = Vec::new();
            for row in found {
                let mut cells = Vec::new();
                for cell in row.find_all(Locator::Css("td")).await.expect("cells") {
                    cells.push(cell.text().await.unwrap_or_default());
                }
                rows.push(cells);
            }
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the list never had {count} rows (it has {})",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_in(browser: &Client, key: &str) {
    let input = browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#key"))
        .await
        .expect("the key field");
    input.send_keys(key).await.expect("typed");
    input
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("sent");
}

async fn script(browser: &Client, js: &str) -> Value {
    browser.execute(js, Vec::new()).await.expect("script runs")
}

#[tokio::test]
async fn a_reviewer_decides_an_item_in_the_console_and_a_website_key_is_refused() {
    let store = fresh_store().await;
    // Stored newest first: the list's order is the API's (oldest due first), not the seeding's.
    let seeded = [
        item("14155550303", "CON3", "who is this", "who is this", 1),
        item(
            "14155550302",
            "CON2",
            "Why do I keep getting this spam?",
            "spam",
            6,
        ),
        item("14155550301", "CON1", "enough!! no more", "emphatic", 20),
    ];
    for review in &seeded {
        assert!(store.open_review(review).await.expect("seeded"));
    }
    let api = Arc::new(api(store.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(testkit::http_api::serve(api.clone(), listener));
    let driver = start_driver().await;
    let browser = browser(&driver).await;
    let console = format!("{base}/console");

    // A website key: the console's first call is refused, nothing is listed, the key is dropped.
    browser.goto(&console).await.expect("the console loads");
    sign_in(&browser, WEBSITE.1).await;
    let status = wait_text(&browser, "#status", "may not review").await;
    assert!(status.contains("role website"), "{status}");
    assert!(browser
        .find(Locator::Css("#key"))
        .await
        .expect("field")
        .is_displayed()
        .await
        .expect("shown"));
    assert_eq!(
        script(
            &browser,
            "return document.querySelectorAll('#items tbody tr').length"
        )
        .await,
        0
    );
    assert_eq!(
        script(
            &browser,
            "return sessionStorage.getItem('optout.reviewerKey')"
        )
        .await,
        Value::Null
    );

    // The reviewer: the three items, oldest due first, numbers masked, the overdue one marked.
    sign_in(&browser, REVIEWER.1).await;
    let list = rows(&browser, 3).await;
    let mut by_due: Vec<&Review> = seeded.iter().collect();
    by_due.sort_by_key(|r| r.due.to_string());
    for (row, review) in list.iter().zip(&by_due) {
        assert_eq!(row[0], review.due.to_string(), "{list:?}");
        let digits = review.msisdn.as_str();
        assert_eq!(row[2], format!("{}{}", "•".repeat(7), &digits[7..]));
        assert_eq!(row[4], review.text);
    }
    assert!(list[0][1].starts_with("Overdue by "), "{list:?}");
    assert!(list[2][1].ends_with("days left"), "{list:?}");
    let shown = script(&browser, "return document.body.innerText").await;
    for review in &seeded {
        let digits = review.msisdn.as_str();
        assert!(
            !shown.to_string().contains(digits),
            "a full number in the list"
        );
    }
    // The key lives in the tab's session storage only: not in the URL, not in a cookie.
    assert_eq!(
        script(
            &browser,
            "return sessionStorage.getItem('optout.reviewerKey')"
        )
        .await,
        REVIEWER.1
    );
    assert_eq!(script(&browser, "return document.cookie").await, "");
    assert!(!browser
        .current_url()
        .await
        .expect("url")
        .as_str()
        .contains(REVIEWER.1));
    // Every field has a label.
    assert_eq!(
        script(
            &browser,
            "return [...document.querySelectorAll('input, textarea')].filter(e => e.labels.length === 0).length"
        )
        .await,
        0
    );
    let png = browser.screenshot().await.expect("a screenshot");
    let shots = repo_path(".local");
    std::fs::create_dir_all(&shots).expect(".local");
    std::fs::write(shots.join("console-list.png"), png).expect("screenshot kept");

    // The oldest due, opened with the keyboard: the full number, the message, the evidence file.
    let first = by_due[0];
    let open = browser
        .find(Locator::Css("#items tbody tr:first-child button"))
        .await
        .expect("the open button");
    open.send_keys(&Key::Enter.to_string())
        .await
        .expect("opened");
    let facts = wait_text(&browser, "#facts", first.msisdn.as_str()).await;
    assert!(
        facts.contains(&format!("+{}", first.msisdn.as_str())),
        "{facts}"
    );
    assert_eq!(text_of(&browser, "#message").await, first.text);
    wait_text(&browser, "#evidence", first.msisdn.as_str()).await;

    // Decided: opt out, with a note; the item leaves the list.
    browser
        .find(Locator::Css("input[name=decision][value=opt_out]"))
        .await
        .expect("the opt-out choice")
        .click()
        .await
        .expect("chosen");
    browser
        .find(Locator::Css("#note"))
        .await
        .expect("the note")
        .send_keys("asked to stop in their own words")
        .await
        .expect("typed");
    browser
        .find(Locator::Css("#decide-form button[type=submit]"))
        .await
        .expect("the submit button")
        .click()
        .await
        .expect("submitted");
    let status = wait_text(&browser, "#status", "Decided: opt out").await;
    assert!(status.contains("decided by jane.doe"), "{status}");
    let left = rows(&browser, 2).await;
    assert_eq!(left[0][0], by_due[1].due.to_string());
    assert_eq!(left[1][0], by_due[2].due.to_string());
    browser.close().await.expect("closed");
    server.abort();

    // The API shows it resolved by the reviewer's key name; the number is opted out.
    let call = HttpCall::get("/reviews", "status=resolved").header("x-api-key", REVIEWER.1);
    let response = api.handle(call.request(EventShape::HttpApiV2)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let resolved = &body_json(&response)["items"];
    assert_eq!(resolved.as_array().map(Vec::len), Some(1), "{resolved}");
    assert_eq!(resolved[0]["id"], first.id);
    assert_eq!(resolved[0]["resolution"]["decision"], "opt_out");
    assert_eq!(resolved[0]["resolution"]["by"], REVIEWER.0);
    assert_eq!(
        resolved[0]["resolution"]["note"],
        "asked to stop in their own words"
    );
    let state = store
        .state(&first.msisdn)
        .await
        .expect("read")
        .expect("a state");
    assert_eq!(state.status, Status::OptedOut);
    for open in &by_due[1..] {
        let item = store.review(&open.id).await.expect("read").expect("kept");
        assert_eq!(item.status, ReviewStatus::Open);
    }
}

/// The page and its files need no key and carry the headers that keep them safe; any other
/// name under `/console/` is 404, and every API route still needs a key.
#[tokio::test]
async fn the_console_is_served_without_a_key_under_a_strict_policy() {
    let api = api(fresh_store().await);
    for (path, content_type) in [
        ("/console", "text/html; charset=utf-8"),
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let response = api
            .handle(HttpCall::get(path, "").request(EventShape::HttpApiV2))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("content-type"), content_type);
        let policy = header("content-security-policy");
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
    let response = api
        .handle(HttpCall::get("/console/secrets.json", "").request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(&response)["error"], "not_found");
    let response = api
        .handle(HttpCall::get("/reviews", "").request(EventShape::HttpApiV2))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
