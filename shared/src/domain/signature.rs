//! Vonage webhook signatures: the SMS API `sig` parameter and the Messages API bearer JWT.
//!
//! Both answer: did Vonage (who shares our signature secret) send this request, unchanged,
//! recently? Everything fails closed: input we cannot make sense of is an error, never a panic
//! and never an accept. The schemes: docs/vonage.md "Signatures".
//!
//! Weaknesses of Vonage's SMS scheme no verifier can fix: a value's `_`, `&` and `=` sign the
//! same, and `md5hash` rests on MD5. Prefer an HMAC method (ideally `sha256`) in the dashboard.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use md5::{Digest, Md5};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;

/// How far a signed request's clock (`timestamp` for SMS, `iat` for JWT) may be from ours, in
/// either direction. Vonage documents no rule; its Java SDK uses 5 minutes. A bound at all is
/// what turns a captured, validly signed request into something that cannot be replayed later.
pub const MAX_SKEW: time::Duration = time::Duration::minutes(5);

/// The one parameter not signed.
const SIG_PARAM: &str = "sig";
/// Vonage's signing time, unix seconds.
const TIMESTAMP_PARAM: &str = "timestamp";
const JWT_ALG: &str = "HS256";

/// Which digest the Vonage account is set to sign SMS webhooks with (Dashboard, API settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureMethod {
    /// "MD5 hash": hex `md5(string + secret)`. Vonage's default.
    #[default]
    Md5Hash,
    HmacMd5,
    HmacSha1,
    /// Recommended.
    HmacSha256,
    HmacSha512,
}

impl SignatureMethod {
    pub const ALL: [SignatureMethod; 5] = [
        SignatureMethod::Md5Hash,
        SignatureMethod::HmacMd5,
        SignatureMethod::HmacSha1,
        SignatureMethod::HmacSha256,
        SignatureMethod::HmacSha512,
    ];

    /// The name Vonage's SDKs use for the method, and that [`FromStr`] accepts.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::Md5Hash => "md5hash",
            SignatureMethod::HmacMd5 => "md5",
            SignatureMethod::HmacSha1 => "sha1",
            SignatureMethod::HmacSha256 => "sha256",
            SignatureMethod::HmacSha512 => "sha512",
        }
    }
}

impl fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Vonage signature method {given:?}: expected one of md5hash (MD5 hash, the default), \
     md5 (MD5 HMAC), sha1, sha256 or sha512 (HMAC)"
)]
pub struct ParseSignatureMethodError {
    /// The rejected input (trimmed, at most 40 characters).
    pub given: String,
}

impl FromStr for SignatureMethod {
    type Err = ParseSignatureMethodError;

    /// The SDK names, any case, trimmed. `md5` means HMAC-MD5 (as in Vonage's SDKs), not `md5hash`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        SignatureMethod::ALL
            .into_iter()
            .find(|method| method.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| ParseSignatureMethodError {
                given: name.chars().take(40).collect(),
            })
    }
}

/// Why a webhook was not accepted as signed by Vonage: every variant means "reject".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// No `sig` parameter (or an empty one), or no `Authorization: Bearer` token.
    #[error("request is not signed (no sig parameter or bearer token)")]
    Missing,
    /// Wrong secret or method, tampered parameters or body, or a JWT not HS256.
    #[error("signature does not match")]
    Mismatch,
    /// Authentic, but signed more than [`MAX_SKEW`] away from now (or the JWT has expired).
    #[error("signature timestamp is too far from now (more than 5 minutes), or the token expired")]
    Stale,
    /// Cannot be checked as it stands (duplicate parameters, no timestamp, empty secret, ...).
    #[error("malformed signed request: {0}")]
    Malformed(String),
}

/// The lower-case hex digest Vonage would send as `sig` for these params (`sig` ignored).
/// Duplicate keys are signed in the order given; the verifiers refuse them outright.
pub fn sms_signature(params: &[(&str, &str)], secret: &str, method: SignatureMethod) -> String {
    let string = signing_string(params, BlankValues::Sign);
    hex::encode(digest(method, secret.as_bytes(), string.as_bytes()))
}

/// Checks the request's `sig` against the one computed from its other params; no clock check
/// ([`verify_sms`] is the full check).
///
/// - Compared as bytes in constant time, so timing does not tell an attacker how much of a
///   forged signature was right. Invalid hex or a wrong length is a [`SignatureError::Mismatch`].
/// - A key given twice is [`SignatureError::Malformed`]: the signature might cover one value
///   while the handler reads the other.
/// - A key containing `&` or `=` is Malformed: Vonage escapes those only in values, so such a
///   key could pass off one signed pair (`a=1&b` + `2`) as two (`a` = `1`, `b` = `2`).
/// - Vonage's Java SDK leaves out blank-valued params, the other SDKs sign them and the docs are
///   silent: when the request has a blank value, either reading is accepted (an attacker can
///   only add or drop blank-valued params).
pub fn sms_signature_matches(
    params: &[(&str, &str)],
    secret: &str,
    method: SignatureMethod,
) -> Result<(), SignatureError> {
    let received = received_sig(params)?;
    check_param_names(params)?;
    let Ok(received) = hex::decode(received) else {
        return Err(SignatureError::Mismatch);
    };

    let secret = secret.as_bytes();
    let signed = signing_string(params, BlankValues::Sign);
    let mut matched = ct_eq_digest(&digest(method, secret, signed.as_bytes()), &received);
    if params
        .iter()
        .any(|(key, value)| *key != SIG_PARAM && is_blank(value))
    {
        let java = signing_string(params, BlankValues::Skip);
        matched |= ct_eq_digest(&digest(method, secret, java.as_bytes()), &received);
    }

    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The full SMS webhook check: `sig` matching ([`sms_signature_matches`]) and the signed
/// `timestamp` (unix seconds) within [`MAX_SKEW`] of `now`. The signature is checked first, so
/// [`SignatureError::Stale`] is only reported for a request Vonage really signed.
///
/// No integer `timestamp` is Malformed: Vonage always signs one, and without it there is no
/// replay protection. An empty `secret` is Malformed: with `md5hash` anyone could sign.
pub fn verify_sms(
    params: &[(&str, &str)],
    secret: &str,
    method: SignatureMethod,
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    // An unsigned request is reported as such even when the secret is misconfigured.
    received_sig(params)?;
    if secret.is_empty() {
        return Err(malformed("no signature secret configured"));
    }
    sms_signature_matches(params, secret, method)?;

    // Duplicate keys were refused above, so there is at most one timestamp.
    let timestamp = params
        .iter()
        .find(|(key, _)| *key == TIMESTAMP_PARAM)
        .map(|(_, value)| *value)
        .ok_or_else(|| malformed("signed request has no timestamp parameter"))?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| malformed("timestamp parameter is not unix seconds"))?;
    check_fresh(timestamp, now)
}

/// The Messages API check on the raw `Authorization` header value and the raw body.
///
/// - HS256 only ([`decode_hs256_claims`]): trusting the token's `alg` would let an attacker pick
///   `none`, or RS256 "verified" with our shared secret as if it were a public key.
/// - `payload_hash` must equal hex SHA-256 of `body` (constant time): the signature covers only
///   the token, not the body it came with.
/// - `iat` within [`MAX_SKEW`] of `now`; `exp` optional (Vonage tokens may lack it) but enforced
///   when present; `aud` not checked.
pub fn verify_messages_jwt(
    authorization: Option<&str>,
    body: &[u8],
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    let token = bearer_token(authorization).ok_or(SignatureError::Missing)?;
    if secret.is_empty() {
        return Err(malformed("no signature secret configured"));
    }
    let claims = decode_hs256_claims(token, secret)?;

    let payload_hash = match claims.get("payload_hash") {
        None => return Err(malformed("JWT has no payload_hash claim")),
        Some(Value::String(hash)) => hash,
        Some(_) => return Err(malformed("JWT payload_hash claim is not a string")),
    };
    let Ok(payload_hash) = hex::decode(payload_hash.trim()) else {
        return Err(SignatureError::Mismatch);
    };
    if !bool::from(ct_eq_digest(&Sha256::digest(body), &payload_hash)) {
        return Err(SignatureError::Mismatch);
    }

    let iat = claims
        .get("iat")
        .ok_or_else(|| malformed("JWT has no iat claim"))?;
    let iat = numeric_date(iat).ok_or_else(|| malformed("JWT iat claim is not a number"))?;
    check_fresh(iat, now)?;

    if let Some(exp) = claims.get("exp") {
        let exp = numeric_date(exp).ok_or_else(|| malformed("JWT exp claim is not a number"))?;
        if now.unix_timestamp() > exp {
            return Err(SignatureError::Stale);
        }
    }
    Ok(())
}

/// The signature step of [`verify_messages_jwt`]: `token` is an HS256 JWT signed with `secret`;
/// returns its claims, none of them checked. Another `alg` or a bad signature: Mismatch; not a
/// decodable JWT with an object of claims: Malformed.
pub fn decode_hs256_claims(token: &str, secret: &str) -> Result<Value, SignatureError> {
    crate::domain::jwt::install();
    // Pin the algorithm ourselves before handing the token to the library, so that the
    // decision does not rest on one configuration line.
    let header = token.split('.').next().unwrap_or_default();
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| malformed("JWT header is not base64url"))?;
    let header: Value =
        serde_json::from_slice(&header).map_err(|_| malformed("JWT header is not JSON"))?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == JWT_ALG => {}
        Some(Value::String(_)) => return Err(SignatureError::Mismatch),
        _ => return Err(malformed("JWT header has no alg")),
    }

    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    // Claims are checked by the caller against its own `now`, not the system clock.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(secret.as_bytes());

    let claims = match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(data) => data.claims,
        Err(err) => {
            return Err(match err.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {
                    SignatureError::Mismatch
                }
                ErrorKind::InvalidToken => malformed("not a JWT (expected three segments)"),
                ErrorKind::Base64(_) => malformed("JWT is not base64url"),
                ErrorKind::Json(_) | ErrorKind::Utf8(_) => malformed("JWT claims are not JSON"),
                _ => malformed("JWT could not be decoded"),
            })
        }
    };
    if claims.is_object() {
        Ok(claims)
    } else {
        Err(malformed("JWT claims are not a JSON object"))
    }
}

/// Whether blank-valued params are signed ([`sms_signature_matches`] on the Java SDK).
#[derive(Clone, Copy, PartialEq, Eq)]
enum BlankValues {
    Sign,
    Skip,
}

/// Vonage's signing string (docs/vonage.md "Signatures").
fn signing_string(params: &[(&str, &str)], blanks: BlankValues) -> String {
    let mut signed: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(key, value)| {
            *key != SIG_PARAM && !(blanks == BlankValues::Skip && is_blank(value))
        })
        .collect();
    // `str`'s ordering is byte order; `sort_by` is stable.
    signed.sort_by(|a, b| a.0.cmp(b.0));

    let capacity = signed.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut string = String::with_capacity(capacity);
    for (key, value) in signed {
        string.push('&');
        string.push_str(key);
        string.push('=');
        string.extend(
            value
                .chars()
                .map(|c| if c == '&' || c == '=' { '_' } else { c }),
        );
    }
    string
}

fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

fn digest(method: SignatureMethod, secret: &[u8], message: &[u8]) -> Vec<u8> {
    match method {
        SignatureMethod::Md5Hash => {
            let mut hash = Md5::new();
            Digest::update(&mut hash, message);
            Digest::update(&mut hash, secret);
            hash.finalize().to_vec()
        }
        SignatureMethod::HmacMd5 => hmac_digest::<Hmac<Md5>>(secret, message),
        SignatureMethod::HmacSha1 => hmac_digest::<Hmac<Sha1>>(secret, message),
        SignatureMethod::HmacSha256 => hmac_digest::<Hmac<Sha256>>(secret, message),
        SignatureMethod::HmacSha512 => hmac_digest::<Hmac<Sha512>>(secret, message),
    }
}

/// HMAC accepts keys of any length; the unreachable error gives an empty digest, which
/// [`ct_eq_digest`] never accepts.
fn hmac_digest<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            Mac::update(&mut mac, message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Constant-time equality; lengths are public, so a length difference may return early. An
/// empty computed digest never matches.
fn ct_eq_digest(computed: &[u8], received: &[u8]) -> Choice {
    Choice::from(u8::from(!computed.is_empty())) & computed.ct_eq(received)
}

fn received_sig<'a>(params: &[(&str, &'a str)]) -> Result<&'a str, SignatureError> {
    let mut sigs = params.iter().filter(|(key, _)| *key == SIG_PARAM);
    match (sigs.next(), sigs.next()) {
        (None, _) => Err(SignatureError::Missing),
        (Some(_), Some(_)) => Err(malformed("sig parameter given more than once")),
        (Some((_, sig)), None) if is_blank(sig) => Err(SignatureError::Missing),
        (Some((_, sig)), None) => Ok(sig.trim()),
    }
}

/// Refuses duplicate keys and keys containing `&` or `=` (see [`sms_signature_matches`]).
/// Messages do not echo the keys: they are attacker-controlled and end up in logs.
fn check_param_names(params: &[(&str, &str)]) -> Result<(), SignatureError> {
    if params.iter().any(|(key, _)| key.contains(['&', '='])) {
        return Err(malformed("a parameter name contains '&' or '='"));
    }
    let mut keys: Vec<&str> = params.iter().map(|(key, _)| *key).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(malformed("a parameter is given more than once"));
    }
    Ok(())
}

fn check_fresh(unix_seconds: i64, now: OffsetDateTime) -> Result<(), SignatureError> {
    // i128: no overflow whatever the (attacker-chosen) timestamp.
    let skew = (i128::from(now.unix_timestamp()) - i128::from(unix_seconds)).abs();
    if skew > i128::from(MAX_SKEW.whole_seconds()) {
        Err(SignatureError::Stale)
    } else {
        Ok(())
    }
}

/// A JWT NumericDate: integer or fractional seconds since the epoch (floored).
fn numeric_date(value: &Value) -> Option<i64> {
    if let Some(seconds) = value.as_i64() {
        return Some(seconds);
    }
    // `as` saturates for out-of-range floats, which is what we want here.
    value
        .as_f64()
        .filter(|seconds| seconds.is_finite())
        .map(|seconds| seconds.floor() as i64)
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn malformed(reason: &str) -> SignatureError {
    SignatureError::Malformed(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);
    const SECRET: &str = "test-signature-secret";
    const BODY: &[u8] = br#"{"channel":"sms","message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","to":"447700900000","from":"447700900001","timestamp":"2025-06-01T11:59:58Z","text":"STOP","sms":{"num_messages":"1","keyword":"STOP"}}"#;

    // ---- method names -------------------------------------------------------------------

    #[test]
    fn method_names_parse_case_insensitively_and_trimmed() {
        let cases = [
            ("md5hash", SignatureMethod::Md5Hash),
            (" MD5HASH\n", SignatureMethod::Md5Hash),
            ("md5", SignatureMethod::HmacMd5),
            ("Md5", SignatureMethod::HmacMd5),
            ("sha1", SignatureMethod::HmacSha1),
            ("SHA256", SignatureMethod::HmacSha256),
            ("\tsha512 ", SignatureMethod::HmacSha512),
        ];
        for (name, method) in cases {
            assert_eq!(name.parse::<SignatureMethod>(), Ok(method), "{name:?}");
        }
        for method in SignatureMethod::ALL {
            assert_eq!(method.to_string().parse::<SignatureMethod>(), Ok(method));
        }
        assert_eq!(SignatureMethod::default(), SignatureMethod::Md5Hash);
    }

    #[test]
    fn unknown_method_names_are_refused_with_a_clear_message() {
        for name in ["", "hmac", "sha-256", "md5 hash", "sha384", "hmac-sha256"] {
            let err = name.parse::<SignatureMethod>().unwrap_err();
            let message = err.to_string();
            assert!(message.contains("md5hash"), "{message}");
            assert!(message.contains("sha256"), "{message}");
        }
        let err = "x".repeat(1000).parse::<SignatureMethod>().unwrap_err();
        assert_eq!(err.given.len(), 40);
    }

    // ---- signing string and digests -------------------------------------------------------

    #[test]
    fn signing_string_drops_sig_escapes_values_sorts_by_bytes_with_leading_ampersand() {
        let params = [
            ("text", "a&b=c"),
            ("sig", "ignored"),
            ("B", "upper"),
            ("a", ""),
            ("message-timestamp", "2020-01-01 00:00:00"),
            ("messageId", "1"),
        ];
        assert_eq!(
            signing_string(&params, BlankValues::Sign),
            "&B=upper&a=&message-timestamp=2020-01-01 00:00:00&messageId=1&text=a_b_c"
        );
        assert_eq!(
            signing_string(&params, BlankValues::Skip),
            "&B=upper&message-timestamp=2020-01-01 00:00:00&messageId=1&text=a_b_c"
        );
        assert_eq!(signing_string(&[], BlankValues::Sign), "");
    }

    #[test]
    fn digests_follow_the_documented_constructions() {
        // Python SDK vector: a=1, b=2, timestamp=1461605396, secret "secret".
        let params = [("a", "1"), ("b", "2"), ("timestamp", "1461605396")];
        let expected = [
            (SignatureMethod::Md5Hash, "6af838ef94998832dbfc29020b564830"),
            (SignatureMethod::HmacMd5, "c15c21ced558c93a226c305f58f902f2"),
            (
                SignatureMethod::HmacSha1,
                "3e19a4e6880fdc2c1426bfd0587c98b9532f0210",
            ),
            (
                SignatureMethod::HmacSha256,
                "a321e824b9b816be7c3f28859a31749a098713d39f613c80d455bbaffae1cd24",
            ),
            (
                SignatureMethod::HmacSha512,
                "812a18f76680fa0fe1b8bd9ee1625466ceb1bd96242e4d050d2cfd9a7b40166c63ed26ec9702168781b6edcf1633db8ff95af9341701004eec3fcf9550572ee8",
            ),
        ];
        for (method, sig) in expected {
            assert_eq!(sms_signature(&params, "secret", method), sig, "{method}");
        }
        // The sig param, wherever it is, does not change the signature.
        let with_sig = [
            ("sig", "whatever"),
            ("a", "1"),
            ("b", "2"),
            ("timestamp", "1461605396"),
        ];
        assert_eq!(
            sms_signature(&with_sig, "secret", SignatureMethod::HmacSha256),
            expected[3].1
        );
    }

    // ---- sms_signature_matches -------------------------------------------------------------

    fn signed(
        params: &[(&'static str, &'static str)],
        method: SignatureMethod,
    ) -> Vec<(String, String)> {
        let sig = sms_signature(params, SECRET, method);
        let mut out: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        out.push(("sig".to_owned(), sig));
        out
    }

    fn view(params: &[(String, String)]) -> Vec<(&str, &str)> {
        params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    const INBOUND: [(&str, &str); 8] = [
        ("msisdn", "14155550100"),
        ("to", "12345"),
        ("messageId", "0A0000001234"),
        ("text", "STOP"),
        ("type", "text"),
        ("keyword", "STOP"),
        ("message-timestamp", "2025-06-01 11:59:58"),
        ("nonce", "5f1d2c3b-aaaa-bbbb-cccc-0123456789ab"),
    ];

    #[test]
    fn every_method_round_trips_in_either_case_and_rejects_the_other_methods() {
        for method in SignatureMethod::ALL {
            let params = signed(&INBOUND, method);
            let p = view(&params);
            assert_eq!(
                sms_signature_matches(&p, SECRET, method),
                Ok(()),
                "{method}"
            );

            let mut upper = params.clone();
            if let Some(last) = upper.last_mut() {
                last.1 = last.1.to_ascii_uppercase();
            }
            assert_eq!(sms_signature_matches(&view(&upper), SECRET, method), Ok(()));

            for other in SignatureMethod::ALL.into_iter().filter(|m| *m != method) {
                assert_eq!(
                    sms_signature_matches(&p, SECRET, other),
                    Err(SignatureError::Mismatch),
                    "{method} sig accepted as {other}"
                );
            }
            assert_eq!(
                sms_signature_matches(&p, "other-secret", method),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn bad_sig_values_are_mismatch_or_missing_never_a_panic() {
        let params = signed(&INBOUND, SignatureMethod::HmacSha256);
        let good = params.last().map(|(_, v)| v.clone()).unwrap_or_default();
        let cases: Vec<(String, SignatureError)> = vec![
            (String::new(), SignatureError::Missing),
            ("   ".to_owned(), SignatureError::Missing),
            ("zz".repeat(32), SignatureError::Mismatch),
            (good[..63].to_owned(), SignatureError::Mismatch),
            (good[..62].to_owned(), SignatureError::Mismatch),
            (format!("{good}00"), SignatureError::Mismatch),
            ("0".repeat(64), SignatureError::Mismatch),
            ("é".repeat(32), SignatureError::Mismatch),
        ];
        for (sig, expected) in cases {
            let mut p = view(&params);
            p.pop();
            p.push(("sig", &sig));
            assert_eq!(
                sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
                Err(expected),
                "{sig:?}"
            );
        }
        // Surrounding whitespace around an otherwise good sig is tolerated.
        let mut p = view(&params);
        p.pop();
        let padded = format!(" {good}\n");
        p.push(("sig", &padded));
        assert_eq!(
            sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
            Ok(())
        );
    }

    #[test]
    fn missing_sig_is_missing() {
        assert_eq!(
            sms_signature_matches(&INBOUND, SECRET, SignatureMethod::Md5Hash),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            sms_signature_matches(&[], SECRET, SignatureMethod::Md5Hash),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn duplicate_keys_are_refused_even_when_the_signature_matches() {
        // Signature over the first "text" only; a second "text" is smuggled in.
        let params = signed(&INBOUND, SignatureMethod::HmacSha256);
        let mut p = view(&params);
        p.push(("text", "HELLO"));
        assert!(matches!(
            sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
            Err(SignatureError::Malformed(_))
        ));

        // A duplicate that the (stable-sorted) signature really covers is still refused.
        let dup: [(&str, &str); 3] = [("text", "STOP"), ("text", "HELLO"), ("timestamp", "1")];
        let sig = sms_signature(&dup, SECRET, SignatureMethod::HmacSha256);
        let mut p = dup.to_vec();
        p.push(("sig", &sig));
        assert!(matches!(
            sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
            Err(SignatureError::Malformed(_))
        ));

        // Two sig params.
        let params = signed(&INBOUND, SignatureMethod::HmacSha256);
        let mut p = view(&params);
        p.push(("sig", "00"));
        assert!(matches!(
            sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn keys_with_separators_cannot_forge_a_split() {
        // "&a=1&b=2" is what Vonage signs for {a: 1, b: 2}; the single pair
        // {"a=1&b": "2"} produces the same string and must not be accepted.
        let sig = sms_signature(
            &[("a", "1"), ("b", "2")],
            SECRET,
            SignatureMethod::HmacSha256,
        );
        let forged = [("a=1&b", "2"), ("sig", sig.as_str())];
        assert_eq!(
            signing_string(&forged, BlankValues::Sign),
            signing_string(&[("a", "1"), ("b", "2")], BlankValues::Sign)
        );
        assert!(matches!(
            sms_signature_matches(&forged, SECRET, SignatureMethod::HmacSha256),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn blank_values_are_accepted_under_both_sdk_readings_but_nothing_else_changes() {
        let base: [(&str, &str); 4] = [
            ("msisdn", "14155550100"),
            ("text", "STOP"),
            ("keyword", ""),
            ("timestamp", "1748779200"),
        ];
        let documented = sms_signature(&base, SECRET, SignatureMethod::HmacSha256);
        let without_blank = [base[0], base[1], base[3]];
        let java = sms_signature(&without_blank, SECRET, SignatureMethod::HmacSha256);
        assert_ne!(documented, java);

        for sig in [&documented, &java] {
            let mut p = base.to_vec();
            p.push(("sig", sig));
            assert_eq!(
                sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
                Ok(())
            );
            // Changing a non-blank value is still caught under both readings.
            p[1] = ("text", "HELLO");
            assert_eq!(
                sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
                Err(SignatureError::Mismatch)
            );
        }
        // Without any blank value, only the documented reading applies: the Java-style sig
        // of the request minus its blank param does not verify the request minus that param
        // plus a different non-blank value.
        let mut p = without_blank.to_vec();
        p[1] = ("text", "HELLO");
        p.push(("sig", &java));
        assert_eq!(
            sms_signature_matches(&p, SECRET, SignatureMethod::HmacSha256),
            Err(SignatureError::Mismatch)
        );
    }

    // ---- verify_sms -------------------------------------------------------------------------

    fn signed_at(timestamp: i64, method: SignatureMethod) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = INBOUND
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        params.push(("timestamp".to_owned(), timestamp.to_string()));
        let sig = sms_signature(&view(&params), SECRET, method);
        params.push(("sig".to_owned(), sig.to_ascii_uppercase()));
        params
    }

    fn verify_at(params: &[(String, String)]) -> Result<(), SignatureError> {
        verify_sms(&view(params), SECRET, SignatureMethod::HmacSha256, NOW)
    }

    #[test]
    fn verify_sms_accepts_fresh_and_rejects_stale_timestamps() {
        let now = NOW.unix_timestamp();
        let m = SignatureMethod::HmacSha256;
        assert_eq!(verify_at(&signed_at(now, m)), Ok(()));
        assert_eq!(verify_at(&signed_at(now - 4 * 60, m)), Ok(()));
        assert_eq!(verify_at(&signed_at(now + 4 * 60, m)), Ok(()));
        assert_eq!(
            verify_at(&signed_at(now - 300, m)),
            Ok(()),
            "boundary is inclusive"
        );
        assert_eq!(
            verify_at(&signed_at(now + 300, m)),
            Ok(()),
            "boundary is inclusive"
        );
        assert_eq!(
            verify_at(&signed_at(now - 301, m)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_at(&signed_at(now - 6 * 60, m)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_at(&signed_at(now + 6 * 60, m)),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify_at(&signed_at(0, m)), Err(SignatureError::Stale));
        assert_eq!(
            verify_at(&signed_at(i64::MIN, m)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_at(&signed_at(i64::MAX, m)),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn verify_sms_checks_the_signature_before_the_clock() {
        let mut params = signed_at(NOW.unix_timestamp() - 3600, SignatureMethod::HmacSha256);
        assert_eq!(verify_at(&params), Err(SignatureError::Stale));
        // Moving the timestamp into the window breaks the signature.
        for (k, v) in params.iter_mut() {
            if k == "timestamp" {
                *v = NOW.unix_timestamp().to_string();
            }
        }
        assert_eq!(verify_at(&params), Err(SignatureError::Mismatch));
    }

    #[test]
    fn verify_sms_missing_sig_is_missing() {
        let mut params = signed_at(NOW.unix_timestamp(), SignatureMethod::HmacSha256);
        params.retain(|(k, _)| k != "sig");
        assert_eq!(verify_at(&params), Err(SignatureError::Missing));
        assert_eq!(
            verify_sms(&view(&params), "", SignatureMethod::HmacSha256, NOW),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn verify_sms_missing_or_bad_timestamp_is_malformed() {
        let m = SignatureMethod::HmacSha256;
        // Validly signed, but with no timestamp at all.
        let params = signed(&INBOUND, m);
        assert!(matches!(
            verify_at(&params),
            Err(SignatureError::Malformed(_))
        ));

        for bad in [
            "",
            "soon",
            "1748779200.5",
            "0x10",
            "99999999999999999999999",
        ] {
            let mut params: Vec<(&str, &str)> = INBOUND.to_vec();
            params.push(("timestamp", bad));
            let sig = sms_signature(&params, SECRET, m);
            params.push(("sig", &sig));
            assert!(
                matches!(
                    verify_sms(&params, SECRET, m, NOW),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn verify_sms_refuses_an_empty_secret() {
        let mut params: Vec<(&str, &str)> = INBOUND.to_vec();
        let ts = NOW.unix_timestamp().to_string();
        params.push(("timestamp", &ts));
        let sig = sms_signature(&params, "", SignatureMethod::Md5Hash);
        params.push(("sig", &sig));
        // The signature itself is right (anyone could have computed it)...
        assert_eq!(
            sms_signature_matches(&params, "", SignatureMethod::Md5Hash),
            Ok(())
        );
        // ...which is why the webhook check refuses to run without a secret.
        assert!(matches!(
            verify_sms(&params, "", SignatureMethod::Md5Hash, NOW),
            Err(SignatureError::Malformed(_))
        ));
    }

    // ---- Messages API JWT ---------------------------------------------------------------------

    fn claims(iat: i64, body: &[u8]) -> Value {
        json!({
            "iat": iat,
            "jti": "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5",
            "iss": "Vonage",
            "api_key": "abcd1234",
            "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
            "payload_hash": hex::encode(Sha256::digest(body)),
        })
    }

    fn token(alg: Algorithm, claims: &Value, secret: &str) -> String {
        crate::domain::jwt::install();
        jsonwebtoken::encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("test token encodes")
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    /// A token with an arbitrary header, signed (HMAC-SHA256 over `header.claims`) with `secret`.
    fn raw_token(header: &Value, claims: &Value, secret: &str) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mac = hmac_digest::<Hmac<Sha256>>(secret.as_bytes(), signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    fn verify_jwt(authorization: &str, body: &[u8]) -> Result<(), SignatureError> {
        verify_messages_jwt(Some(authorization), body, SECRET, NOW)
    }

    #[test]
    fn valid_messages_jwt_passes() {
        let t = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp(), BODY),
            SECRET,
        );
        assert_eq!(verify_jwt(&bearer(&t), BODY), Ok(()));
        assert_eq!(verify_jwt(&format!("bearer  {t} "), BODY), Ok(()));
        // Upper-case payload_hash hex is accepted too.
        let mut c = claims(NOW.unix_timestamp() - 200, BODY);
        c["payload_hash"] = json!(hex::encode_upper(Sha256::digest(BODY)));
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&t), BODY), Ok(()));
    }

    #[test]
    fn tampered_body_is_mismatch() {
        let t = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp(), BODY),
            SECRET,
        );
        let tampered = String::from_utf8_lossy(BODY).replace("STOP", "HELP");
        assert_eq!(
            verify_jwt(&bearer(&t), tampered.as_bytes()),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_jwt(&bearer(&t), b""), Err(SignatureError::Mismatch));
        let mut c = claims(NOW.unix_timestamp(), BODY);
        c["payload_hash"] = json!("not hex");
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&t), BODY), Err(SignatureError::Mismatch));
    }

    #[test]
    fn wrong_secret_is_mismatch() {
        let t = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp(), BODY),
            "another-secret",
        );
        assert_eq!(verify_jwt(&bearer(&t), BODY), Err(SignatureError::Mismatch));
    }

    #[test]
    fn tampered_claims_are_mismatch() {
        let t = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp(), BODY),
            SECRET,
        );
        let other = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp() - 1, BODY),
            SECRET,
        );
        // Claims of one token with the signature of another.
        let parts: Vec<&str> = t.split('.').collect();
        let other_parts: Vec<&str> = other.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], other_parts[1], parts[2]);
        assert_eq!(
            verify_jwt(&bearer(&spliced), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn algorithms_other_than_hs256_are_rejected() {
        let c = claims(NOW.unix_timestamp(), BODY);

        // HS512 correctly signed with the right secret: still not the pinned algorithm.
        let hs512 = token(Algorithm::HS512, &c, SECRET);
        assert_eq!(
            verify_jwt(&bearer(&hs512), BODY),
            Err(SignatureError::Mismatch)
        );
        let hs384 = token(Algorithm::HS384, &c, SECRET);
        assert_eq!(
            verify_jwt(&bearer(&hs384), BODY),
            Err(SignatureError::Mismatch)
        );

        // RS256 header over an HMAC made with the shared secret (key-confusion attack).
        let rs256 = raw_token(&json!({"alg": "RS256", "typ": "JWT"}), &c, SECRET);
        assert_eq!(
            verify_jwt(&bearer(&rs256), BODY),
            Err(SignatureError::Mismatch)
        );

        // alg none, with and without a signature segment.
        let none_header = json!({"alg": "none", "typ": "JWT"});
        let with_sig = raw_token(&none_header, &c, SECRET);
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(none_header.to_string()),
            URL_SAFE_NO_PAD.encode(c.to_string())
        );
        for t in [with_sig, unsigned] {
            assert_eq!(verify_jwt(&bearer(&t), BODY), Err(SignatureError::Mismatch));
        }

        // Case variants and non-string algs are not HS256 either.
        for header in [
            json!({"alg": "hs256"}),
            json!({"alg": 256}),
            json!({"typ": "JWT"}),
        ] {
            let t = raw_token(&header, &c, SECRET);
            assert!(verify_jwt(&bearer(&t), BODY).is_err(), "{header}");
        }

        // Control: the same construction with alg HS256 verifies, so the rejections above
        // are about the algorithm and not about raw_token.
        let hs256 = raw_token(&json!({"alg": "HS256", "typ": "JWT"}), &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&hs256), BODY), Ok(()));
    }

    #[test]
    fn jwt_iat_must_be_fresh() {
        let now = NOW.unix_timestamp();
        for (iat, expected) in [
            (now - 10 * 60, Err(SignatureError::Stale)),
            (now - 6 * 60, Err(SignatureError::Stale)),
            (now + 6 * 60, Err(SignatureError::Stale)),
            (now - 4 * 60, Ok(())),
            (now + 4 * 60, Ok(())),
        ] {
            let t = token(Algorithm::HS256, &claims(iat, BODY), SECRET);
            assert_eq!(verify_jwt(&bearer(&t), BODY), expected, "iat {iat}");
        }
        // Fractional NumericDate.
        let mut c = claims(now, BODY);
        c["iat"] = json!(now as f64 + 0.5);
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&t), BODY), Ok(()));
    }

    #[test]
    fn jwt_missing_claims_are_malformed() {
        let now = NOW.unix_timestamp();
        for (claim, replacement) in [
            ("payload_hash", None),
            ("payload_hash", Some(json!(42))),
            ("iat", None),
            ("iat", Some(json!("yesterday"))),
        ] {
            let mut c = claims(now, BODY);
            match replacement {
                Some(value) => c[claim] = value,
                None => {
                    if let Some(object) = c.as_object_mut() {
                        object.remove(claim);
                    }
                }
            }
            let t = token(Algorithm::HS256, &c, SECRET);
            assert!(
                matches!(
                    verify_jwt(&bearer(&t), BODY),
                    Err(SignatureError::Malformed(_))
                ),
                "{claim} {c}"
            );
        }
    }

    #[test]
    fn jwt_exp_is_optional_but_honoured() {
        let now = NOW.unix_timestamp();
        let mut c = claims(now, BODY);
        c["exp"] = json!(now + 60);
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&t), BODY), Ok(()));

        c["exp"] = json!(now - 1);
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&t), BODY), Err(SignatureError::Stale));

        c["exp"] = json!("never");
        let t = token(Algorithm::HS256, &c, SECRET);
        assert!(matches!(
            verify_jwt(&bearer(&t), BODY),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn jwt_audience_is_not_checked() {
        let mut c = claims(NOW.unix_timestamp(), BODY);
        c["aud"] = json!("someone-else");
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(verify_jwt(&bearer(&t), BODY), Ok(()));
    }

    #[test]
    fn missing_bearer_token_is_missing() {
        let t = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp(), BODY),
            SECRET,
        );
        assert_eq!(
            verify_messages_jwt(None, BODY, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        for header in [
            "",
            "   ",
            "Bearer",
            "Bearer ",
            "Bearer    ",
            &t,
            &format!("Basic {t}"),
        ] {
            assert_eq!(
                verify_jwt(header, BODY),
                Err(SignatureError::Missing),
                "{header:?}"
            );
        }
    }

    #[test]
    fn jwt_with_empty_secret_is_refused() {
        let t = token(Algorithm::HS256, &claims(NOW.unix_timestamp(), BODY), "");
        assert!(matches!(
            verify_messages_jwt(Some(&bearer(&t)), BODY, "", NOW),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_tokens_are_errors_never_panics() {
        let c = claims(NOW.unix_timestamp(), BODY);
        let good = token(Algorithm::HS256, &c, SECRET);
        let long = "a".repeat(100_000);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let garbage: Vec<String> = vec![
            "x".into(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a.b.c".into(),
            "a.b.c.d".into(),
            "€€€.€€€.€€€".into(),
            "\u{0}".into(),
            long.clone(),
            format!("{long}.{long}.{long}"),
            header.clone(),
            format!("{header}."),
            format!("{header}.."),
            format!("{header}.!!!.!!!"),
            format!("{header}.{}.", URL_SAFE_NO_PAD.encode("[1,2,3]")),
            raw_token(&json!({"alg": "HS256"}), &json!([1, 2, 3]), SECRET),
            raw_token(&json!({"alg": "HS256"}), &json!("string claims"), SECRET),
            raw_token(&json!([]), &c, SECRET),
            format!("{good}.extra"),
            good.replace('.', ""),
            good[..good.len() - 10].to_owned(),
        ];
        for t in &garbage {
            let result = verify_jwt(&bearer(t), BODY);
            assert!(
                matches!(
                    result,
                    Err(SignatureError::Malformed(_) | SignatureError::Mismatch)
                ),
                "{:?} -> {result:?}",
                t.chars().take(80).collect::<String>()
            );
        }
    }

    #[test]
    fn decode_hs256_claims_checks_only_the_signature() {
        // No payload_hash, iat long ago: the signature step alone accepts it.
        let c = json!({"iss": "Vonage", "iat": 1});
        let t = token(Algorithm::HS256, &c, SECRET);
        assert_eq!(decode_hs256_claims(&t, SECRET), Ok(c));
        assert_eq!(
            decode_hs256_claims(&t, "wrong"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn errors_do_not_leak_the_secret() {
        let t = token(
            Algorithm::HS256,
            &claims(NOW.unix_timestamp(), BODY),
            "wrong",
        );
        for err in [
            verify_jwt(&bearer(&t), BODY).unwrap_err(),
            verify_jwt("Bearer x.y.z", BODY).unwrap_err(),
            verify_at(&signed(&INBOUND, SignatureMethod::HmacSha256)).unwrap_err(),
        ] {
            assert!(!err.to_string().contains(SECRET));
            assert!(!format!("{err:?}").contains(SECRET));
        }
    }
}
