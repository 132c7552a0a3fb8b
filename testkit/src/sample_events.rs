//! Sample Lambda events (`events/`), and signing them the way Vonage signs a webhook.
//!
//! A signature is only valid for five minutes and a consent for seven days, so neither can be
//! stored in a file: `events/manifest.json` says which events to `sign` (as Vonage would, with
//! signing enabled) or `stamp-consent` (set `consent.captured_at` to now) just before sending.
//! Both replayers (the events test, and `scripts/local` through `optout-admin prepare-event`)
//! use [`prepare`], so what the test checks is what the local run sends.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::domain::inbound::{self, Encoding, RawInbound};
use shared::domain::signature::{sms_signature, SignatureMethod};
use time::OffsetDateTime;

/// One entry of `events/manifest.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestEntry {
    /// File name under `events/`.
    pub file: String,
    /// `unsubscribe-webhook` or `resubscribe`.
    pub function: String,
    /// The HTTP status this event must get under the local configuration.
    pub status: u16,
    /// What to do just before sending: see [`prepare`].
    #[serde(default)]
    pub prepare: Option<String>,
    /// What it shows.
    pub note: String,
}

/// The manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub events: Vec<ManifestEntry>,
}

/// Apply a manifest entry's `prepare` step: `sign`, `stamp-consent`, or nothing.
pub fn prepare(
    event: &mut Value,
    step: Option<&str>,
    secret: &str,
    method: SignatureMethod,
    now: OffsetDateTime,
) -> Result<(), SignEventError> {
    match step {
        None => Ok(()),
        Some("sign") => sign_event(event, secret, method, now),
        Some("stamp-consent") => stamp_consent(event, now),
        Some(_) => Err(SignEventError::Shape("unknown prepare step")),
    }
}

/// Set `consent.captured_at` in the event's JSON body to `now`.
pub fn stamp_consent(event: &mut Value, now: OffsetDateTime) -> Result<(), SignEventError> {
    let body = event
        .get("body")
        .and_then(Value::as_str)
        .ok_or(SignEventError::Shape("no body"))?;
    let mut json: Value =
        serde_json::from_str(body).map_err(|_| SignEventError::Shape("body is not JSON"))?;
    json.pointer_mut("/consent/captured_at")
        .map(|v| *v = shared::domain::timestamp::format(now).into())
        .ok_or(SignEventError::Shape("body has no consent.captured_at"))?;
    event["body"] = json.to_string().into();
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SignEventError {
    #[error("not an API Gateway / function URL event: {0}")]
    Shape(&'static str),
    #[error("the event's request is not an inbound message: {0}")]
    NotInbound(String),
}

/// Add `timestamp` and `sig` (SMS API) or an `Authorization: Bearer <JWT>` header (Messages API)
/// to an API Gateway v1/v2 or function URL event, signed with `secret` at `now`.
pub fn sign_event(
    event: &mut Value,
    secret: &str,
    method: SignatureMethod,
    now: OffsetDateTime,
) -> Result<(), SignEventError> {
    let v2 = event.get("version").and_then(Value::as_str) == Some("2.0");
    let http_method = if v2 {
        event.pointer("/requestContext/http/method")
    } else {
        event.get("httpMethod")
    }
    .and_then(Value::as_str)
    .ok_or(SignEventError::Shape("no HTTP method"))?
    .to_string();
    let base64 = event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true);
    let body_text = event.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(body_text)
            .map_err(|_| SignEventError::Shape("body is not base64"))?
    } else {
        body_text.as_bytes().to_vec()
    };
    let content_type = header(event, "content-type");
    let query = if v2 {
        event
            .get("rawQueryString")
            .and_then(Value::as_str)
            .map(String::from)
    } else {
        v1_query(event)
    };
    let raw = inbound::extract(
        &http_method,
        content_type.as_deref(),
        query.as_deref(),
        &body,
    )
    .map_err(|e| SignEventError::NotInbound(e.to_string()))?;
    match raw {
        RawInbound::Messages { .. } => {
            let token = messages_jwt(secret, &body, now);
            set_header(event, "authorization", &format!("Bearer {token}"));
        }
        RawInbound::Sms {
            mut params,
            encoding,
        } => {
            params.retain(|(k, _)| k != "sig" && k != "timestamp");
            params.push(("timestamp".into(), now.unix_timestamp().to_string()));
            let pairs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let sig = sms_signature(&pairs, secret, method);
            params.push(("sig".into(), sig));
            match encoding {
                Encoding::GetQuery => set_query(event, v2, &params),
                Encoding::PostForm => {
                    let form = serde_urlencoded::to_string(&params).unwrap_or_default();
                    set_body(event, base64, form.as_bytes());
                }
                Encoding::PostJson => {
                    let object: serde_json::Map<String, Value> = params
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect();
                    set_body(event, base64, Value::Object(object).to_string().as_bytes());
                }
            }
        }
    }
    Ok(())
}

/// The JWT Vonage's Messages API sends: HS256 over `iat`, `jti`, `iss`, `payload_hash`.
pub fn messages_jwt(secret: &str, body: &[u8], now: OffsetDateTime) -> String {
    let claims = serde_json::json!({
        "iat": now.unix_timestamp(),
        "jti": format!("{:032x}", fastrand::u128(..)),
        "iss": "Vonage",
        "api_key": "local",
        "payload_hash": hex::encode(Sha256::digest(body)),
    });
    shared::domain::jwt::install();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

fn header(event: &Value, name: &str) -> Option<String> {
    let headers = event.get("headers")?.as_object()?;
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .map(String::from)
}

fn set_header(event: &mut Value, name: &str, value: &str) {
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.insert(name.into(), value.into());
    } else {
        event["headers"] = serde_json::json!({ name: value });
    }
    if let Some(multi) = event
        .get_mut("multiValueHeaders")
        .and_then(Value::as_object_mut)
    {
        multi.insert(name.into(), serde_json::json!([value]));
    }
}

fn v1_query(event: &Value) -> Option<String> {
    let multi = event
        .get("multiValueQueryStringParameters")
        .and_then(Value::as_object);
    let single = event
        .get("queryStringParameters")
        .and_then(Value::as_object);
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(multi) = multi {
        for (k, values) in multi {
            for v in values.as_array().into_iter().flatten() {
                pairs.push((k.clone(), v.as_str().unwrap_or_default().to_string()));
            }
        }
    } else if let Some(single) = single {
        for (k, v) in single {
            pairs.push((k.clone(), v.as_str().unwrap_or_default().to_string()));
        }
    }
    serde_urlencoded::to_string(&pairs).ok()
}

fn set_query(event: &mut Value, v2: bool, params: &[(String, String)]) {
    let single: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if v2 {
        event["rawQueryString"] = serde_urlencoded::to_string(params)
            .unwrap_or_default()
            .into();
        event["queryStringParameters"] = Value::Object(single);
    } else {
        let multi: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!([v])))
            .collect();
        event["queryStringParameters"] = Value::Object(single);
        event["multiValueQueryStringParameters"] = Value::Object(multi);
    }
}

fn set_body(event: &mut Value, base64: bool, body: &[u8]) {
    event["body"] = if base64 {
        base64::engine::general_purpose::STANDARD
            .encode(body)
            .into()
    } else {
        String::from_utf8_lossy(body).into_owned().into()
    };
}
