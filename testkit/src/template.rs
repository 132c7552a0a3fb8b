//! Reading `template.yaml` (the SAM template): tests hold the code to what it deploys.

use std::collections::BTreeSet;

/// (method, path) pairs.
pub type Routes = BTreeSet<(String, String)>;

/// The parsed template. Panics (a test failure) when it cannot be read.
pub fn load() -> serde_yaml_ng::Value {
    let path = crate::repo_path("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The function resource (its YAML) built from `binary`, with its logical id.
pub fn function(
    template: &serde_yaml_ng::Value,
    binary: &str,
) -> Option<(String, serde_yaml_ng::Value)> {
    template["Resources"]
        .as_mapping()?
        .iter()
        .find_map(|(id, resource)| {
            let is_it = resource["Type"].as_str() == Some("AWS::Serverless::Function")
                && resource["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary);
            is_it.then(|| {
                (
                    id.as_str().unwrap_or_default().to_string(),
                    resource.clone(),
                )
            })
        })
}

/// (method, path) of every HttpApi event of the function built from `binary`; panics when no
/// function builds it.
pub fn http_routes(binary: &str) -> Routes {
    let template = load();
    let (_, resource) =
        function(&template, binary).unwrap_or_else(|| panic!("no function builds binary {binary}"));
    let mut routes = Routes::new();
    if let Some(events) = resource["Properties"]["Events"].as_mapping() {
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                routes.insert((
                    p["Method"].as_str().unwrap_or_default().to_uppercase(),
                    p["Path"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    routes
}

/// The text of a template value, through a tag such as `!Sub` if it has one.
pub fn text_of(value: &serde_yaml_ng::Value) -> String {
    match value {
        serde_yaml_ng::Value::Tagged(tagged) => text_of(&tagged.value),
        serde_yaml_ng::Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).unwrap_or_default(),
    }
}
