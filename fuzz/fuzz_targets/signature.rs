//! Signature verification: no input panics, and a request signed with the secret verifies
//! while the same request with one value changed (other than among the `_`/`&`/`=` that
//! Vonage's scheme signs alike) never does.
//!
//! Input: lines `key=value` (the params), the first line is the secret; the first byte picks
//! the method. The whole input is also tried as a Messages API `Authorization` header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::signature::{self, SignatureMethod};
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = SignatureMethod::ALL[usize::from(m) % SignatureMethod::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time");

    // Messages API: arbitrary header and body.
    let _ = signature::verify_messages_jwt(Some(&text), rest, "secret", now);
    let _ = signature::verify_messages_jwt(Some(&format!("Bearer {text}")), rest, "secret", now);
    let _ = text.parse::<SignatureMethod>();

    let mut lines = text.split('\n');
    let secret = lines.next().unwrap_or_default().to_string();
    let params: Vec<(String, String)> = lines
        .map(|line| match line.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect();
    let view: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // As received: whatever it is, no panic.
    let _ = signature::verify_sms(&view, &secret, method, now);
    let _ = signature::sms_signature_matches(&view, &secret, method);

    // Signed properly: must verify (when the params are acceptable at all).
    let unsigned: Vec<(&str, &str)> = view.iter().copied().filter(|(k, _)| *k != "sig").collect();
    let sig = signature::sms_signature(&unsigned, &secret, method);
    let mut signed = unsigned.clone();
    signed.push(("sig", &sig));
    let keys_ok = {
        let mut keys: Vec<&str> = signed.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.windows(2).all(|w| w[0] != w[1]) && keys.iter().all(|k| !k.contains(['&', '=']))
    };
    let result = signature::sms_signature_matches(&signed, &secret, method);
    if keys_ok {
        assert_eq!(result, Ok(()), "a correctly signed request must verify");
    } else {
        assert!(result.is_err(), "duplicate or '&'/'=' keys must be refused");
        return;
    }
    // One value changed: never verifies, unless the change is invisible to Vonage's scheme.
    for i in 0..unsigned.len() {
        let original = unsigned[i].1;
        let changed = format!("{original}x");
        let mut tampered = signed.clone();
        tampered[i].1 = &changed;
        assert!(
            signature::sms_signature_matches(&tampered, &secret, method).is_err(),
            "tampered value of {:?} verified",
            unsigned[i].0
        );
    }
});
