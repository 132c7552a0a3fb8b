//! Which of a function's routes a request is for, read from the event rather than from a URI
//! built out of it: API Gateway's own route when the event names one of the function's
//! templates, else the raw path, each segment percent-decoded once (so `%2F`, `%23`, `%3F` stay
//! inside their segment). A blank parameter makes no route; a known path with another method is
//! 405, not 404. Why and how: docs/decisions/0002-routing-on-the-events-route.md.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// What a request's method and path select among a function's routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// One of the routes, with its parameters' values in the template's order, decoded.
    Route {
        route: (&'static str, &'static str),
        params: Vec<String>,
    },
    /// A known path with another method; `allow` is the path's methods (`GET, POST`).
    MethodNotAllowed { allow: String },
    /// No route has this path.
    NotFound,
}

/// The route `req` is for among `(METHOD, /path/{param})` pairs.
pub fn select(req: &Request, routes: &[(&'static str, &'static str)]) -> Selected {
    let Some((template, params)) = from_gateway(req, routes).or_else(|| from_raw_path(req, routes))
    else {
        return Selected::NotFound;
    };
    if params.iter().any(|p| is_blank(p)) {
        return Selected::NotFound;
    }
    let method = req.method().as_str();
    match routes.iter().find(|(m, t)| *t == template && *m == method) {
        Some(&route) => Selected::Route { route, params },
        None => Selected::MethodNotAllowed {
            allow: methods_of(template, routes).join(", "),
        },
    }
}

pub fn methods_of(template: &str, routes: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for &(m, t) in routes {
        if t == template && !methods.contains(&m) {
            methods.push(m);
        }
    }
    methods
}

/// A path segment decoded once (`%2B` is `+`, `+` stays `+`: a path is not a form). Bytes that
/// are not UTF-8 become U+FFFD, which no template literal or number holds.
pub fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn is_blank(value: &str) -> bool {
    value.chars().all(|c| c.is_whitespace() || c.is_control())
}

/// API Gateway's route when it names one of `routes`' templates and gives every parameter.
fn from_gateway(
    req: &Request,
    routes: &[(&'static str, &'static str)],
) -> Option<(&'static str, Vec<String>)> {
    let (declared, encoded) = match req.request_context_ref()? {
        // `GET /subscriptions/{msisdn}` (`ANY /...` too); `$default` names no path.
        RequestContext::ApiGatewayV2(ctx) => (ctx.route_key.as_deref()?.split_once(' ')?.1, false),
        RequestContext::ApiGatewayV1(ctx) => (ctx.resource_path.as_deref()?, true),
        _ => return None,
    };
    let template = routes.iter().map(|&(_, t)| t).find(|t| *t == declared)?;
    let given = req.path_parameters_ref();
    let params = parameter_names(template)
        .map(|name| {
            let value = given?.first(name)?;
            Some(if encoded {
                decode_segment(value)
            } else {
                value.to_owned()
            })
        })
        .collect::<Option<Vec<String>>>()?;
    Some((template, params))
}

fn from_raw_path(
    req: &Request,
    routes: &[(&'static str, &'static str)],
) -> Option<(&'static str, Vec<String>)> {
    let raw = match req.raw_http_path() {
        "" => req.uri().path(),
        raw => raw,
    };
    let path = without_stage(raw, stage(req));
    let segments: Vec<&str> = path
        .strip_prefix('/')?
        .trim_end_matches('/')
        .split('/')
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for &(_, template) in routes {
        if seen.contains(&template) {
            continue;
        }
        seen.push(template);
        if let Some(params) = match_template(template, &segments) {
            return Some((template, params));
        }
    }
    None
}

/// The decoded parameter values when `segments` (still encoded) are an instance of `template`.
fn match_template(template: &str, segments: &[&str]) -> Option<Vec<String>> {
    let pattern: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pattern.iter().zip(segments) {
        let value = decode_segment(s);
        if is_parameter(p) {
            params.push(value);
        } else if value != *p {
            return None;
        }
    }
    Some(params)
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

fn parameter_names(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('/')
        .filter(|s| is_parameter(s))
        .map(|s| &s[1..s.len() - 1])
}

/// The stage whose name starts the raw path: an HTTP API's `rawPath` starts with it when it is
/// not `$default`; a REST API's `path` never does (lambda_http puts the stage in front of the
/// URI's path, not of the raw path).
fn stage(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.stage.as_deref(),
        _ => None,
    }
}

fn without_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    match stage {
        Some(stage) if stage != "$default" && !stage.is_empty() => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .unwrap_or(path),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[(&str, &str)] = &[
        ("GET", "/things/{id}"),
        ("GET", "/things/{id}/parts"),
        ("GET", "/things"),
        ("POST", "/things"),
    ];

    fn request(method: &str, path: &str) -> Request {
        let mut req = Request::default();
        *req.method_mut() = method.parse().unwrap_or_default();
        req.with_raw_http_path(path)
    }

    fn select_path(method: &str, path: &str) -> Selected {
        select(&request(method, path), ROUTES)
    }

    fn route(method: &'static str, template: &'static str, params: &[&str]) -> Selected {
        Selected::Route {
            route: (method, template),
            params: params.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn segments_are_decoded_once_and_stay_segments() {
        for (path, value) in [
            ("/things/a%23x", "a#x"),
            ("/things/a%2Fb", "a/b"),
            ("/things/a%3Fb", "a?b"),
            ("/things/%2B1", "+1"),
            ("/things/+1", "+1"),
            ("/things/a%2523", "a%23"),
            ("/things/%zz", "%zz"),
            ("/things/a%0Db", "a\rb"),
            ("/things/%FF", "\u{FFFD}"),
            ("/things/..", ".."),
        ] {
            assert_eq!(
                select_path("GET", path),
                route("GET", "/things/{id}", &[value]),
                "{path}"
            );
        }
        assert_eq!(
            select_path("GET", "/things/a%2Fb/parts"),
            route("GET", "/things/{id}/parts", &["a/b"])
        );
    }

    #[test]
    fn the_whole_path_must_match() {
        for path in ["/x/things", "/things/a/b", "/thing", "/", "", "things"] {
            assert_eq!(select_path("GET", path), Selected::NotFound, "{path}");
        }
        // Trailing slashes are ignored.
        assert_eq!(select_path("GET", "/things/"), route("GET", "/things", &[]));
        assert_eq!(
            select_path("GET", "/things/1//"),
            route("GET", "/things/{id}", &["1"])
        );
    }

    #[test]
    fn blank_parameters_are_no_route() {
        for path in [
            "/things//parts",
            "/things/%20",
            "/things/%0D",
            "/things/%09%20",
        ] {
            assert_eq!(select_path("GET", path), Selected::NotFound, "{path}");
        }
    }

    #[test]
    fn another_method_on_a_known_path_lists_the_paths_methods() {
        assert_eq!(
            select_path("DELETE", "/things"),
            Selected::MethodNotAllowed {
                allow: "GET, POST".into()
            }
        );
        assert_eq!(
            select_path("POST", "/things/1"),
            Selected::MethodNotAllowed {
                allow: "GET".into()
            }
        );
        assert_eq!(select_path("POST", "/things/%20"), Selected::NotFound);
    }

    #[test]
    fn a_stage_name_in_front_is_not_part_of_the_path() {
        assert_eq!(without_stage("/prod/things", Some("prod")), "/things");
        assert_eq!(without_stage("/prod", Some("prod")), "");
        assert_eq!(
            without_stage("/production/x", Some("prod")),
            "/production/x"
        );
        assert_eq!(without_stage("/things", Some("prod")), "/things");
        assert_eq!(
            without_stage("/$default/things", Some("$default")),
            "/$default/things"
        );
        assert_eq!(without_stage("/things", None), "/things");
    }
}
