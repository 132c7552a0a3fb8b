//! `template.yaml` routes exactly the paths the code serves, to the function that serves them.

use shared::adapters::vonage::VonageClient;
use shared::handlers::webhook::{Webhook, WebhookAuth};
use shared::handlers::website_api::WebsiteApi;
use testkit::*;

use testkit::template::{http_routes as template_routes, Routes};

fn code_routes(routes: &[(&str, &str)]) -> Routes {
    routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn concrete(path: &str) -> String {
    path.replace("{token}", "t0ken")
        .replace("{msisdn}", "14155550100")
        .replace("{id}", "rv_00000000000000000000000000000000")
        .replace("{file}", "console.js")
}

#[test]
fn the_template_routes_what_the_code_serves() {
    assert_eq!(
        template_routes("unsubscribe-webhook"),
        code_routes(shared::handlers::webhook::ROUTES)
    );
    assert_eq!(
        template_routes("resubscribe"),
        code_routes(shared::handlers::website_api::ROUTES)
    );
}

/// ...and the code really serves each declared route (no 404 or 405 from the handler).
#[tokio::test]
async fn the_handlers_serve_every_declared_route() {
    let store = fresh_store().await;
    let webhook = Webhook::new(store.clone(), WebhookAuth::default());
    for (method, path) in shared::handlers::webhook::ROUTES {
        let path = concrete(path);
        let call =
            HttpCall::get(&path, "msisdn=14155550100&to=1&messageId=R1&text=hi").method(method);
        let status = webhook
            .handle(call.request(EventShape::HttpApiV2))
            .await
            .status()
            .as_u16();
        assert!(![404, 405].contains(&status), "{method} {path}: {status}");
    }
    let client = VonageClient::new("http://127.0.0.1:9", "k", "s").unwrap();
    let api = testkit::openapi::CheckedApi::new(WebsiteApi::new(store, client, vec!["key".into()]));
    for (method, path) in shared::handlers::website_api::ROUTES {
        let path = concrete(path);
        let call = HttpCall::post(&path, "application/json", b"{}")
            .method(method)
            .header("x-api-key", "key");
        let status = api
            .handle(call.request(EventShape::HttpApiV2))
            .await
            .status()
            .as_u16();
        assert!(![404, 405].contains(&status), "{method} {path}: {status}");
    }
}

#[test]
fn every_metric_the_code_emits_is_on_the_dashboard_and_every_alarm_watches_a_real_metric() {
    use shared::adapters::metrics::{Metric, NAMESPACE};
    let template = testkit::template::load();
    let resources = template["Resources"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    let dashboards: Vec<String> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Dashboard"))
        .map(|r| testkit::template::text_of(&r["Properties"]["DashboardBody"]))
        .collect();
    assert_eq!(dashboards.len(), 1);
    let body = &dashboards[0];
    // The body is JSON once CloudFormation substitutes the pseudo parameters.
    let json = body
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::StackName}", "stack");
    let parsed: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("dashboard JSON: {e}"));
    assert!(parsed["widgets"].as_array().is_some_and(|w| !w.is_empty()));
    for metric in Metric::ALL {
        assert!(
            body.contains(&format!("{{{NAMESPACE},"))
                && body.contains(&format!("MetricName=\\\"{}\\\"", metric.as_str())),
            "{} is not on the dashboard",
            metric.as_str()
        );
    }
    let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
    let mut alarms = 0;
    for (id, resource) in &resources {
        if resource["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        alarms += 1;
        let p = &resource["Properties"];
        let mut watched: Vec<(String, String)> = Vec::new();
        if let Some(ns) = p["Namespace"].as_str() {
            watched.push((
                ns.to_string(),
                p["MetricName"].as_str().unwrap_or("").to_string(),
            ));
        }
        for m in p["Metrics"].as_sequence().cloned().unwrap_or_default() {
            let metric = &m["MetricStat"]["Metric"];
            if let Some(ns) = metric["Namespace"].as_str() {
                watched.push((
                    ns.to_string(),
                    metric["MetricName"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        assert!(!watched.is_empty(), "{id:?} watches no metric");
        for (ns, name) in watched {
            match ns.as_str() {
                NAMESPACE => assert!(
                    names.contains(&name.as_str()),
                    "{id:?} watches {name}, which the code never emits"
                ),
                "AWS/Lambda" => assert_eq!(name, "Errors", "{id:?}"),
                "AWS/SQS" => assert_eq!(name, "ApproximateNumberOfMessagesVisible", "{id:?}"),
                other => panic!("{id:?} watches {other}/{name}"),
            }
        }
        // Every alarm can notify the operator's topic.
        assert!(!p["AlarmActions"].is_null(), "{id:?} has no actions");
    }
    assert!(alarms >= 6, "{alarms} alarms");
}

/// The daily review check is deployed on a schedule, and the overdue alarm watches a metric the
/// check emits, under the dimension it emits it with.
#[test]
fn the_review_check_runs_daily_and_its_alarm_watches_an_emitted_metric() {
    use shared::adapters::metrics::{Metric, NAMESPACE};
    let template = testkit::template::load();
    let (_, function) = testkit::template::function(&template, "review-check")
        .expect("a function builds the review-check binary");
    let events = function["Properties"]["Events"]
        .as_mapping()
        .expect("events");
    assert!(
        events
            .values()
            .any(|e| e["Type"].as_str() == Some("Schedule")),
        "review-check has a schedule"
    );
    let alarm = &template["Resources"]["ReviewsOverdueAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"].as_str(), Some(NAMESPACE));
    assert_eq!(
        alarm["MetricName"].as_str(),
        Some(Metric::ReviewItemsOverdue.as_str())
    );
    assert!(Metric::ALL
        .iter()
        .any(|m| Some(m.as_str()) == alarm["MetricName"].as_str()));
    assert_eq!(alarm["Dimensions"][0]["Name"].as_str(), Some("Function"));
    assert_eq!(
        alarm["Dimensions"][0]["Value"].as_str(),
        Some(shared::handlers::review_check::FUNCTION)
    );
    assert_eq!(alarm["Threshold"].as_i64(), Some(0));
}
