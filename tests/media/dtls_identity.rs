//! The gateway's DTLS identity from `certificates: { cert_pem, cert_key }`, as Janus's.

use crate::harness::Conf;

/// What `openssl x509 -fingerprint -sha256` prints for `tests/fixtures/dtls/cert.pem`.
const FINGERPRINT: &str =
    "62:C7:F6:68:44:AE:C8:81:DE:98:A9:25:F8:71:B1:8A:81:B6:DD:2D:AE:FD:60:B6:D3:73:9E:94:4D:BD:5E:17";

/// With the fixture's certificate and key configured, the answer's fingerprint is the
/// certificate's, and an independent peer's DTLS handshake with it succeeds: the echo flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_certificate_is_the_gateways_dtls_identity() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dtls");
    let conf = Conf {
        core_sections: format!(
            "certificates: {{ cert_pem = \"{}\" cert_key = \"{}\" }}\n",
            fixtures.join("cert.pem").display(),
            fixtures.join("key-sec1.pem").display()
        ),
        ..Conf::default()
    };
    crate::checked_echo(conf, |answer| {
        assert!(answer.contains(&format!("a=fingerprint:sha-256 {FINGERPRINT}")), "{answer}");
    })
    .await;
}
