//! TLS for the framed protocol (feature `tls`, rustls with the ring provider). The client
//! trusts the certificates in a PEM file: the server's own certificate when it is
//! self-signed, or the authority that signed it. The server's name is checked against the
//! host part of the address (a DNS name or an IP address in the certificate).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::ClientError;

/// How a client secures its connections; cheap to clone.
#[derive(Clone)]
pub struct TlsOptions {
    connector: TlsConnector,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsOptions")
    }
}

impl TlsOptions {
    /// Trust the certificates in the PEM file `path` (and nothing else).
    pub fn from_ca_file(path: &Path) -> Result<TlsOptions, ClientError> {
        let bad = |why: String| ClientError::Tls(format!("{}: {why}", path.display()));
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(format!("cannot read certificates: {e}")))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("cannot read certificates: {e}")))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in the file".into()));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("unusable certificate: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsOptions {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Do the TLS handshake over `stream`, connected to `addr` (`host:port`).
    pub(crate) async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> Result<TlsStream<TcpStream>, ClientError> {
        let host = host_of(addr);
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ClientError::Tls(format!("{host:?} is not a valid server name")))?;
        self.connector.connect(name, stream).await.map_err(|e| {
            ClientError::Tls(format!(
                "TLS handshake with {addr} failed: {e} (does the server serve TLS \
                     (--tls-cert), and does the CA file hold its certificate or authority?)"
            ))
        })
    }
}

/// The host of `host:port` or `[v6]:port`.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_of_addresses() {
        assert_eq!(host_of("127.0.0.1:8000"), "127.0.0.1");
        assert_eq!(host_of("db.example:8000"), "db.example");
        assert_eq!(host_of("[::1]:8000"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }
}
