//! Whatever Vonage sent (a GET query, a POST form or JSON body, Messages API JSON: docs/vonage.md)
//! as one [`InboundSms`], in two steps because signatures are checked on the raw parameters
//! before any field is interpreted: [`extract`] gives the [`RawInbound`] parameters exactly as
//! signed, [`RawInbound::interpret`] reads them.

use crate::domain::msisdn::Msisdn;
use crate::domain::timestamp;
use time::OffsetDateTime;

crate::named_enum! {
    /// Which Vonage API delivered the message.
    pub enum Api {
        #[strum(serialize = "sms-api")]
        Sms,
        #[strum(serialize = "messages-api")]
        Messages,
    }
}

crate::named_enum! {
    #[strum(serialize_all = "kebab-case")]
    pub enum Encoding {
        GetQuery,
        PostForm,
        PostJson,
    }
}

/// Why a request is not an inbound message we can read: always 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the request carries no message: send the SMS API fields as a query string, a form body or a JSON body")]
    Empty,
    #[error("the body is not valid JSON: {0}")]
    BadJson(String),
    #[error("the JSON body must be an object")]
    NotAnObject,
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("field `{0}` appears more than once")]
    Repeated(String),
    #[error("field `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// Parameters as received, before interpretation: the signature input.
#[derive(Debug, Clone, PartialEq)]
pub enum RawInbound {
    /// SMS API: every parameter as a string, in the order received.
    Sms {
        params: Vec<(String, String)>,
        encoding: Encoding,
    },
    /// Messages API JSON. The JWT's `payload_hash` is checked against the raw body separately.
    Messages { json: serde_json::Value },
}

/// An inbound SMS, whichever API and encoding brought it (fields: docs/vonage.md).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    /// The sender.
    pub msisdn: Msisdn,
    /// Our short code or number the person texted.
    pub to: String,
    /// Vonage's id for the message: the idempotency key.
    pub message_id: String,
    /// Empty for binary messages.
    pub text: String,
    /// When Vonage says the message was sent, if given and valid.
    pub sent_at: Option<OffsetDateTime>,
    pub api: Api,
    pub encoding: Encoding,
    /// SMS API `type`: `text`, `unicode` or `binary`.
    pub message_type: Option<String>,
    /// Numbered from 1; `None` for a single-part message.
    pub concat_part: Option<u32>,
    /// `sms` for the SMS API.
    pub channel: String,
}

impl InboundSms {
    /// Whether the text is checked for an opt-out keyword at all: binary messages carry no text;
    /// of a multipart message only the first part counts (a later part beginning with "stop" is
    /// mid-sentence); other channels (WhatsApp, ...) are acknowledged and ignored.
    pub fn is_keyword_candidate(&self) -> bool {
        self.channel == "sms"
            && self.message_type.as_deref() != Some("binary")
            && self.concat_part.is_none_or(|part| part == 1)
    }

    /// A later part of a multipart SMS: read only for revocation phrases and review cues.
    pub fn is_continuation(&self) -> bool {
        self.channel == "sms"
            && self.message_type.as_deref() != Some("binary")
            && self.concat_part.is_some_and(|part| part > 1)
    }
}

/// Step 1: find the parameters in the request (`content_type`: the raw header value).
pub fn extract(
    method: &str,
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Result<RawInbound, ParseError> {
    if method.eq_ignore_ascii_case("GET") {
        let query = query.unwrap_or("");
        if query.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        return Ok(RawInbound::Sms {
            params: form_pairs(query.as_bytes()),
            encoding: Encoding::GetQuery,
        });
    }
    // POST: Vonage never sends a query string and a body at once, so the body is the message.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let is_json = match mime.as_deref() {
        Some("application/json") => true,
        Some("application/x-www-form-urlencoded") => false,
        // No or an unusual content type: look at the body rather than refuse a STOP.
        _ => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    if !is_json {
        return Ok(RawInbound::Sms {
            params: form_pairs(body),
            encoding: Encoding::PostForm,
        });
    }
    let JsonObject(entries) = serde_json::from_slice::<JsonObject>(body).map_err(|e| {
        if e.is_data() {
            ParseError::NotAnObject
        } else {
            ParseError::BadJson(e.to_string())
        }
    })?;
    refuse_repeats(&entries)?;
    if entries
        .iter()
        .any(|(k, _)| k == "message_uuid" || k == "channel")
    {
        return Ok(RawInbound::Messages {
            json: serde_json::Value::Object(entries.into_iter().collect()),
        });
    }
    // SMS API JSON: Vonage sends strings; numbers and booleans are taken in their JSON spelling
    // so a signature over them still matches. Objects and arrays are ignored (and left out of
    // the signature input: Vonage documents no flat spelling) unless in a field we read: a field
    // Vonage or a proxy adds must never make us refuse a STOP.
    let mut params = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                if let Some(field) = SMS_FIELDS_READ.iter().find(|f| **f == key) {
                    return Err(ParseError::Invalid {
                        field,
                        reason: "must be a string".into(),
                    });
                }
                continue;
            }
        };
        params.push((key, value));
    }
    Ok(RawInbound::Sms {
        params,
        encoding: Encoding::PostJson,
    })
}

/// The SMS API fields this crate reads (the message, then the signature): in a JSON body they
/// must be strings (or numbers or booleans, read in their JSON spelling).
const SMS_FIELDS_READ: &[&str] = &[
    "msisdn",
    "to",
    "messageId",
    "text",
    "type",
    "message-timestamp",
    "concat-part",
    "timestamp",
    "nonce",
    "sig",
];

/// A JSON object's members in body order, repeated keys included (a `serde_json::Map` keeps the
/// last one).
struct JsonObject(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonObject, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(member) = map.next_entry::<String, serde_json::Value>()? {
                    members.push(member);
                }
                Ok(JsonObject(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// A repeated field would let two readers see two different messages.
fn refuse_repeats<V>(pairs: &[(String, V)]) -> Result<(), ParseError> {
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(ParseError::Repeated(truncate(key, 40)));
        }
    }
    Ok(())
}

fn form_pairs(input: &[u8]) -> Vec<(String, String)> {
    // serde_urlencoded decodes `+` and %XX and keeps order and repeats; invalid UTF-8 is replaced.
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(input).unwrap_or_default()
}

impl RawInbound {
    /// The API this request claims to come from.
    pub fn api(&self) -> Api {
        match self {
            RawInbound::Sms { .. } => Api::Sms,
            RawInbound::Messages { .. } => Api::Messages,
        }
    }

    pub fn interpret(&self) -> Result<InboundSms, ParseError> {
        match self {
            RawInbound::Sms { params, encoding } => interpret_sms(params, *encoding),
            RawInbound::Messages { json } => interpret_messages(json),
        }
    }
}

fn interpret_sms(
    params: &[(String, String)],
    encoding: Encoding,
) -> Result<InboundSms, ParseError> {
    refuse_repeats(params)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let required = |name: &'static str| {
        get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(ParseError::Missing(name))
    };
    let msisdn = Msisdn::from_provider(required("msisdn")?).map_err(|e| ParseError::Invalid {
        field: "msisdn",
        reason: e.to_string(),
    })?;
    let to = required("to")?.to_string();
    let message_id = checked_id("messageId", required("messageId")?)?;
    let concat_part = match get("concat-part").map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(part) => Some(part.parse::<u32>().map_err(|_| ParseError::Invalid {
            field: "concat-part",
            reason: "must be a whole number".into(),
        })?),
    };
    Ok(InboundSms {
        msisdn,
        to: short_code(&to),
        message_id,
        text: get("text").unwrap_or("").to_string(),
        sent_at: get("message-timestamp").and_then(crate::domain::timestamp::parse_vonage_date),
        api: Api::Sms,
        encoding,
        message_type: get("type").map(|t| t.trim().to_ascii_lowercase()),
        concat_part,
        channel: "sms".to_string(),
    })
}

fn interpret_messages(json: &serde_json::Value) -> Result<InboundSms, ParseError> {
    let field = |name: &'static str| -> Result<&str, ParseError> {
        match json.get(name) {
            None | Some(serde_json::Value::Null) => Err(ParseError::Missing(name)),
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
            Some(serde_json::Value::String(_)) => Err(ParseError::Missing(name)),
            Some(_) => Err(ParseError::Invalid {
                field: name,
                reason: "must be a string".into(),
            }),
        }
    };
    let channel = field("channel")?.to_ascii_lowercase();
    let msisdn = Msisdn::from_provider(field("from")?).map_err(|e| ParseError::Invalid {
        field: "from",
        reason: e.to_string(),
    })?;
    let to = field("to")?.to_string();
    let message_id = checked_id("message_uuid", field("message_uuid")?)?;
    let text = match json.get("text") {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let sent_at = json
        .get("timestamp")
        .and_then(|t| t.as_str())
        .and_then(timestamp::parse_rfc3339);
    Ok(InboundSms {
        msisdn,
        to: short_code(&to),
        message_id,
        text,
        sent_at,
        api: Api::Messages,
        encoding: Encoding::PostJson,
        message_type: json
            .get("message_type")
            .and_then(|t| t.as_str())
            .map(|t| t.to_ascii_lowercase()),
        concat_part: None,
        channel,
    })
}

/// Message ids become part of a storage key: bounded, printable, no separators we use.
fn checked_id(field: &'static str, id: &str) -> Result<String, ParseError> {
    let ok = id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(id.to_string())
    } else {
        Err(ParseError::Invalid {
            field,
            reason: "must be at most 64 letters, digits, '-', '_' or '.'".into(),
        })
    }
}

/// `to` kept to 32 characters, without white space a cut may leave at the end, so that parsing
/// what we keep gives it back unchanged.
fn short_code(to: &str) -> String {
    truncate(to, 32).trim_end().to_string()
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sms(query: &str) -> InboundSms {
        extract("GET", None, Some(query), b"")
            .unwrap()
            .interpret()
            .unwrap()
    }

    #[test]
    fn get_query_with_plus_and_percent_encoding() {
        let m = sms("msisdn=14845552121&to=16105553939&messageId=02000000DA7C52E7&text=Stop+it%21&type=text&keyword=STOP&message-timestamp=2016-05-24+11%3A12%3A01");
        assert_eq!(m.msisdn.as_str(), "14845552121");
        assert_eq!(m.to, "16105553939");
        assert_eq!(m.message_id, "02000000DA7C52E7");
        assert_eq!(m.text, "Stop it!");
        assert_eq!(m.sent_at, Some(datetime!(2016-05-24 11:12:01 UTC)));
        assert_eq!((m.api, m.encoding), (Api::Sms, Encoding::GetQuery));
        assert!(m.is_keyword_candidate());
    }

    #[test]
    fn post_form_and_json_read_the_same_fields() {
        let form = extract(
            "POST",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            None,
            b"msisdn=447700900001&to=12345&messageId=ABC123&text=STOP&message-timestamp=2020-01-01+10%3A00%3A00",
        )
        .unwrap()
        .interpret()
        .unwrap();
        let json = extract(
            "POST",
            Some("application/json"),
            None,
            br#"{"msisdn":"447700900001","to":"12345","messageId":"ABC123","text":"STOP","message-timestamp":"2020-01-01 10:00:00"}"#,
        )
        .unwrap()
        .interpret()
        .unwrap();
        assert_eq!(form.encoding, Encoding::PostForm);
        assert_eq!(json.encoding, Encoding::PostJson);
        assert_eq!(
            (form.msisdn, form.message_id, form.text, form.sent_at),
            (json.msisdn, json.message_id, json.text, json.sent_at)
        );
    }

    #[test]
    fn messages_api_sms() {
        let body = br#"{"channel":"sms","message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","to":"447700900000","from":"447700900001","timestamp":"2020-01-01T14:00:00.000Z","text":"STOP","sms":{"num_messages":"1","keyword":"STOP"}}"#;
        let raw = extract("POST", Some("application/json"), None, body).unwrap();
        assert_eq!(raw.api(), Api::Messages);
        let m = raw.interpret().unwrap();
        assert_eq!(m.msisdn.as_str(), "447700900001");
        assert_eq!(m.message_id, "aaaaaaaa-bbbb-cccc-dddd-0123456789ab");
        assert_eq!(m.sent_at, Some(datetime!(2020-01-01 14:00:00 UTC)));
        assert!(m.is_keyword_candidate());
    }

    #[test]
    fn content_type_missing_is_sniffed() {
        let raw = extract(
            "POST",
            None,
            None,
            br#" {"msisdn":"14155550100","to":"1","messageId":"X1","text":"stop"}"#,
        )
        .unwrap();
        assert!(matches!(
            raw,
            RawInbound::Sms {
                encoding: Encoding::PostJson,
                ..
            }
        ));
        let raw = extract(
            "POST",
            Some("text/plain"),
            None,
            b"msisdn=14155550100&to=1&messageId=X1",
        )
        .unwrap();
        assert!(matches!(
            raw,
            RawInbound::Sms {
                encoding: Encoding::PostForm,
                ..
            }
        ));
    }

    #[test]
    fn the_captured_php_sdk_requests_parse() {
        // The repository's copy of Vonage's reference data (testdata/vonage/SOURCES.md).
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/vonage");
        let mut seen = 0;
        for (file, expect_candidate) in [
            ("php_SMS_requests_inbound.txt", true),
            ("php_SMS_requests_inbound-long.txt", false),
            ("php_SMS_requests_inbound-binary.txt", false),
        ] {
            let raw = std::fs::read_to_string(format!("{dir}/sdk-fixtures/{file}")).unwrap();
            let request_line = raw.lines().next().unwrap();
            let target = request_line.split(' ').nth(1).unwrap();
            let query = target.split_once('?').unwrap().1;
            let m = sms(query);
            assert_eq!(m.msisdn.as_str(), "14845552121", "{file}");
            assert_eq!(m.message_id, "02000000DA7C52E7", "{file}");
            assert!(m.sent_at.is_some(), "{file}");
            assert_eq!(m.is_keyword_candidate(), expect_candidate, "{file}");
            seen += 1;
        }
        assert_eq!(seen, 3);
        // The long one is part 3 of 4 and carries its text with a newline and a comma.
        let long = std::fs::read_to_string(format!(
            "{dir}/sdk-fixtures/php_SMS_requests_inbound-long.txt"
        ))
        .unwrap();
        let query = long
            .lines()
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .split_once('?')
            .unwrap()
            .1;
        let m = sms(query);
        assert_eq!(m.concat_part, Some(3));
        assert!(m.text.contains("\n\nI understand the reasoning."));
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            &'a [u8],
            ParseError,
        );
        let cases: Vec<Case> = vec![
            ("GET", None, None, b"", ParseError::Empty),
            ("GET", None, Some(""), b"", ParseError::Empty),
            (
                "POST",
                Some("application/json"),
                None,
                b"  ",
                ParseError::Empty,
            ),
            (
                "GET",
                None,
                Some("to=1&messageId=A"),
                b"",
                ParseError::Missing("msisdn"),
            ),
            (
                "GET",
                None,
                Some("msisdn=14155550100&messageId=A"),
                b"",
                ParseError::Missing("to"),
            ),
            (
                "GET",
                None,
                Some("msisdn=14155550100&to=1"),
                b"",
                ParseError::Missing("messageId"),
            ),
            (
                "GET",
                None,
                Some("msisdn=14155550100&to=1&messageId=A&msisdn=14155550101"),
                b"",
                ParseError::Repeated("msisdn".into()),
            ),
            (
                "POST",
                Some("application/json"),
                None,
                b"[1]",
                ParseError::NotAnObject,
            ),
        ];
        for (method, ct, query, body, expected) in cases {
            let result = extract(method, ct, query, body).and_then(|raw| raw.interpret());
            assert_eq!(result, Err(expected), "{method} {query:?} {body:?}");
        }
        assert!(matches!(
            extract("POST", Some("application/json"), None, b"{not json"),
            Err(ParseError::BadJson(_))
        ));
        assert!(matches!(
            sms_err("msisdn=hello&to=1&messageId=A"),
            ParseError::Invalid {
                field: "msisdn",
                ..
            }
        ));
        assert!(matches!(
            sms_err("msisdn=14155550100&to=1&messageId=A%23B"),
            ParseError::Invalid {
                field: "messageId",
                ..
            }
        ));
        assert!(matches!(
            extract(
                "POST",
                None,
                None,
                br#"{"channel":"sms","message_uuid":"u1","to":"1","text":"STOP"}"#
            )
            .unwrap()
            .interpret(),
            Err(ParseError::Missing("from"))
        ));
    }

    fn sms_err(query: &str) -> ParseError {
        extract("GET", None, Some(query), b"")
            .unwrap()
            .interpret()
            .unwrap_err()
    }

    #[test]
    fn fields_we_do_not_read_are_ignored_whatever_their_type() {
        // An object or array field added by Vonage or a proxy must not refuse a STOP.
        let body = br#"{"msisdn":"14155550100","to":"16105553939","messageId":"X1","text":"STOP","extra":{"a":[1,2]},"list":[1,"x"],"n":null,"count":3,"flag":true}"#;
        let raw = extract("POST", Some("application/json"), None, body).unwrap();
        let RawInbound::Sms { params, .. } = &raw else {
            panic!("SMS API")
        };
        let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["msisdn", "to", "messageId", "text", "count", "flag"],
            "objects, arrays and nulls are not parameters"
        );
        let m = raw.interpret().unwrap();
        assert_eq!(m.text, "STOP");
        assert_eq!(m.msisdn.as_str(), "14155550100");
    }

    #[test]
    fn a_field_we_read_must_not_be_an_object_or_array() {
        for (field, value) in [
            ("msisdn", r#"{"n":"14155550100"}"#),
            ("text", r#"["STOP"]"#),
            ("messageId", "[]"),
            ("sig", "{}"),
        ] {
            let mut object = serde_json::json!({
                "msisdn": "14155550100", "to": "1", "messageId": "X1", "text": "STOP"
            });
            object[field] = serde_json::from_str(value).unwrap();
            let body = object.to_string();
            let result = extract("POST", Some("application/json"), None, body.as_bytes());
            assert!(
                matches!(result, Err(ParseError::Invalid { field: f, .. }) if f == field),
                "{field}: {result:?}"
            );
        }
    }

    #[test]
    fn repeated_json_keys_are_refused_like_repeated_form_fields() {
        // serde_json alone keeps the last `msisdn`; docs/api.md promises 400.
        for body in [
            br#"{"msisdn":"14155550100","to":"1","messageId":"X1","text":"STOP","msisdn":"14155550101"}"#.as_slice(),
            br#"{"msisdn":"14155550100","to":"1","messageId":"X1","text":"hello","text":"STOP"}"#,
            br#"{"msisdn":"14155550100","to":"1","messageId":"X1","extra":{},"extra":[]}"#,
            br#"{"channel":"sms","message_uuid":"u1","to":"1","from":"447700900001","from":"447700900002","text":"STOP"}"#,
        ] {
            let result = extract("POST", Some("application/json"), None, body);
            assert!(
                matches!(result, Err(ParseError::Repeated(_))),
                "{}: {result:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            extract("POST", None, None, br#"{"msisdn":"1","msisdn":"2"}"#),
            Err(ParseError::Repeated("msisdn".into()))
        );
    }

    #[test]
    fn a_long_to_is_cut_without_trailing_space_so_it_parses_back_the_same() {
        // Found by the round-trip property (tests/prop_webhook.rs): the 32nd character was a space.
        let m = sms("msisdn=14155550100&messageId=A1&to=AaaA0a+A000aAaA0aA0+aAa+aaa0A00+A");
        assert_eq!(m.to, "AaaA0a A000aAaA0aA0 aAa aaa0A00");
    }

    #[test]
    fn other_channels_and_later_parts_are_not_keyword_candidates() {
        let wa = extract("POST", None, None, br#"{"channel":"whatsapp","message_uuid":"u1","to":"1","from":"447700900001","text":"STOP"}"#).unwrap().interpret().unwrap();
        assert!(!wa.is_keyword_candidate());
        let part1 = sms("msisdn=14155550100&to=1&messageId=A&concat=true&concat-part=1&concat-total=2&text=STOP+now");
        assert!(part1.is_keyword_candidate());
    }
}
