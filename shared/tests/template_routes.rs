//! `template.yaml` routes exactly the paths the code serves, to the function that serves them.

use shared::adapters::vonage::VonageClient;
use shared::handlers::resubscribe::ResubscribeApi;
use shared::handlers::webhook::{Webhook, WebhookAuth};
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
}

#[test]
fn the_template_routes_what_the_code_serves() {
    assert_eq!(
        template_routes("unsubscribe-webhook"),
        code_routes(shared::handlers::webhook::ROUTES)
    );
    assert_eq!(
        template_routes("resubscribe"),
        code_routes(shared::handlers::resubscribe::ROUTES)
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
    let api =
        testkit::openapi::CheckedApi::new(ResubscribeApi::new(store, client, vec!["key".into()]));
    for (method, path) in shared::handlers::resubscribe::ROUTES {
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
