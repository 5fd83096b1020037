//! How a pool or a node reaches the server: its URL (`nats://` or `tls://`), the
//! credentials and TLS a user gives — user and password, token, nkey seed or a creds
//! file, root certificates, client certificate — and how long connecting may take.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::{Client, ConnectOptions};

/// The default bound on connecting to the server.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the server is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub(crate) url: String,
    pub(crate) user_password: Option<(String, String)>,
    pub(crate) token: Option<String>,
    pub(crate) nkey: Option<String>,
    pub(crate) creds_file: Option<PathBuf>,
    pub(crate) root_certificates: Option<PathBuf>,
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
    pub(crate) require_tls: bool,
    pub(crate) timeout: Duration,
}

impl ConnectSettings {
    /// The server at `url`, without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectSettings {
            url: url.into(),
            user_password: None,
            token: None,
            nkey: None,
            creds_file: None,
            root_certificates: None,
            client_certificate: None,
            require_tls: false,
            timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connects, within the timeout; the error says why not.
    pub(crate) async fn connect(&self, name: &str) -> Result<Client, String> {
        let mut options = ConnectOptions::new()
            .name(name)
            .connection_timeout(self.timeout)
            .require_tls(self.require_tls);
        if let Some((user, password)) = &self.user_password {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        if let Some(seed) = &self.nkey {
            options = options.nkey(seed.clone());
        }
        if let Some(path) = &self.creds_file {
            options = options.credentials_file(path).await.map_err(|error| {
                format!("cannot read the creds file {}: {error}", path.display())
            })?;
        }
        if let Some(path) = &self.root_certificates {
            options = options.add_root_certificates(path.clone());
        }
        if let Some((certificate, key)) = &self.client_certificate {
            options = options.add_client_certificate(certificate.clone(), key.clone());
        }
        let connecting = options.connect(self.url.as_str());
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(error)) => Err(format!("cannot connect to {}: {error}", self.url)),
            Err(_) => Err(format!(
                "cannot connect to {} within {:?}",
                self.url, self.timeout
            )),
        }
    }
}

/// The builder methods for a server's address and credentials, shared by the pool's and
/// the node's builders (each keeps a `connect: ConnectSettings`).
macro_rules! connect_settings {
    () => {
        /// A user and password to authenticate with.
        pub fn user_and_password(
            mut self,
            user: impl Into<String>,
            password: impl Into<String>,
        ) -> Self {
            self.connect.user_password = Some((user.into(), password.into()));
            self
        }

        /// A token to authenticate with.
        pub fn token(mut self, token: impl Into<String>) -> Self {
            self.connect.token = Some(token.into());
            self
        }

        /// An nkey seed to authenticate with.
        pub fn nkey(mut self, seed: impl Into<String>) -> Self {
            self.connect.nkey = Some(seed.into());
            self
        }

        /// A creds file (a JWT and nkey seed) to authenticate with.
        pub fn credentials_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.connect.creds_file = Some(path.into());
            self
        }

        /// Root certificates (PEM) to trust for `tls://` servers.
        pub fn root_certificates(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.connect.root_certificates = Some(path.into());
            self
        }

        /// A client certificate and its key (PEM), for servers that verify clients.
        pub fn client_certificate(
            mut self,
            certificate: impl Into<std::path::PathBuf>,
            key: impl Into<std::path::PathBuf>,
        ) -> Self {
            self.connect.client_certificate = Some((certificate.into(), key.into()));
            self
        }

        /// Refuse to talk to the server without TLS.
        pub fn require_tls(mut self, required: bool) -> Self {
            self.connect.require_tls = required;
            self
        }

        /// How long connecting may take before `build()` (or `serve`) fails (default 5 s).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.connect.timeout = timeout;
            self
        }
    };
}
pub(crate) use connect_settings;
