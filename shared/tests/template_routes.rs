//! `template.yaml` routes exactly the paths the code serves, to the function that serves them.

mod support;

use shared::keywords::KeywordRules;
use shared::resubscribe::ResubscribeApi;
use shared::unsubscribe::{Webhook, WebhookAuth};
use shared::vonage::OptInClient;
use std::collections::BTreeSet;
use support::*;

type Routes = BTreeSet<(String, String)>;

/// (method, path) of every HttpApi event of the function built from `binary`.
fn template_routes(binary: &str) -> Routes {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let resources = doc["Resources"].as_mapping().unwrap();
    let mut routes = Routes::new();
    let mut found = false;
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function")
            || resource["Metadata"]["BuildProperties"]["Binary"].as_str() != Some(binary)
        {
            continue;
        }
        found = true;
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for (_, event) in events {
                if event["Type"].as_str() == Some("HttpApi") {
                    let p = &event["Properties"];
                    routes.insert((
                        p["Method"].as_str().unwrap().to_uppercase(),
                        p["Path"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    assert!(found, "no function builds binary {binary}");
    routes
}

fn code_routes(routes: &[(&str, &str)]) -> Routes {
    routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn concrete(path: &str) -> String {
    path.replace("{token}", "t0ken")
        .replace("{msisdn}", "14155550100")
}

#[test]
fn the_template_routes_what_the_code_serves() {
    assert_eq!(
        template_routes("unsubscribe-webhook"),
        code_routes(shared::unsubscribe::ROUTES)
    );
    assert_eq!(
        template_routes("resubscribe"),
        code_routes(shared::resubscribe::ROUTES)
    );
}

/// ...and the code really serves each declared route (no 404 or 405 from the handler).
#[tokio::test]
async fn the_handlers_serve_every_declared_route() {
    let store = fresh_store().await;
    let webhook = Webhook {
        store: store.clone(),
        rules: KeywordRules::default(),
        auth: WebhookAuth::default(),
    };
    for (method, path) in shared::unsubscribe::ROUTES {
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
    let client = OptInClient::new("http://127.0.0.1:9", "k", "s").unwrap();
    let api = ResubscribeApi::new(store, client, vec!["key".into()]);
    for (method, path) in shared::resubscribe::ROUTES {
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
