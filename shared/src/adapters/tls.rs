//! Our outbound HTTPS (DynamoDB, Secrets Manager, Vonage): rustls with *ring*, trusting Mozilla's
//! roots compiled in (`webpki-root-certs`), never the system store, whose reading took 10-20 ms
//! per client of each cold start (docs/decisions/0012-bootstrap-size-over-hot-path-speed.md).
//! All three services present certificates from public CAs on that list; a private CA (a
//! TLS-intercepting proxy) is not trusted, and no Lambda needs one.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine;
use std::sync::OnceLock;

/// The roots as one PEM bundle (the form the SDK's trust store takes).
fn roots_pem() -> &'static [u8] {
    static PEM: OnceLock<Vec<u8>> = OnceLock::new();
    PEM.get_or_init(|| {
        let mut pem = Vec::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2048);
        for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let body = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            for line in body.as_bytes().chunks(64) {
                pem.extend_from_slice(line);
                pem.push(b'\n');
            }
            pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
        pem
    })
}

/// The SDK's HTTP client (rustls with ring) trusting only the roots above.
pub fn sdk_http_client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots_pem());
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot happen with a trust store and no extra server names; the SDK's defaults then.
        Err(_) => builder.build_https(),
    }
}

/// A reqwest client builder with the same roots and the same cryptography.
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    // reqwest is built without a provider of its own; it takes the process default. Installing
    // fails only when one is installed already, which is then this very provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().tls_certs_only(reqwest_roots())
}

fn reqwest_roots() -> Vec<reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|cert| reqwest::Certificate::from_der(cert.as_ref()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_is_in_both_forms() {
        let n = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        assert!(n > 100, "Mozilla's list has well over 100 roots, got {n}");
        assert_eq!(reqwest_roots().len(), n);
        let pem = std::str::from_utf8(roots_pem()).expect("PEM is ASCII");
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), n);
        // The first certificate decodes back to the same DER.
        let first: String = pem
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(first)
            .expect("base64");
        assert_eq!(der, webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref());
    }
}
