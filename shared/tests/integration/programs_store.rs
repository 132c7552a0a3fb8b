//! Programs in the record (docs/decisions/0005-programs.md), against the local server: one
//! state item per scope under `Store::record`'s one rule, and a program's status the newest of
//! the items that reach it, on both sides of the revoke-all date; through the webhook and the
//! website API.

use shared::domain::event::{Event, Outcome, Status};
use shared::domain::program::{ProgramId, Programs, Reach, RevokeAll, Scope};
use testkit::*;
use time::macros::datetime;
use time::OffsetDateTime;

const PROGRAMS: &str = r#"[
    {"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"], "default": true},
    {"id": "deals", "name": "Acme Deals", "numbers": ["14155550100"]},
    {"id": "notices", "name": "Acme Notices", "numbers": ["18885550100"], "consent_required": false}
]"#;

fn programs() -> Programs {
    Programs::parse(PROGRAMS).expect("programs")
}

fn id(s: &str) -> ProgramId {
    ProgramId::parse(s).expect("id")
}

/// Each program's status for `digits`: `None` when nothing is recorded that reaches it.
async fn statuses(store: &shared::adapters::store::Store, digits: &str) -> Vec<Option<Status>> {
    let programs = programs();
    let mut out = Vec::new();
    for program in programs.all() {
        let scopes = programs.scopes_reaching(program);
        let state = store
            .state_in(&msisdn(digits), &scopes)
            .await
            .expect("read");
        out.push(state.map(|s| s.status));
    }
    out
}

fn with_scopes(mut event: Event, scopes: Vec<Scope>) -> Event {
    event.scopes = scopes;
    event
}

/// A STOP texted to `to` at `at`, scoped as the webhook scopes it.
fn stop_to(digits: &str, to: &str, reach: Reach, id: &str, at: OffsetDateTime) -> Event {
    let programs = programs();
    let texted = programs.for_number(to);
    let scopes = programs.opt_out_scopes(texted, reach, RevokeAll::parse(None).expect("rule"), at);
    with_scopes(records::stop(&msisdn(digits), id, at), scopes)
}

fn resubscribe_to(digits: &str, program: &str, id: &str, at: OffsetDateTime) -> Event {
    with_scopes(
        records::resubscribe(&msisdn(digits), id, at),
        vec![Scope::Program(self::id(program))],
    )
}

const OPTED_OUT: Option<Status> = Some(Status::OptedOut);
const SUBSCRIBED: Option<Status> = Some(Status::Subscribed);

#[tokio::test]
async fn a_stop_to_one_program_keeps_the_others_before_the_revoke_all_date_and_ends_them_from_it() {
    let store = fresh_store().await;
    let day_before = datetime!(2027-01-30 15:00 UTC);
    let stop = stop_to(
        "14155557001",
        "14155550100",
        Reach::ThisProgram,
        "P1",
        day_before,
    );
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Applied);
    // alerts, deals, notices
    assert_eq!(
        statuses(&store, "14155557001").await,
        [None, OPTED_OUT, None]
    );

    let the_day = datetime!(2027-01-31 15:00 UTC);
    let stop = stop_to(
        "14155557002",
        "14155550100",
        Reach::ThisProgram,
        "P2",
        the_day,
    );
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Applied);
    // Every program that needs consent; the notices need none and were not texted.
    assert_eq!(
        statuses(&store, "14155557002").await,
        [OPTED_OUT, OPTED_OUT, None]
    );

    // Texting the program that needs no consent ends it too.
    let stop = stop_to(
        "14155557003",
        "18885550100",
        Reach::ThisProgram,
        "P3",
        the_day,
    );
    assert_eq!(store.record(&stop).await.unwrap(), Outcome::Applied);
    assert_eq!(
        statuses(&store, "14155557003").await,
        [OPTED_OUT, OPTED_OUT, OPTED_OUT]
    );
}

#[tokio::test]
async fn stop_all_then_a_resubscribe_to_one_program_leaves_only_that_one_open() {
    let store = fresh_store().await;
    let n = "14155557010";
    let at = datetime!(2026-12-10 12:00 UTC);
    let stop_all = stop_to(n, "12345", Reach::All, "P10", at);
    assert_eq!(stop_all.scopes, [Scope::Every]);
    store.record(&stop_all).await.unwrap();
    assert_eq!(statuses(&store, n).await, [OPTED_OUT, OPTED_OUT, OPTED_OUT]);

    let later = datetime!(2026-12-11 12:00 UTC);
    let resubscribe = resubscribe_to(n, "deals", "P10", later);
    assert_eq!(store.record(&resubscribe).await.unwrap(), Outcome::Applied);
    assert_eq!(
        statuses(&store, n).await,
        [OPTED_OUT, SUBSCRIBED, OPTED_OUT]
    );

    // A consent older than the STOP ALL is kept in history and opens nothing.
    let older = resubscribe_to(n, "alerts", "P10-old", datetime!(2026-12-09 12:00 UTC));
    store.record(&older).await.unwrap();
    assert_eq!(
        statuses(&store, n).await,
        [OPTED_OUT, SUBSCRIBED, OPTED_OUT]
    );
}

#[tokio::test]
async fn a_stop_to_one_program_and_a_resubscribe_to_another_at_the_same_moment_both_hold() {
    let store = fresh_store().await;
    let n = "14155557020";
    let at = datetime!(2026-12-10 12:00 UTC);
    // Deals opted out first, so that its resubscribe has something to lift.
    store
        .record(&stop_to(
            n,
            "14155550100",
            Reach::ThisProgram,
            "P20",
            datetime!(2026-12-01 12:00 UTC),
        ))
        .await
        .unwrap();
    let stop_alerts = stop_to(n, "12345", Reach::ThisProgram, "P21", at);
    let resubscribe_deals = resubscribe_to(n, "deals", "P21", at);
    let (a, b) = tokio::join!(store.record(&stop_alerts), store.record(&resubscribe_deals));
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (Outcome::Applied, Outcome::Applied)
    );
    assert_eq!(statuses(&store, n).await, [OPTED_OUT, SUBSCRIBED, None]);
}

#[tokio::test]
async fn an_event_applies_to_each_scope_where_it_is_the_newest() {
    let store = fresh_store().await;
    let n = "14155557030";
    // The notices were resubscribed after the STOP below was texted, which arrives late.
    let resubscribe = resubscribe_to(n, "notices", "P30", datetime!(2027-02-02 12:00 UTC));
    store.record(&resubscribe).await.unwrap();
    let late_stop = stop_to(
        n,
        "18885550100",
        Reach::ThisProgram,
        "P31",
        datetime!(2027-02-01 12:00 UTC),
    );
    assert_eq!(
        late_stop.scopes,
        [Scope::ConsentRequired, Scope::Program(id("notices"))]
    );
    assert_eq!(store.record(&late_stop).await.unwrap(), Outcome::Applied);
    assert_eq!(
        statuses(&store, n).await,
        [OPTED_OUT, OPTED_OUT, SUBSCRIBED]
    );
    let history = store.history(&msisdn(n), 10).await.unwrap();
    let entry = history
        .iter()
        .find(|h| h.event_id == "sms:P31")
        .expect("entry");
    assert!(entry.applied);
    assert_eq!(entry.scopes, late_stop.scopes);
    // A redelivery is one event, as everywhere.
    assert_eq!(store.record(&late_stop).await.unwrap(), Outcome::Duplicate);
}

#[tokio::test]
async fn an_opt_out_written_before_programs_existed_blocks_every_program_until_a_newer_consent() {
    let store = fresh_store().await;
    let n = "14155557040";
    // What a deployment without programs writes (and every earlier version wrote).
    let legacy = records::stop(&msisdn(n), "P40", datetime!(2026-11-01 12:00 UTC));
    assert_eq!(legacy.scopes, [Scope::Every]);
    store.record(&legacy).await.unwrap();
    assert_eq!(statuses(&store, n).await, [OPTED_OUT, OPTED_OUT, OPTED_OUT]);
    let single = Programs::single("Acme");
    let state = store
        .state_in(
            &msisdn(n),
            &single.scopes_reaching(single.default_program()),
        )
        .await
        .unwrap();
    assert_eq!(state.map(|s| s.status), OPTED_OUT);

    store
        .record(&resubscribe_to(
            n,
            "alerts",
            "P40",
            datetime!(2026-12-01 12:00 UTC),
        ))
        .await
        .unwrap();
    assert_eq!(
        statuses(&store, n).await,
        [SUBSCRIBED, OPTED_OUT, OPTED_OUT]
    );
}

mod through_the_webhook {
    //! The same rules from a text: the program is the one whose number the person texted.
    use super::*;
    use lambda_http::http::StatusCode;
    use shared::adapters::config::Settings;
    use shared::handlers::webhook::Webhook;

    /// A webhook with the three programs, revoke-all from `from`.
    fn webhook(store: shared::adapters::store::Store, from: &str) -> Webhook {
        let settings = Settings::from_pairs([("PROGRAMS", PROGRAMS), ("REVOKE_ALL_FROM", from)]);
        Webhook::from_settings(store, &settings).expect("settings")
    }

    async fn text(hook: &Webhook, from: &str, to: &str, id: &str, text: &str, sent: &str) {
        let query = serde_urlencoded::to_string([
            ("msisdn", from),
            ("to", to),
            ("messageId", id),
            ("text", text),
            ("type", "text"),
            ("message-timestamp", sent),
        ])
        .expect("query");
        let response = hook
            .handle(HttpCall::get("/webhooks/inbound", &query).request(EventShape::HttpApiV2))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            body_json(&response)
        );
    }

    #[tokio::test]
    async fn stop_to_a_program_on_both_sides_of_the_revoke_all_date_stop_all_and_an_unknown_number()
    {
        let store = fresh_store().await;
        // The rule's date is a setting; the day before it and the day itself, as message times.
        let hook = webhook(store.clone(), "2026-11-20");
        text(
            &hook,
            "14155557101",
            "14155550100",
            "0A7101",
            "STOP",
            "2026-11-19 23:59:59",
        )
        .await;
        assert_eq!(
            statuses(&store, "14155557101").await,
            [None, OPTED_OUT, None]
        );
        text(
            &hook,
            "14155557102",
            "14155550100",
            "0A7102",
            "STOP",
            "2026-11-20 00:00:00",
        )
        .await;
        assert_eq!(
            statuses(&store, "14155557102").await,
            [OPTED_OUT, OPTED_OUT, None]
        );

        // STOP ALL ends the programs that need no consent too, either side of the date.
        text(
            &hook,
            "14155557103",
            "14155550100",
            "0A7103",
            "STOP ALL",
            "2026-11-19 12:00:00",
        )
        .await;
        assert_eq!(
            statuses(&store, "14155557103").await,
            [OPTED_OUT, OPTED_OUT, OPTED_OUT]
        );

        // A number no program declares is the default program's (alerts), never ignored.
        text(
            &hook,
            "14155557104",
            "19995550000",
            "0A7104",
            "Stop",
            "2026-11-19 12:00:00",
        )
        .await;
        assert_eq!(
            statuses(&store, "14155557104").await,
            [OPTED_OUT, None, None]
        );
        let off = webhook(store.clone(), "off");
        text(
            &off,
            "14155557105",
            "14155550100",
            "0A7105",
            "STOP",
            "2026-11-25 12:00:00",
        )
        .await;
        assert_eq!(
            statuses(&store, "14155557105").await,
            [None, OPTED_OUT, None]
        );
    }

    #[tokio::test]
    async fn a_start_texted_to_a_program_resubscribes_that_program_alone() {
        let store = fresh_store().await;
        let settings = Settings::from_pairs([
            ("PROGRAMS", PROGRAMS),
            ("REVOKE_ALL_FROM", "off"),
            ("PROVIDER_MODE", "self-managed"),
        ]);
        let hook = Webhook::from_settings(store.clone(), &settings).expect("settings");
        let n = "14155557110";
        text(
            &hook,
            n,
            "12345",
            "0A7110",
            "STOP ALL",
            "2026-11-19 12:00:00",
        )
        .await;
        text(
            &hook,
            n,
            "18885550100",
            "0A7111",
            "START",
            "2026-11-19 12:05:00",
        )
        .await;
        assert_eq!(
            statuses(&store, n).await,
            [OPTED_OUT, OPTED_OUT, SUBSCRIBED]
        );
    }
}

mod through_the_website_api {
    //! `POST /resubscribe` names its program; every answer checked against openapi.yaml.
    use super::*;
    use lambda_http::http::StatusCode;
    use shared::adapters::config::Settings;
    use shared::handlers::website_api::WebsiteApi;
    use testkit::openapi::CheckedApi;

    const KEY: &str = "programs-key";

    fn api(store: shared::adapters::store::Store) -> CheckedApi {
        let settings = Settings::from_pairs([
            ("PROGRAMS", PROGRAMS),
            ("API_KEYS", KEY),
            ("PROVIDER_MODE", "self-managed"),
            // A date in the past, so that opt-outs by API (never dated ahead of now) fall on
            // both sides of it.
            ("REVOKE_ALL_FROM", "2026-11-20"),
        ]);
        CheckedApi::new(WebsiteApi::from_settings(store, &settings).expect("settings"))
    }

    async fn resubscribe(
        api: &CheckedApi,
        digits: &str,
        program: Option<&str>,
        at: OffsetDateTime,
    ) -> (StatusCode, serde_json::Value) {
        let mut body = serde_json::json!({
            "msisdn": digits,
            "consent": {"source": "preferences-page", "captured_at": shared::domain::timestamp::format(at)},
        });
        if let Some(program) = program {
            body["program"] = program.into();
        }
        let body = body.to_string();
        let call = HttpCall::post("/resubscribe", "application/json", body.as_bytes())
            .header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        (response.status(), body_json(&response))
    }

    #[tokio::test]
    async fn a_resubscribe_opens_the_program_it_names_and_no_other() {
        let store = fresh_store().await;
        let api = api(store.clone());
        let n = "14155557201";
        let now = shared::domain::timestamp::now();
        let stop_all = stop_to(
            n,
            "12345",
            Reach::All,
            "P201",
            now - time::Duration::hours(2),
        );
        store.record(&stop_all).await.unwrap();

        let (status, json) =
            resubscribe(&api, n, Some("deals"), now - time::Duration::minutes(5)).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["program"], "deals");
        assert_eq!(
            statuses(&store, n).await,
            [OPTED_OUT, SUBSCRIBED, OPTED_OUT]
        );

        // The same consent for another program is another event, not a duplicate of the first.
        let (status, json) = resubscribe(&api, n, None, now - time::Duration::minutes(5)).await;
        assert_eq!(
            (status, json["program"].as_str()),
            (StatusCode::OK, Some("alerts"))
        );
        assert_eq!(json["outcome"], "applied");
        assert_eq!(
            statuses(&store, n).await,
            [SUBSCRIBED, SUBSCRIBED, OPTED_OUT]
        );
    }

    #[tokio::test]
    async fn a_consent_older_than_an_opt_out_reaching_the_program_is_refused_and_an_unknown_program_too(
    ) {
        let store = fresh_store().await;
        let api = api(store.clone());
        let n = "14155557202";
        let now = shared::domain::timestamp::now();
        // STOP ALL an hour ago; a consent from two hours ago cannot undo it for any program.
        store
            .record(&stop_to(
                n,
                "12345",
                Reach::All,
                "P202",
                now - time::Duration::hours(1),
            ))
            .await
            .unwrap();
        let (status, json) =
            resubscribe(&api, n, Some("notices"), now - time::Duration::hours(2)).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::CONFLICT, Some("newer_opt_out"))
        );

        let before = item_count(&store).await;
        let (status, json) = resubscribe(&api, n, Some("weekly"), now).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        assert_eq!(json["error"], "invalid_parameter");
        assert!(json["message"]
            .as_str()
            .unwrap_or("")
            .contains("alerts, deals, notices"));
        assert_eq!(item_count(&store).await, before, "nothing written");
        assert_eq!(statuses(&store, n).await, [OPTED_OUT, OPTED_OUT, OPTED_OUT]);
    }

    async fn may_send(api: &CheckedApi, program: Option<&str>, numbers: &[&str]) -> Vec<bool> {
        let mut body = serde_json::json!({ "numbers": numbers });
        if let Some(program) = program {
            body["program"] = program.into();
        }
        let body = body.to_string();
        let call = HttpCall::post("/eligibility", "application/json", body.as_bytes())
            .header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        let json = body_json(&response);
        assert_eq!(response.status(), StatusCode::OK, "{json}");
        assert_eq!(json["program"], program.unwrap_or("alerts"));
        json["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["may_send"] == true)
            .collect()
    }

    #[tokio::test]
    async fn the_send_time_check_answers_every_input_for_the_program_named() {
        let store = fresh_store().await;
        let api = api(store.clone());
        let (a, b, c) = ("14155557301", "14155557302", "14155557303");
        // a: STOP to deals before the revoke-all date; b: a STOP to alerts from it; c: nothing.
        store
            .record(&stop_to(
                a,
                "14155550100",
                Reach::ThisProgram,
                "P301",
                datetime!(2027-01-30 12:00 UTC),
            ))
            .await
            .unwrap();
        store
            .record(&stop_to(
                b,
                "12345",
                Reach::ThisProgram,
                "P302",
                datetime!(2027-01-31 12:00 UTC),
            ))
            .await
            .unwrap();
        let numbers = [a, b, c];
        assert_eq!(may_send(&api, None, &numbers).await, [true, false, true]);
        assert_eq!(
            may_send(&api, Some("deals"), &numbers).await,
            [false, false, true]
        );
        assert_eq!(
            may_send(&api, Some("notices"), &numbers).await,
            [true, true, true]
        );

        let body = serde_json::json!({ "numbers": numbers, "program": "weekly" }).to_string();
        let call = HttpCall::post("/eligibility", "application/json", body.as_bytes())
            .header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(&response)["error"], "invalid_parameter");
    }

    #[tokio::test]
    async fn a_lookup_shows_each_programs_status() {
        let store = fresh_store().await;
        let api = api(store.clone());
        let n = "14155557401";
        store
            .record(&stop_to(
                n,
                "14155550100",
                Reach::ThisProgram,
                "P401",
                datetime!(2026-12-01 12:00 UTC),
            ))
            .await
            .unwrap();
        let call = HttpCall::get("/subscriptions/14155557401", "").header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        let json = body_json(&response);
        assert_eq!(response.status(), StatusCode::OK, "{json}");
        // The top level is the default program's.
        assert_eq!(
            (json["status"].as_str(), json["known"].as_bool()),
            (Some("subscribed"), Some(false))
        );
        let programs: Vec<(String, String, bool)> = json["programs"]
            .as_array()
            .expect("programs")
            .iter()
            .map(|p| {
                (
                    p["program"].as_str().unwrap_or("").into(),
                    p["status"].as_str().unwrap_or("").into(),
                    p["known"] == true,
                )
            })
            .collect();
        let expected = [
            ("alerts", "subscribed", false),
            ("deals", "opted_out", true),
            ("notices", "subscribed", false),
        ];
        assert_eq!(
            programs,
            expected.map(|(p, s, k)| (p.to_owned(), s.to_owned(), k))
        );
        assert_eq!(json["history"].as_array().map(Vec::len), Some(1));
    }

    async fn opt_out(
        api: &CheckedApi,
        digits: &str,
        key: &str,
        programs: Option<serde_json::Value>,
        at: OffsetDateTime,
    ) -> (StatusCode, serde_json::Value) {
        let mut body = serde_json::json!({
            "msisdn": digits,
            "evidence": {"source": "unsubscribe-link", "channel": "email", "captured_at": shared::domain::timestamp::format(at)},
        });
        if let Some(programs) = programs {
            body["programs"] = programs;
        }
        let body = body.to_string();
        let call = HttpCall::post("/opt-outs", "application/json", body.as_bytes())
            .header("x-api-key", KEY)
            .header("idempotency-key", key);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        (response.status(), body_json(&response))
    }

    #[tokio::test]
    async fn an_opt_out_by_api_ends_the_programs_it_names_or_every_program() {
        let store = fresh_store().await;
        let api = api(store.clone());
        let before = datetime!(2026-11-19 12:00 UTC);
        let (status, json) = opt_out(
            &api,
            "14155557501",
            "k-501",
            Some(serde_json::json!(["deals", "notices"])),
            before,
        )
        .await;
        assert_eq!(
            (status, json["status"].as_str()),
            (StatusCode::OK, Some("opted_out")),
            "{json}"
        );
        assert_eq!(
            statuses(&store, "14155557501").await,
            [None, OPTED_OUT, OPTED_OUT]
        );
        // From the revoke-all date a named program that needs consent ends every such program.
        let (status, _) = opt_out(
            &api,
            "14155557502",
            "k-502",
            Some(serde_json::json!(["deals"])),
            datetime!(2026-11-20 12:00 UTC),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            statuses(&store, "14155557502").await,
            [OPTED_OUT, OPTED_OUT, None]
        );
        let (status, _) = opt_out(&api, "14155557503", "k-503", None, before).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            statuses(&store, "14155557503").await,
            [OPTED_OUT, OPTED_OUT, OPTED_OUT]
        );

        let count = item_count(&store).await;
        for (programs, key) in [
            (serde_json::json!(["weekly"]), "k-504"),
            (serde_json::json!([]), "k-505"),
        ] {
            let (status, json) = opt_out(&api, "14155557504", key, Some(programs), before).await;
            assert_eq!(
                (status, json["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_parameter")),
                "{json}"
            );
        }
        assert_eq!(item_count(&store).await, count, "nothing written");
    }

    /// Every number `GET /opt-outs` lists for `program`, `limit` a page.
    async fn listed(api: &CheckedApi, program: &str, limit: usize) -> Vec<String> {
        let mut numbers = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..20 {
            let mut query = format!("program={program}&limit={limit}");
            if let Some(c) = &cursor {
                query.push_str(&format!("&cursor={c}"));
            }
            let call = HttpCall::get("/opt-outs", &query).header("x-api-key", KEY);
            let response = api.handle(call.request(EventShape::HttpApiV2)).await;
            let json = body_json(&response);
            assert_eq!(response.status(), StatusCode::OK, "{json}");
            assert_eq!(json["program"], program);
            let items = json["items"].as_array().expect("items");
            assert!(items.len() <= limit);
            numbers.extend(
                items
                    .iter()
                    .map(|i| i["msisdn"].as_str().unwrap_or("").to_owned()),
            );
            match json["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return numbers,
            }
        }
        panic!("more pages than numbers");
    }

    #[tokio::test]
    async fn each_programs_opted_out_list_holds_what_reaches_it_and_no_number_a_newer_consent_opened(
    ) {
        let store = fresh_store().await;
        let api = api(store.clone());
        let at = datetime!(2026-12-01 12:00 UTC);
        let (x, y, z, w) = ("14155557601", "14155557602", "14155557603", "14155557604");
        store
            .record(&stop_to(x, "12345", Reach::All, "P601", at))
            .await
            .unwrap();
        store
            .record(&stop_to(y, "14155550100", Reach::ThisProgram, "P602", at))
            .await
            .unwrap();
        store
            .record(&stop_to(z, "12345", Reach::All, "P603", at))
            .await
            .unwrap();
        store
            .record(&resubscribe_to(
                z,
                "deals",
                "P603",
                at + time::Duration::hours(1),
            ))
            .await
            .unwrap();
        // From the revoke-all date (2027-01-31 by default): every program that needs consent.
        store
            .record(&stop_to(
                w,
                "12345",
                Reach::ThisProgram,
                "P604",
                datetime!(2027-02-01 12:00 UTC),
            ))
            .await
            .unwrap();
        for limit in [1, 2, 100] {
            assert_eq!(
                listed(&api, "deals", limit).await,
                [x, y, w],
                "limit {limit}"
            );
            assert_eq!(
                listed(&api, "notices", limit).await,
                [x, z],
                "limit {limit}"
            );
            assert_eq!(
                listed(&api, "alerts", limit).await,
                [x, z, w],
                "limit {limit}"
            );
        }
    }

    /// A review item for a message `digits` sent to `to` on 2026-11-19 (the day before this
    /// API's revoke-all date), opened as the webhook opens one.
    async fn open_review(
        store: &shared::adapters::store::Store,
        digits: &str,
        to: &str,
        text: &str,
    ) -> String {
        use shared::domain::review::{self, Review, ReviewStatus};
        let n = msisdn(digits);
        let event_id = format!("sms:R{digits}");
        let at = datetime!(2026-11-19 12:00 UTC);
        let item = Review {
            id: review::review_id(&n, &event_id),
            msisdn: n,
            status: ReviewStatus::Open,
            due: review::Due::Day(time::macros::date!(2026 - 12 - 03)),
            cue: "stop".into(),
            text: text.into(),
            message_id: format!("R{digits}"),
            message_event_id: event_id,
            short_code: to.into(),
            message_at: at,
            received_at: at,
            resolution: None,
        };
        assert!(store.open_review(&item).await.expect("open"));
        item.id
    }

    async fn decide(
        api: &CheckedApi,
        id: &str,
        programs: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut body = serde_json::json!({"decision": "opt_out", "by": "jane.doe"});
        if let Some(programs) = programs {
            body["programs"] = programs;
        }
        let body = body.to_string();
        let path = format!("/reviews/{id}");
        let call =
            HttpCall::post(&path, "application/json", body.as_bytes()).header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        (response.status(), body_json(&response))
    }

    #[tokio::test]
    async fn a_review_decided_as_an_opt_out_ends_what_the_message_would_have_or_the_programs_named()
    {
        let store = fresh_store().await;
        let api = api(store.clone());
        let to_deals = open_review(
            &store,
            "14155557701",
            "14155550100",
            "please don't stop... or do",
        )
        .await;
        let (status, json) = decide(&api, &to_deals, None).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(
            statuses(&store, "14155557701").await,
            [None, OPTED_OUT, None]
        );

        let saying_all = open_review(&store, "14155557702", "14155550100", "stop it all?").await;
        assert_eq!(decide(&api, &saying_all, None).await.0, StatusCode::OK);
        assert_eq!(
            statuses(&store, "14155557702").await,
            [OPTED_OUT, OPTED_OUT, OPTED_OUT]
        );

        let named = open_review(&store, "14155557703", "14155550100", "stop?").await;
        let count = item_count(&store).await;
        let (status, json) = decide(&api, &named, Some(serde_json::json!(["weekly"]))).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
        );
        assert_eq!(
            item_count(&store).await,
            count,
            "nothing written, the item still open"
        );
        let (status, _) = decide(&api, &named, Some(serde_json::json!(["notices"]))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            statuses(&store, "14155557703").await,
            [None, None, OPTED_OUT]
        );
    }

    #[tokio::test]
    async fn the_evidence_file_shows_and_checks_each_scopes_state() {
        let store = fresh_store().await;
        let api = api(store.clone());
        let n = "14155557801";
        let at = datetime!(2026-12-01 12:00 UTC);
        store
            .record(&stop_to(n, "14155550100", Reach::ThisProgram, "P801", at))
            .await
            .unwrap();
        store
            .record(&stop_to(
                n,
                "12345",
                Reach::All,
                "P802",
                at + time::Duration::hours(1),
            ))
            .await
            .unwrap();
        store
            .record(&resubscribe_to(
                n,
                "deals",
                "P803",
                at + time::Duration::hours(2),
            ))
            .await
            .unwrap();
        let call =
            HttpCall::get("/subscriptions/14155557801/evidence", "").header("x-api-key", KEY);
        let response = api.handle(call.request(EventShape::HttpApiV2)).await;
        let json = body_json(&response);
        assert_eq!(response.status(), StatusCode::OK, "{json}");
        // Every program: the STOP ALL; deals: the resubscribe after it; both consistent.
        assert_eq!(json["state"]["event_id"], "sms:P802");
        assert_eq!(json["check"]["ok"], true, "{}", json["check"]);
        let scoped = json["scoped_states"].as_array().expect("scoped states");
        assert_eq!(scoped.len(), 1);
        assert_eq!(scoped[0]["scope"], "deals");
        assert_eq!(scoped[0]["state"]["status"], "subscribed");
        assert_eq!(scoped[0]["check"]["ok"], true, "{}", scoped[0]["check"]);
        assert_eq!(json["timeline"].as_array().map(Vec::len), Some(3));
        // Each event says which programs it concerned; STOP ALL concerned every one.
        let scopes: Vec<&serde_json::Value> = json["timeline"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["scopes"])
            .collect();
        assert_eq!(
            scopes,
            [
                &serde_json::json!(["deals"]),
                &serde_json::Value::Null,
                &serde_json::json!(["deals"])
            ]
        );

        let call = HttpCall::get("/subscriptions/14155557801/evidence", "format=text")
            .header("x-api-key", KEY);
        let text = api.handle(call.request(EventShape::HttpApiV2)).await;
        let text = String::from_utf8_lossy(text.body().as_ref()).into_owned();
        assert!(text.contains("State for deals: subscribed"), "{text}");
        assert!(text.contains("[for deals]"), "{text}");
    }
}
