//! The DTLS provider our peers use: str0m's own (dimpl on AWS-LC), except that the dimpl
//! configuration is built once per MTU and shared by every peer.
//!
//! Building a dimpl configuration runs its crypto provider's known-answer self-tests (a key
//! exchange in every group, a signature check): about 0.8 ms of elliptic-curve work, which
//! str0m 0.25 repeats for every PeerConnection. A room of 500 subscribers spent 400 ms on it.
//! The tests prove the provider once; the configuration is immutable and shared by `Arc`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use str0m::config::CryptoProvider;
use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
};
use str0m::crypto::CryptoError;

/// The crypto provider for peers: str0m's AWS-LC one with [`SharedConfigDtls`].
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            static DTLS: OnceLock<SharedConfigDtls> = OnceLock::new();
            let base = str0m::crypto::from_feature_flags();
            let dtls =
                DTLS.get_or_init(|| SharedConfigDtls { base: base.dtls_provider, configs: Mutex::default() });
            Arc::new(CryptoProvider { dtls_provider: dtls, ..base })
        })
        .clone()
}

/// Makes DTLS instances from one shared dimpl configuration per MTU.
#[derive(Debug)]
pub struct SharedConfigDtls {
    /// str0m's provider, for certificates.
    base: &'static dyn DtlsProvider,
    /// The configurations built so far, by MTU.
    configs: Mutex<Vec<(Option<usize>, Arc<dimpl::Config>)>>,
}

impl SharedConfigDtls {
    fn config(&self, mtu: Option<usize>) -> Result<Arc<dimpl::Config>, CryptoError> {
        let mut configs = self.configs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, c)) = configs.iter().find(|(m, _)| *m == mtu) {
            return Ok(c.clone());
        }
        // As str0m's: ICE has proven the return route before DTLS starts, so no cookies.
        let mut builder = dimpl::Config::builder()
            .with_crypto_provider(dimpl::crypto::aws_lc_rs::default_provider())
            .use_server_cookie(false);
        if let Some(mtu) = mtu {
            builder = builder.mtu(mtu);
        }
        let config =
            Arc::new(builder.build().map_err(|e| CryptoError::Other(format!("DTLS configuration: {e}")))?);
        configs.push((mtu, config.clone()));
        Ok(config)
    }
}

impl DtlsProvider for SharedConfigDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        self.base.generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let config = self.config(mtu)?;
        let cert = DtlsCert { certificate: cert.certificate.clone(), private_key: cert.private_key.clone() };
        let dtls = match version {
            DtlsVersion::Dtls12 => dimpl::Dtls::new_12(config, cert, now),
            DtlsVersion::Dtls13 => dimpl::Dtls::new_13(config, cert, now),
            DtlsVersion::Auto => dimpl::Dtls::new_auto(config, cert, now),
            other => return Err(CryptoError::Other(format!("unsupported DTLS version {other:?}"))),
        };
        Ok(Box::new(Instance(dtls)))
    }
}

/// One peer's DTLS: dimpl's, as str0m drives it.
struct Instance(dimpl::Dtls);

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dimpl DTLS instance")
    }
}

impl DtlsInstance for Instance {
    fn set_active(&mut self, active: bool) {
        self.0.set_active(active);
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.0.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        self.0.poll_output(buf)
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.0.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.0.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.0.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.0.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.0.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.0.close()
    }
}
