//! Property tests of Vonage signature verification (`shared::domain::signature`):
//! - a correct `sig` verifies, for random params, secret and method, in either hex case;
//! - changing any one value, removing a param, adding a param, changing the secret, the method
//!   or the `sig` itself never verifies;
//! - arbitrary params, secrets and JWTs never panic.
//!
//! Exclusions, both inherent to Vonage's scheme and documented in `signature.rs`: in a value,
//! `_`, `&` and `=` sign identically (so a change among them is no change), and a request that
//! carries a blank-valued param is also accepted under Vonage's Java SDK reading, which leaves
//! blank-valued params out; adding a blank-valued param is therefore not a detectable change.

use proptest::prelude::*;
use shared::domain::signature::{
    self, sms_signature, sms_signature_matches, verify_sms, SignatureError, SignatureMethod,
};
use time::OffsetDateTime;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

fn method() -> impl Strategy<Value = SignatureMethod> {
    proptest::sample::select(SignatureMethod::ALL.to_vec())
}

/// A param name Vonage could send: not `sig`, no `&` or `=`.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_-]{0,15}",
        any::<String>().prop_map(|s| s.replace(['&', '='], "")),
    ]
    .prop_filter("not sig", |k| k != "sig")
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 +:._-]{0,24}",
        any::<String>(),
        Just(String::new()),
        Just("a&b=c_d".to_string()),
    ]
}

/// Unique keys with values.
fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map(key(), value(), 1..12)
        .prop_map(|m| m.into_iter().collect())
        .prop_shuffle()
}

fn secret() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9]{8,40}", any::<String>()].prop_filter("not empty", |s| !s.is_empty())
}

/// How Vonage's signing string sees a value.
fn signed_form(value: &str) -> String {
    value.replace(['&', '='], "_")
}

fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

fn view(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn with_sig(
    params: &[(String, String)],
    secret: &str,
    method: SignatureMethod,
) -> Vec<(String, String)> {
    let sig = sms_signature(&view(params), secret, method);
    let mut signed = params.to_vec();
    signed.push(("sig".into(), sig));
    signed
}

fn verifies(params: &[(String, String)], secret: &str, method: SignatureMethod) -> bool {
    sms_signature_matches(&view(params), secret, method).is_ok()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_correct_signature_verifies(params in params(), secret in secret(), method in method(), upper in any::<bool>()) {
        let mut signed = with_sig(&params, &secret, method);
        if upper {
            if let Some(last) = signed.last_mut() {
                last.1 = last.1.to_ascii_uppercase();
            }
        }
        prop_assert_eq!(sms_signature_matches(&view(&signed), &secret, method), Ok(()));
        // Param order does not matter.
        signed.reverse();
        prop_assert_eq!(sms_signature_matches(&view(&signed), &secret, method), Ok(()));
    }

    #[test]
    fn the_full_check_accepts_a_fresh_signed_request(params in params(), secret in secret(), method in method(), skew in -300i64..=300) {
        let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time");
        let mut params: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "timestamp").collect();
        params.push(("timestamp".into(), (now.unix_timestamp() + skew).to_string()));
        let signed = with_sig(&params, &secret, method);
        prop_assert_eq!(verify_sms(&view(&signed), &secret, method, now), Ok(()));
        let later = now + time::Duration::seconds(301 + skew.max(0));
        prop_assert_eq!(verify_sms(&view(&signed), &secret, method, later), Err(SignatureError::Stale));
    }

    #[test]
    fn changing_any_one_value_never_verifies(
        params in params(), secret in secret(), method in method(),
        index in any::<prop::sample::Index>(), replacement in value(),
    ) {
        let signed = with_sig(&params, &secret, method);
        let i = index.index(params.len());
        prop_assume!(signed_form(&params[i].1) != signed_form(&replacement));
        let mut tampered = signed.clone();
        tampered[i].1 = replacement;
        prop_assert!(!verifies(&tampered, &secret, method), "tampered {:?}", tampered[i]);
    }

    #[test]
    fn removing_a_param_never_verifies(
        params in params(), secret in secret(), method in method(), index in any::<prop::sample::Index>(),
    ) {
        let signed = with_sig(&params, &secret, method);
        let mut tampered = signed.clone();
        tampered.remove(index.index(params.len()));
        prop_assert!(!verifies(&tampered, &secret, method));
    }

    #[test]
    fn adding_a_param_never_verifies(
        params in params(), secret in secret(), method in method(),
        extra_key in prop_oneof![key(), Just("sig".to_string()), Just("a&b".to_string()), Just("x=y".to_string())],
        extra_value in value(), at in any::<prop::sample::Index>(),
    ) {
        // The documented exception: a blank-valued param can be added (the Java SDK reading).
        prop_assume!(!is_blank(&extra_value));
        let signed = with_sig(&params, &secret, method);
        let mut tampered = signed.clone();
        tampered.insert(at.index(signed.len() + 1), (extra_key.clone(), extra_value));
        let result = sms_signature_matches(&view(&tampered), &secret, method);
        prop_assert!(result.is_err(), "added {:?}", extra_key);
        if params.iter().any(|(k, _)| *k == extra_key) || extra_key == "sig" || extra_key.contains(['&', '=']) {
            prop_assert!(matches!(result, Err(SignatureError::Malformed(_))), "{:?}", result);
        }
    }

    #[test]
    fn adding_a_blank_param_is_the_documented_exception(
        params in params(), secret in secret(), method in method(), extra_key in key(),
    ) {
        prop_assume!(!params.iter().any(|(k, _)| *k == extra_key));
        let signed = with_sig(&params, &secret, method);
        let mut tampered = signed.clone();
        tampered.push((extra_key, " ".into()));
        // Accepted exactly when the original had no blank value: then the Java reading of the
        // tampered request is the full reading of the original.
        let original_has_blank = params.iter().any(|(_, v)| is_blank(v));
        prop_assert_eq!(verifies(&tampered, &secret, method), !original_has_blank);
    }

    #[test]
    fn another_secret_method_or_sig_never_verifies(
        params in params(), secret in secret(), other_secret in secret(), method in method(),
        other_method in method(), flip in any::<prop::sample::Index>(),
    ) {
        let signed = with_sig(&params, &secret, method);
        if other_secret != secret {
            prop_assert!(!verifies(&signed, &other_secret, method));
        }
        if other_method != method {
            prop_assert!(!verifies(&signed, &secret, other_method));
        }
        // One hex digit of the sig changed.
        let mut tampered = signed.clone();
        if let Some(sig) = tampered.last_mut() {
            let mut chars: Vec<char> = sig.1.chars().collect();
            let i = flip.index(chars.len());
            chars[i] = if chars[i] == '0' { '1' } else { '0' };
            sig.1 = chars.into_iter().collect();
        }
        prop_assert_eq!(sms_signature_matches(&view(&tampered), &secret, method), Err(SignatureError::Mismatch));
    }

    #[test]
    fn arbitrary_params_never_panic(
        params in proptest::collection::vec((any::<String>(), any::<String>()), 0..10),
        secret in any::<String>(), method in method(), now in any::<i64>(),
    ) {
        let now = OffsetDateTime::from_unix_timestamp(now.rem_euclid(253_402_300_799)).expect("time");
        let _ = verify_sms(&view(&params), &secret, method, now);
        let _ = sms_signature_matches(&view(&params), &secret, method);
        let _ = sms_signature(&view(&params), &secret, method);
        let _ = secret.parse::<SignatureMethod>();
    }

    #[test]
    fn arbitrary_jwts_never_panic(
        authorization in proptest::option::of(prop_oneof![
            any::<String>(),
            "Bearer [A-Za-z0-9_.-]{0,200}",
            ("[A-Za-z0-9_-]{0,60}", "[A-Za-z0-9_-]{0,60}", "[A-Za-z0-9_-]{0,60}")
                .prop_map(|(a, b, c)| format!("Bearer {a}.{b}.{c}")),
        ]),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        secret in any::<String>(),
    ) {
        let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time");
        let result = signature::verify_messages_jwt(authorization.as_deref(), &body, &secret, now);
        // Random bytes are never a valid token.
        prop_assert!(result.is_err());
    }
}
