//! Our outbound HTTPS (DynamoDB, Secrets Manager, Vonage): rustls with *ring*, trusting Mozilla's
//! roots compiled in as trust anchors (`webpki-roots`), the form rustls checks against, so that
//! nothing is read or parsed at start; never the system store
//! (docs/decisions/0021-one-http-client-and-trust-anchors.md). All three services present
//! certificates from public CAs on that list; a private CA (a TLS-intercepting proxy) is not
//! trusted, and no Lambda needs one.

use std::sync::OnceLock;

/// The TLS configuration every outbound client shares, built once per process.
pub fn client_config() -> &'static rustls::ClientConfig {
    static CONFIG: OnceLock<rustls::ClientConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        // `builder()` takes the process default provider. Installing fails only when one is
        // installed already, which is then this very provider (rustls is linked with ring alone).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth()
    })
}

/// A reqwest client builder with that configuration (HTTP/1.1: reqwest is linked without
/// HTTP/2, which neither DynamoDB nor Vonage needs).
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(client_config().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reqwest_takes_the_configuration() {
        // A configuration from another rustls version than reqwest's would be refused here
        // ("Unknown TLS backend passed to `use_preconfigured_tls`"), and by every client built.
        reqwest_builder()
            .build()
            .expect("reqwest accepts our rustls configuration");
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100, "Mozilla's list");
    }
}
