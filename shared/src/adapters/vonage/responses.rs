//! Parsing Vonage's answers (pure): the manage and query bodies, leniently (every value a string,
//! dates without a zone, an unset date absent), and the classification of what is not a
//! confirmation into [`VonageError::Rejected`] or [`VonageError::Unavailable`].

use super::redact::sanitize_snippet;
use super::{ManageConfirmation, OptListEntry, QueryPage, SkippedEntry, VonageError};
use crate::domain::msisdn::Msisdn;
use crate::domain::timestamp::parse_vonage_date;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The real HTTP status and attempt count in an error from a pure parse function.
pub(crate) fn fix_error(e: VonageError, status: u16, attempts: u32) -> VonageError {
    match e {
        VonageError::Rejected { detail, .. } => VonageError::Rejected { status, detail },
        VonageError::Unavailable { detail, .. } => VonageError::Unavailable {
            detail: format!("HTTP {status}: {detail}"),
            attempts,
        },
        other => other,
    }
}

/// `": <snippet>"` for a non-empty body, else `""`.
pub(crate) fn body_suffix(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", sanitize_snippet(&text))
    }
}

/// Detail for an error status: the Vonage error label when the body is JSON with one, else a
/// snippet of the body.
pub(crate) fn error_detail(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if let Some(detail) = error_code_detail(&map) {
            return detail;
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        "empty body".to_owned()
    } else {
        sanitize_snippet(&text)
    }
}

/// `error-code` / `error-code-label` of an older-style Vonage error body, if present. An
/// `error-code` of `"0"` (success in Vonage's older APIs) without a label does not count.
pub(crate) fn error_code_detail(map: &Map<String, Value>) -> Option<String> {
    let code = map.get("error-code").and_then(scalar_text);
    let label = map.get("error-code-label").and_then(scalar_text);
    match (code, label) {
        (None, None) => None,
        (Some(code), None) if code.trim() == "0" => None,
        (Some(code), None) => Some(format!("error-code {}", sanitize_snippet(&code))),
        (None, Some(label)) => Some(format!("error: {}", sanitize_snippet(&label))),
        (Some(code), Some(label)) => Some(sanitize_snippet(&format!(
            "error-code {}: {}",
            code.trim(),
            label.trim()
        ))),
    }
}

/// A JSON scalar as text (strings as-is, numbers and booleans printed); `None` for null,
/// arrays and objects.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn unparseable_detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        return "empty body".to_owned();
    }
    let kind = if t.starts_with('<') {
        "HTML/XML body instead of JSON"
    } else {
        "body is not valid JSON"
    };
    format!("{kind}: {}", sanitize_snippet(t))
}

/// A JSON object, or `Unavailable` (not one) or `Rejected` (an `error-code`), with status 200 and
/// 0 attempts for the client to fill in ([`fix_error`]).
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, VonageError> {
    let unavailable = |detail: String| VonageError::Unavailable {
        detail,
        attempts: 0,
    };
    let text = std::str::from_utf8(body).map_err(|_| unavailable(unparseable_detail(body)))?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(unavailable("empty body".to_owned()));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|_| unavailable(unparseable_detail(body)))?;
    let Value::Object(map) = value else {
        return Err(unavailable(format!(
            "JSON body is not an object: {}",
            sanitize_snippet(text)
        )));
    };
    if let Some(detail) = error_code_detail(&map) {
        return Err(VonageError::Rejected {
            status: 200,
            detail,
        });
    }
    Ok(map)
}

/// `"true"` / `"false"` (any case, trimmed) or a JSON boolean.
fn lenient_bool(v: &Value) -> Result<bool, ()> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if s.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                Err(())
            }
        }
        _ => Err(()),
    }
}

/// A value absent, `null` or a blank string counts as "not set".
fn is_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// For a skip reason or detail, without echoing digits.
fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!(
            "\"{}\"",
            sanitize_snippet(s).chars().take(40).collect::<String>()
        ),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => "a number".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `Ok` only for a JSON object whose `opt-in` is `"true"`. No `opt-in` or an invalid echoed
/// `msisdn`: `Unavailable`; another `opt-in`: `Rejected` (status and attempts for the client to
/// fill in).
pub fn parse_manage_response(body: &[u8]) -> Result<ManageConfirmation, VonageError> {
    parse_manage(body).map(|(confirmation, _)| confirmation)
}

/// [`parse_manage_response`], also returning the echoed number (for the client's check).
pub(crate) fn parse_manage(
    body: &[u8],
) -> Result<(ManageConfirmation, Option<Msisdn>), VonageError> {
    let map = parse_object(body)?;
    let unavailable = |detail: String| VonageError::Unavailable {
        detail,
        attempts: 0,
    };
    let Some(opt_in_value) = map.get("opt-in") else {
        return Err(unavailable(format!(
            "manage response has no \"opt-in\" field: {}",
            sanitize_snippet(&String::from_utf8_lossy(body))
        )));
    };
    if lenient_bool(opt_in_value) != Ok(true) {
        return Err(VonageError::Rejected {
            status: 200,
            detail: format!(
                "Vonage did not opt the number in: \"opt-in\" is {}",
                describe_value(opt_in_value)
            ),
        });
    }
    let echoed = match map.get("msisdn") {
        v if is_unset(v) => None,
        Some(v) => {
            let text = scalar_text(v).unwrap_or_default();
            match Msisdn::from_provider(text.trim()) {
                Ok(m) => Some(m),
                Err(_) => {
                    return Err(unavailable(format!(
                        "manage response has an invalid \"msisdn\" ({})",
                        describe_value(v)
                    )))
                }
            }
        }
        None => None,
    };
    let opt_in_date = map
        .get("opt-in-date")
        .and_then(Value::as_str)
        .and_then(parse_vonage_date)
        .and_then(|d| d.format(&Rfc3339).ok());
    let opt_out = map.get("opt-out").and_then(|v| lenient_bool(v).ok());
    let confirmation = ManageConfirmation {
        msisdn: echoed.as_ref().map(ToString::to_string).unwrap_or_default(),
        opt_in: true,
        opt_in_date,
        opt_out,
        attempts: 0,
    };
    Ok((confirmation, echoed))
}

/// Parse a query response body leniently. Vonage documents no "empty" shape: an absent or `null`
/// `opt-in-list` is an empty page (with `total` still reported, so a caller can notice a
/// mismatch), a single object a one-entry list. Each entry needs a valid `msisdn` and an
/// `opt-out`; a malformed one is put in `skipped` and never fails the page.
pub fn parse_query_response(body: &[u8]) -> Result<QueryPage, VonageError> {
    let map = parse_object(body)?;
    let total = match map.get("opt-in-count") {
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    let list: &[Value] = match map.get("opt-in-list") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        Some(other) => {
            return Err(VonageError::Unavailable {
                detail: format!(
                    "query response \"opt-in-list\" is {}, not a list",
                    describe_value(other)
                ),
                attempts: 0,
            })
        }
    };
    let mut entries = Vec::with_capacity(list.len());
    let mut skipped = Vec::new();
    for (index, item) in list.iter().enumerate() {
        match parse_entry(item) {
            Ok(entry) => entries.push(entry),
            Err(reason) => skipped.push(SkippedEntry { index, reason }),
        }
    }
    Ok(QueryPage {
        entries,
        skipped,
        total,
    })
}

/// One `opt-in-list` entry, or the reason it is skipped (no full number in it).
fn parse_entry(item: &Value) -> Result<OptListEntry, String> {
    let Value::Object(entry) = item else {
        return Err(format!("entry is {}, not an object", describe_value(item)));
    };
    let msisdn = match entry.get("msisdn") {
        v if is_unset(v) => return Err("missing \"msisdn\"".to_owned()),
        Some(v @ (Value::String(_) | Value::Number(_))) => {
            let text = scalar_text(v).unwrap_or_default();
            Msisdn::from_provider(text.trim())
                .map_err(|_| format!("invalid \"msisdn\" ({})", describe_value(v)))?
        }
        Some(v) => return Err(format!("\"msisdn\" is {}", describe_value(v))),
        None => return Err("missing \"msisdn\"".to_owned()),
    };
    let opted_out = match entry.get("opt-out") {
        None | Some(Value::Null) => return Err("missing \"opt-out\"".to_owned()),
        Some(v) => lenient_bool(v).map_err(|()| {
            format!(
                "\"opt-out\" is {}, not \"true\"/\"false\"",
                describe_value(v)
            )
        })?,
    };
    let opted_in = match entry.get("opt-in") {
        None | Some(Value::Null) => false,
        Some(v) => lenient_bool(v).map_err(|()| {
            format!(
                "\"opt-in\" is {}, not \"true\"/\"false\"",
                describe_value(v)
            )
        })?,
    };
    let opt_out_date = entry_date(entry, "opt-out-date")?;
    let opt_in_date = entry_date(entry, "opt-in-date")?;
    Ok(OptListEntry {
        msisdn,
        opted_out,
        opt_out_date,
        opted_in,
        opt_in_date,
    })
}

/// Not set: `None`; set but unparseable: a skip reason.
fn entry_date(entry: &Map<String, Value>, key: &str) -> Result<Option<OffsetDateTime>, String> {
    let v = entry.get(key);
    if is_unset(v) {
        return Ok(None);
    }
    match v {
        Some(Value::String(s)) => parse_vonage_date(s).map(Some).ok_or_else(|| {
            format!(
                "unparseable \"{key}\" ({})",
                describe_value(&Value::String(s.clone()))
            )
        }),
        Some(other) => Err(format!("\"{key}\" is {}", describe_value(other))),
        None => Ok(None),
    }
}

/// What a send answer body says (`{"message-count":"1","messages":[{"status":"0",...}]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendAnswer {
    /// Every part has status `"0"`; the message ids.
    Accepted(Vec<String>),
    /// `"1"` (throttled) or `"5"` (internal error).
    TryAgain { status: String, detail: String },
    /// Any other status: `"7"` (barred), bad request, credentials, account, sender.
    Refused { status: String, detail: String },
    /// Not a send answer we can read.
    Unreadable(String),
}

/// One part's failure decides (replies fit one segment); numeric statuses are tolerated.
pub fn parse_send_response(body: &[u8]) -> SendAnswer {
    let map = match parse_object(body) {
        Ok(map) => map,
        Err(e) => return SendAnswer::Unreadable(e.to_string()),
    };
    let Some(Value::Array(messages)) = map.get("messages") else {
        return SendAnswer::Unreadable("send answer has no \"messages\" list".into());
    };
    if messages.is_empty() {
        return SendAnswer::Unreadable("send answer lists no message".into());
    }
    let mut ids = Vec::with_capacity(messages.len());
    for message in messages {
        let status = message
            .get("status")
            .and_then(scalar_text)
            .unwrap_or_default();
        let status = status.trim().to_owned();
        let detail = message
            .get("error-text")
            .and_then(scalar_text)
            .map(|t| sanitize_snippet(&t))
            .unwrap_or_default();
        match status.as_str() {
            "0" => ids.push(
                message
                    .get("message-id")
                    .and_then(scalar_text)
                    .map(|id| message_id(&id))
                    .unwrap_or_default(),
            ),
            "1" | "5" => return SendAnswer::TryAgain { status, detail },
            "" => return SendAnswer::Unreadable("a message has no status".into()),
            _ => return SendAnswer::Refused { status, detail },
        }
    }
    SendAnswer::Accepted(ids)
}

/// Vonage's ids are short and alphanumeric; anything else is cut and sanitised.
fn message_id(id: &str) -> String {
    let id = id.trim();
    if id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        id.to_owned()
    } else {
        sanitize_snippet(id).chars().take(64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../testdata/vonage/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    #[test]
    fn send_answers_in_the_documented_shapes() {
        // The documented format, with its placeholders filled in.
        let doc = String::from_utf8(fixture("us-short-codes/alerts_send_response-format.json"))
            .unwrap_or_default();
        let answer = |status: &str| {
            parse_send_response(
                doc.replace("returnCode", status)
                    .replace("\"messageId\"", "\"0A0000000123ABCD1\"")
                    .as_bytes(),
            )
        };
        assert_eq!(
            answer("0"),
            SendAnswer::Accepted(vec!["0A0000000123ABCD1".into()])
        );
        assert!(matches!(answer("1"), SendAnswer::TryAgain { status, .. } if status == "1"));
        assert!(matches!(answer("5"), SendAnswer::TryAgain { status, .. } if status == "5"));
        assert!(matches!(answer("7"), SendAnswer::Refused { status, .. } if status == "7"));
        assert!(matches!(answer("4"), SendAnswer::Refused { .. }));
        // The PHP SDK's captured failure: status 101.
        match parse_send_response(&fixture(
            "sdk-fixtures/php_SMS_responses_fail-shortcode.json",
        )) {
            SendAnswer::Refused { status, detail } => {
                assert_eq!(status, "101");
                assert_eq!(detail, "Invalid Account for Campaign");
            }
            other => panic!("{other:?}"),
        }
        for garbage in [
            &b""[..],
            b"<html>",
            b"{}",
            br#"{"messages":[]}"#,
            br#"{"messages":[{}]}"#,
        ] {
            assert!(
                matches!(parse_send_response(garbage), SendAnswer::Unreadable(_)),
                "{garbage:?}"
            );
        }
        // A multipart answer: every part must be accepted.
        let two =
            br#"{"message-count":"2","messages":[{"status":"0","message-id":"A"},{"status":"1"}]}"#;
        assert!(matches!(
            parse_send_response(two),
            SendAnswer::TryAgain { .. }
        ));
    }
}
