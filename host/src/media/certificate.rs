//! The gateway's DTLS identity from files, as Janus's `certificates: { cert_pem, cert_key }`:
//! the same certificate (and so the same `a=fingerprint`) across restarts and instances. The
//! DTLS stack signs with ECDSA (P-256 or P-384): the key is PKCS#8 or SEC1, in PEM; an RSA key
//! or an encrypted one is refused at start-up with the reason.

use std::path::Path;

use data_encoding::BASE64;
use str0m::config::DtlsCert;

use crate::config::CertificateFiles;

/// Reads and checks the certificate and key the configuration names.
pub fn load(files: &CertificateFiles) -> anyhow::Result<DtlsCert> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
    };
    let (cert_text, key_text) = (read(&files.cert_pem)?, read(&files.cert_key)?);
    let shown = |path: &Path| path.display().to_string();
    let certificate = pem_block(&cert_text, &["CERTIFICATE"])
        .ok_or_else(|| anyhow::anyhow!("{}: no PEM certificate", shown(&files.cert_pem)))?;
    if key_text.contains("ENCRYPTED") {
        anyhow::bail!(
            "{}: an encrypted key (decrypt it with `openssl pkey -in key.pem -out plain.pem`)",
            shown(&files.cert_key)
        );
    }
    let private_key = pem_block(&key_text, &["PRIVATE KEY", "EC PRIVATE KEY"])
        .ok_or_else(|| anyhow::anyhow!("{}: no PEM private key (PKCS#8 or SEC1)", shown(&files.cert_key)))?;
    let provider = dimpl::crypto::aws_lc_rs::default_provider();
    if provider.key_provider.load_private_key(&private_key).is_err() {
        anyhow::bail!(
            "{}: not an ECDSA P-256 or P-384 key, the kinds the DTLS stack signs with (an RSA \
             certificate needs an ECDSA one instead: `openssl req -x509 -newkey ec -pkeyopt \
             ec_paramgen_curve:prime256v1 …`)",
            shown(&files.cert_key)
        );
    }
    Ok(DtlsCert { certificate, private_key })
}

/// The bytes of the first PEM block with one of `labels`.
fn pem_block(text: &str, labels: &[&str]) -> Option<Vec<u8>> {
    for label in labels {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some(start) = text.find(&begin) else { continue };
        let body = &text[start + begin.len()..];
        let Some(stop) = body.find(&end) else { continue };
        let base64: String = body[..stop].split_whitespace().collect();
        return BASE64.decode(base64.as_bytes()).ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// What `openssl x509 -fingerprint -sha256` prints for the fixture's certificate.
    pub(crate) const FINGERPRINT: &str =
        "62:C7:F6:68:44:AE:C8:81:DE:98:A9:25:F8:71:B1:8A:81:B6:DD:2D:AE:FD:60:B6:D3:73:9E:94:4D:BD:5E:17";

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dtls").join(name)
    }

    fn files(cert: &str, key: &str) -> CertificateFiles {
        CertificateFiles { cert_pem: fixture(cert), cert_key: fixture(key) }
    }

    /// The fixture's certificate gives the fingerprint `openssl x509 -fingerprint -sha256`
    /// printed for it, with its key in either form.
    #[test]
    fn an_ecdsa_identity_loads_with_its_fingerprint() {
        for key in ["key.pem", "key-sec1.pem"] {
            let cert = load(&files("cert.pem", key)).unwrap_or_else(|e| panic!("{key}: {e:#}"));
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert.certificate);
            let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(hex.join(":"), FINGERPRINT);
        }
    }

    #[test]
    fn rsa_missing_and_garbage_are_refused_with_the_reason() {
        let rsa = load(&files("cert.pem", "rsa-key.pem")).expect_err("RSA");
        assert!(format!("{rsa:#}").contains("ECDSA"), "{rsa:#}");
        let missing = load(&files("cert.pem", "nope.pem")).expect_err("missing");
        assert!(format!("{missing:#}").contains("cannot read"), "{missing:#}");
        let garbage = load(&files("README.md", "key.pem")).expect_err("no certificate");
        assert!(format!("{garbage:#}").contains("no PEM certificate"), "{garbage:#}");
    }
}
