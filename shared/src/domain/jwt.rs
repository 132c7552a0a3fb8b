//! The cryptography behind `jsonwebtoken`: HS256/384/512 only, from the `hmac` and `sha2` crates
//! we use for Vonage's `sig`. Vonage signs with HS256 alone, and the library's own backends link
//! RSA, ECDSA and EdDSA, hundreds of KB of each bootstrap
//! (docs/decisions/0012-bootstrap-size-over-hot-path-speed.md). [`install`] must run before any
//! `jsonwebtoken` call; another algorithm is an error here, never a panic.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::{Sha256, Sha384, Sha512};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Make the HMAC provider the process's `jsonwebtoken` backend (idempotent, cheap).
pub fn install() {
    // Fails only when a provider is installed already: this one (nothing else installs one).
    let _ = PROVIDER.install_default();
}

#[derive(Clone)]
enum AnyHmac {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl AnyHmac {
    fn new(algorithm: Algorithm, secret: &[u8]) -> Result<Self> {
        let bad_key = |_| jsonwebtoken::errors::Error::from(ErrorKind::InvalidKeyFormat);
        match algorithm {
            Algorithm::HS256 => Hmac::new_from_slice(secret)
                .map(Self::Hs256)
                .map_err(bad_key),
            Algorithm::HS384 => Hmac::new_from_slice(secret)
                .map(Self::Hs384)
                .map_err(bad_key),
            Algorithm::HS512 => Hmac::new_from_slice(secret)
                .map(Self::Hs512)
                .map_err(bad_key),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Hs256(_) => Algorithm::HS256,
            Self::Hs384(_) => Algorithm::HS384,
            Self::Hs512(_) => Algorithm::HS512,
        }
    }

    fn tag(&self, message: &[u8]) -> Vec<u8> {
        fn run<M: Mac + Clone>(mac: &M, message: &[u8]) -> Vec<u8> {
            let mut mac = mac.clone();
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Hs256(m) => run(m, message),
            Self::Hs384(m) => run(m, message),
            Self::Hs512(m) => run(m, message),
        }
    }

    fn check(&self, message: &[u8], tag: &[u8]) -> std::result::Result<(), signature::Error> {
        // `verify_slice` compares in constant time.
        fn run<M: Mac + Clone>(mac: &M, message: &[u8], tag: &[u8]) -> bool {
            let mut mac = mac.clone();
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        let ok = match self {
            Self::Hs256(m) => run(m, message, tag),
            Self::Hs384(m) => run(m, message, tag),
            Self::Hs512(m) => run(m, message, tag),
        };
        ok.then_some(()).ok_or_else(signature::Error::new)
    }
}

impl Signer<Vec<u8>> for AnyHmac {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.tag(message))
    }
}

impl JwtSigner for AnyHmac {
    fn algorithm(&self) -> Algorithm {
        AnyHmac::algorithm(self)
    }
}

impl Verifier<Vec<u8>> for AnyHmac {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        self.check(message, tag)
    }
}

impl JwtVerifier for AnyHmac {
    fn algorithm(&self) -> Algorithm {
        AnyHmac::algorithm(self)
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(AnyHmac::new(
        *algorithm,
        key.try_get_hmac_secret()?,
    )?))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(AnyHmac::new(
        *algorithm,
        key.try_get_hmac_secret()?,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, encode, Header, Validation};
    use serde_json::{json, Value};

    fn validation(alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v
    }

    #[test]
    fn the_hmac_family_signs_and_verifies_and_rejects_a_wrong_secret() {
        install();
        let claims = json!({"iss": "Vonage", "n": 1});
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = encode(&Header::new(alg), &claims, &EncodingKey::from_secret(b"k"))
                .expect("encodes");
            let back = decode::<Value>(&token, &DecodingKey::from_secret(b"k"), &validation(alg))
                .expect("verifies");
            assert_eq!(back.claims, claims);
            let wrong = decode::<Value>(&token, &DecodingKey::from_secret(b"x"), &validation(alg));
            assert!(matches!(
                wrong.map_err(|e| e.into_kind()),
                Err(ErrorKind::InvalidSignature)
            ));
        }
    }

    #[test]
    fn the_rfc_7515_hs256_example_verifies() {
        // RFC 7515, appendix A.1: a token from outside this code, with its published key.
        install();
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let raw = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
                .expect("the RFC's key is base64url")
        };
        let key = DecodingKey::from_secret(&raw);
        let back = decode::<Value>(token, &key, &validation(Algorithm::HS256)).expect("verifies");
        assert_eq!(back.claims["iss"], "joe");
    }

    #[test]
    fn other_algorithms_are_errors_not_panics() {
        install();
        let err = encode(
            &Header::new(Algorithm::RS256),
            &json!({}),
            &EncodingKey::from_secret(b"k"),
        );
        assert!(err.is_err());
    }
}
