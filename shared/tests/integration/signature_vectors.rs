//! Vonage's own SMS signature test vectors (collected from the PHP, Node, Ruby, Python and Java
//! SDK test suites) run against `shared::domain::signature`.
//!
//! The vectors are the repository's copy, `testdata/vonage/test-vectors/sms-signature-vectors.json`
//! (sources and licences in `testdata/vonage/SOURCES.md`). A missing file fails the tests rather
//! than skipping them.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::Value;
use shared::domain::signature::{
    decode_hs256_claims, sms_signature, sms_signature_matches, verify_messages_jwt, SignatureError,
    SignatureMethod,
};

/// How many conforming vectors the file holds: asserted so that one cannot silently go missing.
const CONFORMING_VECTORS: usize = 32;

fn vectors_file() -> Value {
    let text = testkit::reference::vonage_reference("test-vectors/sms-signature-vectors.json");
    serde_json::from_str(&text).expect("vectors file is JSON")
}

/// One SMS signature vector, owned.
struct Vector {
    index: usize,
    method: SignatureMethod,
    secret: String,
    params: Vec<(String, String)>,
    expected_sig: String,
}

impl Vector {
    fn label(&self) -> String {
        format!("vector #{} ({})", self.index, self.method)
    }
}

fn string_params(value: &Value, what: &str) -> Vec<(String, String)> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("{what}: params is not an object"))
        .iter()
        .map(|(key, value)| {
            let value = value
                .as_str()
                .unwrap_or_else(|| panic!("{what}: param {key} is not a string"));
            (key.clone(), value.to_owned())
        })
        .collect()
}

fn conforming_vectors() -> Vec<Vector> {
    let file = vectors_file();
    let vectors = file["vectors"].as_array().expect("\"vectors\" is an array");
    vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let what = format!("vector #{index}");
            let method = v["method"].as_str().expect("method is a string");
            Vector {
                index,
                method: method.parse().unwrap_or_else(|err| panic!("{what}: {err}")),
                secret: v["secret"].as_str().expect("secret").to_owned(),
                params: string_params(&v["params"], &what),
                expected_sig: v["expected_sig"].as_str().expect("expected_sig").to_owned(),
            }
        })
        .collect()
}

fn view(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn with_sig(params: &[(String, String)], sig: &str) -> Vec<(String, String)> {
    let mut out = params.to_vec();
    out.push(("sig".to_owned(), sig.to_owned()));
    out
}

fn check(
    params: &[(String, String)],
    secret: &str,
    method: SignatureMethod,
) -> Result<(), SignatureError> {
    sms_signature_matches(&view(params), secret, method)
}

#[test]
fn all_conforming_vectors_are_present() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    // Every method is exercised by at least one vector.
    for method in SignatureMethod::ALL {
        assert!(
            vectors.iter().any(|v| v.method == method),
            "no vector for {method}"
        );
    }
}

#[test]
fn computed_signatures_equal_every_conforming_vector() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    for v in &vectors {
        let computed = sms_signature(&view(&v.params), &v.secret, v.method);
        assert!(
            computed.eq_ignore_ascii_case(&v.expected_sig),
            "{}: computed {computed}, expected {}",
            v.label(),
            v.expected_sig
        );
        assert_eq!(
            computed,
            computed.to_ascii_lowercase(),
            "{}: lower-case hex",
            v.label()
        );

        // Parameter order does not matter, and a sig param present in the input is ignored.
        let mut reversed = with_sig(&v.params, "0123");
        reversed.reverse();
        assert_eq!(
            sms_signature(&view(&reversed), &v.secret, v.method),
            computed,
            "{}",
            v.label()
        );
    }
}

#[test]
fn every_conforming_vector_verifies_in_any_case() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    for v in &vectors {
        for sig in [
            v.expected_sig.clone(),
            v.expected_sig.to_ascii_lowercase(),
            v.expected_sig.to_ascii_uppercase(),
        ] {
            assert_eq!(
                check(&with_sig(&v.params, &sig), &v.secret, v.method),
                Ok(()),
                "{} with sig {sig}",
                v.label()
            );
        }
        // The sig may come first as well as last.
        let mut first = vec![("sig".to_owned(), v.expected_sig.clone())];
        first.extend(v.params.iter().cloned());
        assert_eq!(check(&first, &v.secret, v.method), Ok(()), "{}", v.label());
    }
}

#[test]
fn changing_any_single_value_breaks_every_vector() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    for v in &vectors {
        for i in 0..v.params.len() {
            let original = &v.params[i].1;
            // Appending a character, and replacing the value outright. (Swapping '_', '&'
            // and '=' would not count: Vonage's scheme signs them alike, see vectors 14-16.)
            for changed in [
                format!("{original}x"),
                format!("{original}0"),
                "tampered".to_owned(),
            ] {
                if &changed == original {
                    continue;
                }
                let mut params = v.params.clone();
                params[i].1 = changed.clone();
                assert_eq!(
                    check(&with_sig(&params, &v.expected_sig), &v.secret, v.method),
                    Err(SignatureError::Mismatch),
                    "{}: {} changed to {changed:?} still verifies",
                    v.label(),
                    v.params[i].0
                );
            }
        }
    }
}

#[test]
fn adding_a_param_breaks_every_vector() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    for v in &vectors {
        for (key, value) in [
            ("zz-added", "1"),
            ("Added", "x"),
            ("0", "0"),
            ("text2", "STOP"),
        ] {
            let mut params = v.params.clone();
            params.push((key.to_owned(), value.to_owned()));
            assert_eq!(
                check(&with_sig(&params, &v.expected_sig), &v.secret, v.method),
                Err(SignatureError::Mismatch),
                "{}: adding {key}={value} still verifies",
                v.label()
            );
        }
        // Adding a second value for a key that is already signed is refused outright.
        let (key, _) = &v.params[0];
        let mut params = v.params.clone();
        params.push((key.clone(), "smuggled".to_owned()));
        assert!(
            matches!(
                check(&with_sig(&params, &v.expected_sig), &v.secret, v.method),
                Err(SignatureError::Malformed(_))
            ),
            "{}: a duplicate {key} was not refused",
            v.label()
        );
    }
}

#[test]
fn removing_any_param_breaks_every_vector() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    for v in &vectors {
        for i in 0..v.params.len() {
            let mut params = v.params.clone();
            let (removed, _) = params.remove(i);
            assert_eq!(
                check(&with_sig(&params, &v.expected_sig), &v.secret, v.method),
                Err(SignatureError::Mismatch),
                "{}: removing {removed} still verifies",
                v.label()
            );
        }
    }
}

#[test]
fn a_different_secret_or_method_breaks_every_vector() {
    let vectors = conforming_vectors();
    assert_eq!(vectors.len(), CONFORMING_VECTORS);
    for v in &vectors {
        let params = with_sig(&v.params, &v.expected_sig);
        let mut secrets = vec![format!("{}x", v.secret), "not-the-secret".to_owned()];
        if v.secret.is_empty() {
            secrets.push(" ".to_owned());
        } else {
            secrets.push(String::new());
            secrets.push(v.secret.to_ascii_uppercase());
        }
        for secret in secrets.iter().filter(|s| **s != v.secret) {
            assert_eq!(
                check(&params, secret, v.method),
                Err(SignatureError::Mismatch),
                "{}: secret {secret:?} accepted",
                v.label()
            );
        }
        for other in SignatureMethod::ALL.into_iter().filter(|m| *m != v.method) {
            assert_eq!(
                check(&params, &v.secret, other),
                Err(SignatureError::Mismatch),
                "{}: accepted as {other}",
                v.label()
            );
        }
    }
}

#[test]
fn a_missing_sig_is_missing_for_every_vector() {
    for v in &conforming_vectors() {
        assert_eq!(
            check(&v.params, &v.secret, v.method),
            Err(SignatureError::Missing),
            "{}",
            v.label()
        );
    }
}

/// The Node `@vonage/auth` vectors sign *outbound* requests with a different string
/// (`URLSearchParams(...).sort().toString()` with every `&` and `=`, separators included,
/// replaced by `_`, and no leading `&`). Vonage does not sign webhooks that way, so a webhook
/// verifier accepting them would be following the wrong algorithm.
#[test]
fn nonconforming_vectors_are_not_accepted() {
    let file = vectors_file();
    let entry = &file["nonconforming_vectors_do_not_use_for_webhooks"];
    let secret = entry["secret"].as_str().expect("secret");
    let params = string_params(&entry["params"], "nonconforming");
    let expected = entry["expected"]
        .as_object()
        .expect("expected is an object");
    assert_eq!(expected.len(), SignatureMethod::ALL.len());

    // The string those vectors were made from, rebuilt as the explanation describes.
    let mut sorted = params.clone();
    sorted.sort();
    let outbound_string = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
        .replace(['&', '='], "_");
    assert_eq!(outbound_string, "api_key_12345_timestamp_10907902800");

    for (name, sig) in expected {
        let method: SignatureMethod = name.parse().expect("method name");
        let sig = sig.as_str().expect("sig is a string");

        // The explanation holds: those digests are of the outbound string...
        assert_eq!(
            raw_digest(method, secret, &outbound_string),
            sig.to_ascii_lowercase(),
            "{name}"
        );
        // ...and not of the webhook string, so our verifier rejects them.
        assert!(
            !sms_signature(&view(&params), secret, method).eq_ignore_ascii_case(sig),
            "{name}"
        );
        assert_eq!(
            check(&with_sig(&params, sig), secret, method),
            Err(SignatureError::Mismatch),
            "{name}: nonconforming vector accepted"
        );
    }
}

/// md5hash / HMAC over an arbitrary string, to reproduce the nonconforming vectors.
fn raw_digest(method: SignatureMethod, secret: &str, message: &str) -> String {
    fn hmac_hex<M: Mac + hmac::digest::KeyInit>(secret: &str, message: &str) -> String {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
    match method {
        SignatureMethod::Md5Hash => hex::encode(Md5::digest(format!("{message}{secret}"))),
        SignatureMethod::HmacMd5 => hmac_hex::<Hmac<Md5>>(secret, message),
        SignatureMethod::HmacSha1 => hmac_hex::<Hmac<sha1::Sha1>>(secret, message),
        SignatureMethod::HmacSha256 => hmac_hex::<Hmac<sha2::Sha256>>(secret, message),
        SignatureMethod::HmacSha512 => hmac_hex::<Hmac<sha2::Sha512>>(secret, message),
    }
}

/// The Python SDK's HS256 vector: a generic token (no `payload_hash`), so it exercises the
/// signature step on its own; the full Messages check must then refuse it for lacking one.
#[test]
fn jwt_vector_signature_step() {
    let file = vectors_file();
    let vector = &file["jwt_hs256_vector"];
    let token = vector["token"].as_str().expect("token");
    let valid = vector["valid_secret"].as_str().expect("valid_secret");
    let invalid = vector["invalid_secret"].as_str().expect("invalid_secret");

    let claims = decode_hs256_claims(token, valid).expect("verifies with valid_secret");
    assert_eq!(claims["iss"], "Online JWT Builder");
    assert_eq!(claims["iat"], 1_697_634_680);

    assert_eq!(
        decode_hs256_claims(token, invalid),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        decode_hs256_claims(token, ""),
        Err(SignatureError::Mismatch)
    );

    // Claims swapped for others (here: the same claims with a different iss) break it.
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut forged_claims = claims.clone();
    forged_claims["iss"] = "Vonage".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(forged_claims.to_string()),
        parts[2]
    );
    assert_eq!(
        decode_hs256_claims(&forged, valid),
        Err(SignatureError::Mismatch)
    );

    // Full Messages check, at the token's own iat so that freshness is not what fails.
    let at_iat = time::OffsetDateTime::from_unix_timestamp(1_697_634_680).expect("valid time");
    let authorization = format!("Bearer {token}");
    assert!(matches!(
        verify_messages_jwt(Some(&authorization), b"{}", valid, at_iat),
        Err(SignatureError::Malformed(reason)) if reason.contains("payload_hash")
    ));
    assert_eq!(
        verify_messages_jwt(Some(&authorization), b"{}", invalid, at_iat),
        Err(SignatureError::Mismatch)
    );
}
