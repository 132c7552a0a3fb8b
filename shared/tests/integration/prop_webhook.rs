//! Property tests of the inbound webhook parsing (`inbound::extract` + `interpret`):
//! - arbitrary method, content type, query and body never panic;
//! - a valid message, written as Vonage would in each encoding (GET query, POST form, POST JSON,
//!   Messages API JSON), parses to exactly the fields it was written with;
//! - any message that parses, re-serialised and parsed again, is the same message.

use proptest::prelude::*;
use shared::domain::inbound::{self, Api, Encoding, InboundSms};
use shared::domain::msisdn::Msisdn;
use testkit::inbound::{check_round_trip, same_message, wire};
use time::OffsetDateTime;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("get".to_string()),
        Just("PUT".to_string()),
        "[A-Za-z]{0,8}",
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_string())),
        Just(Some("application/x-www-form-urlencoded".to_string())),
        Just(Some("Application/JSON; charset=utf-8".to_string())),
        any::<String>().prop_map(Some),
    ]
}

/// Bodies that reach deep into the parser: JSON objects with the fields it looks for, form
/// bodies with them, and plain noise.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("msisdn"),
        Just("to"),
        Just("messageId"),
        Just("text"),
        Just("type"),
        Just("concat-part"),
        Just("message-timestamp"),
        Just("channel"),
        Just("message_uuid"),
        Just("from"),
        Just("timestamp"),
        Just("message_type"),
    ];
    let json_value = prop_oneof![
        any::<String>().prop_map(serde_json::Value::from),
        "[0-9+ ]{0,20}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!([1, "a"])),
        Just(serde_json::json!({"a": 1})),
    ];
    let json = proptest::collection::vec((field.clone(), json_value), 0..10).prop_map(|fields| {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        serde_json::to_vec(&object).unwrap_or_default()
    });
    let form = proptest::collection::vec((field, any::<String>()), 0..10).prop_map(|pairs| {
        serde_urlencoded::to_string(&pairs)
            .unwrap_or_default()
            .into_bytes()
    });
    prop_oneof![
        json,
        form,
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<String>().prop_map(String::into_bytes),
    ]
}

fn msisdn_digits() -> impl Strategy<Value = String> {
    "[1-9][0-9]{6,14}"
}

/// Non-blank, no surrounding white space, at most 32 characters (what `to` keeps).
fn to_field() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{3,15}", "[A-Za-z0-9][A-Za-z0-9 ._-]{0,30}[A-Za-z0-9]",]
}

fn message_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,64}"
}

fn sent_at() -> impl Strategy<Value = Option<OffsetDateTime>> {
    // Whole seconds, 1970..=2100: what Vonage's `YYYY-MM-DD HH:MM:SS` can carry.
    proptest::option::of(
        (0i64..4_102_444_800)
            .prop_map(|s| OffsetDateTime::from_unix_timestamp(s).expect("in range")),
    )
}

prop_compose! {
    fn sms_message()(
        digits in msisdn_digits(),
        to in to_field(),
        message_id in message_id(),
        text in any::<String>(),
        sent_at in sent_at(),
        message_type in proptest::option::of(prop_oneof![
            Just("text".to_string()), Just("unicode".to_string()), Just("binary".to_string()),
            "[a-z]{1,10}",
        ]),
        concat_part in proptest::option::of(1u32..=u32::MAX),
    ) -> InboundSms {
        InboundSms {
            msisdn: Msisdn::from_provider(&digits).expect("valid digits"),
            to,
            message_id,
            text,
            sent_at,
            api: Api::Sms,
            encoding: Encoding::GetQuery,
            message_type,
            concat_part,
            channel: "sms".into(),
        }
    }
}

prop_compose! {
    fn messages_message()(
        digits in msisdn_digits(),
        to in to_field(),
        message_id in message_id(),
        text in any::<String>(),
        // Any precision and offset RFC 3339 carries.
        sent_at in proptest::option::of((0i64..4_102_444_800, 0u32..1_000_000_000, -86_399i32..86_399)
            .prop_map(|(s, nanos, offset)| {
                let offset = time::UtcOffset::from_whole_seconds(offset / 60 * 60).expect("offset");
                OffsetDateTime::from_unix_timestamp(s).expect("in range")
                    .replace_nanosecond(nanos).expect("nanos")
                    .to_offset(offset)
            })),
        message_type in proptest::option::of("[a-z]{1,10}"),
        channel in prop_oneof![Just("sms".to_string()), "[a-z]{1,10}"],
    ) -> InboundSms {
        InboundSms {
            msisdn: Msisdn::from_provider(&digits).expect("valid digits"),
            to,
            message_id,
            text,
            sent_at,
            api: Api::Messages,
            encoding: Encoding::PostJson,
            message_type,
            concat_part: None,
            channel,
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_requests_never_panic(
        method in method(),
        content_type in content_type(),
        query in proptest::option::of(any::<String>()),
        body in body(),
    ) {
        if let Ok(raw) = inbound::extract(&method, content_type.as_deref(), query.as_deref(), &body) {
            let _ = raw.api();
            if let Ok(message) = raw.interpret() {
                let _ = message.is_keyword_candidate();
                prop_assert_eq!(check_round_trip(&message), Ok(()));
            }
        }
    }

    #[test]
    fn arbitrary_queries_never_panic(query in "([a-zA-Z-]{1,12}=[^&]{0,20}&?){0,10}") {
        let query = format!("msisdn=14155550100&{query}");
        if let Ok(raw) = inbound::extract("GET", None, Some(&query), b"") {
            if let Ok(message) = raw.interpret() {
                prop_assert_eq!(check_round_trip(&message), Ok(()));
            }
        }
    }

    #[test]
    fn sms_api_messages_parse_back_in_every_encoding(message in sms_message()) {
        for encoding in [Encoding::GetQuery, Encoding::PostForm, Encoding::PostJson] {
            let wire = wire(&message, encoding).expect("a valid message serialises");
            let parsed = wire.parse();
            prop_assert!(parsed.is_ok(), "{:?}: {:?} from {:?}", encoding, parsed, wire);
            let parsed = parsed.expect("checked");
            prop_assert!(same_message(&message, &parsed), "{:?}: {:?} != {:?}", encoding, message, parsed);
            prop_assert_eq!(parsed.encoding, encoding);
        }
    }

    #[test]
    fn messages_api_messages_parse_back(message in messages_message()) {
        let wire = wire(&message, Encoding::PostJson).expect("a valid message serialises");
        let parsed = wire.parse();
        prop_assert!(parsed.is_ok(), "{:?} from {:?}", parsed, wire);
        let parsed = parsed.expect("checked");
        prop_assert!(same_message(&message, &parsed), "{:?} != {:?}", message, parsed);
        prop_assert_eq!(parsed.encoding, Encoding::PostJson);
    }

    #[test]
    fn to_fields_of_any_length_round_trip(to in "[ a-zA-Z0-9]{1,60}", text in any::<String>()) {
        // `to` is trimmed and kept to 32 characters: whatever comes out must come out again.
        let query = serde_urlencoded::to_string([
            ("msisdn", "14155550100"), ("to", to.as_str()), ("messageId", "A1"), ("text", text.as_str()),
        ]).expect("form");
        if let Ok(message) = inbound::extract("GET", None, Some(&query), b"").and_then(|r| r.interpret()) {
            prop_assert!(message.to.chars().count() <= 32);
            prop_assert_eq!(check_round_trip(&message), Ok(()));
        }
    }
}
