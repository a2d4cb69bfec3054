//! TLS for the brokers' clients (MQTT, AMQP) as a configuration file asks: a CA file to trust
//! instead of the system's certificates, a client certificate and key to show the broker, and
//! how strictly the broker's own certificate is checked. Also the two sides of a plugin's TLS
//! listener (SIP over TLS): the certificate it shows, and the client of the connections it
//! opens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
};

/// A broker client's TLS files and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificates (PEM) the broker's certificate must chain to (none: the system's).
    pub ca: Option<PathBuf>,
    /// The client certificate chain (PEM) shown to the broker, with `key`.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, not encrypted).
    pub key: Option<PathBuf>,
    /// Whether the broker's certificate is checked at all.
    pub verify_peer: bool,
    /// Whether it must be for the broker's name (or address).
    pub verify_hostname: bool,
}

impl Default for TlsFiles {
    fn default() -> Self {
        Self { ca: None, cert: None, key: None, verify_peer: true, verify_hostname: true }
    }
}

/// The TLS client these files make: an error names the file that could not be used.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = match &files.ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca)? {
                roots.add(cert).map_err(|e| format!("{}: {e}", ca.display()))?;
            }
            roots
        }
        None => crate::http_client::system_roots()?,
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match (files.verify_peer, files.verify_hostname) {
        (true, true) => builder.with_root_certificates(roots),
        (peer, _) => {
            let checked = match peer {
                true => Some(
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| e.to_string())?,
                ),
                false => None,
            };
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Lenient { checked, provider }))
        }
    };
    let config = match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("{}: {e}", cert.display()))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("a client certificate needs both its file and its key's".into()),
    };
    Ok(Arc::new(config))
}

/// A TLS client that checks nothing of the server's certificate but the handshake's
/// signatures: what Janus's SIP stack (Sofia-SIP, `TPTLS_VERIFY_NONE` by default) does with
/// the servers it connects to.
pub fn unchecked_client() -> Arc<ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let lenient = Arc::new(Lenient { checked: None, provider: provider.clone() });
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("aws-lc-rs supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(lenient)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// A TLS server showing the certificate chain and private key of one PEM file (as Sofia-SIP's
/// `agent.pem` holds them), or with none, a self-signed certificate for `name` made now.
pub fn server_config(pem: Option<&Path>, name: &str) -> Result<Arc<ServerConfig>, String> {
    let (chain, key) = match pem {
        Some(file) => {
            let key = PrivateKeyDer::from_pem_file(file).map_err(|e| format!("{}: {e}", file.display()))?;
            (certificates(file)?, key)
        }
        None => {
            let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
            let params = rcgen::CertificateParams::new(vec![name.to_owned()]).map_err(|e| e.to_string())?;
            let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
            let key = PrivateKeyDer::try_from(key.serialize_der()).map_err(str::to_owned)?;
            (vec![cert.der().clone()], key)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match pem {
            Some(file) => format!("{}: {e}", file.display()),
            None => e.to_string(),
        })?;
    Ok(Arc::new(config))
}

/// The certificates of a PEM file (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match certs.is_empty() {
        true => Err(format!("{}: no certificate", path.display())),
        false => Ok(certs),
    }
}

/// Checks the broker's certificate less than rustls does, as the files say: not at all
/// (`checked` none: `verify_peer = false`), or its chain but not its name
/// (`verify_hostname = false`). The handshake's signatures are always checked.
#[derive(Debug)]
struct Lenient {
    checked: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(checked) = &self.checked else { return Ok(ServerCertVerified::assertion()) };
        match checked.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that cannot be used is an error that names it; a certificate needs its key.
    #[test]
    fn files_that_cannot_be_used_are_named() {
        let dir = std::env::temp_dir().join(format!("portunus-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = client_config(&TlsFiles { ca: Some(missing.clone()), ..TlsFiles::default() }).unwrap_err();
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = client_config(&TlsFiles { ca: Some(empty.clone()), ..TlsFiles::default() }).unwrap_err();
        assert!(err.contains("no certificate"), "{err}");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["client".to_owned()]).unwrap().self_signed(&key).unwrap();
        let (cert_file, key_file) = (dir.join("client.pem"), dir.join("client.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let ca = Some(cert_file.clone());
        let half = TlsFiles { ca: ca.clone(), cert: Some(cert_file.clone()), ..TlsFiles::default() };
        assert!(client_config(&half).is_err());
        let whole = TlsFiles { ca, cert: Some(cert_file), key: Some(key_file), ..TlsFiles::default() };
        assert!(client_config(&whole).is_ok());
        let lenient = TlsFiles { verify_peer: false, ..whole };
        assert!(client_config(&lenient).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
