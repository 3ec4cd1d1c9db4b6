//! A server's credentials: OAuth sign-in ([`StartLogin`], [`LoginStarted`]), the secrets its
//! spec refers to ([`SecretView`], [`SetSecret`]), and what clients get of its tool results
//! that hold a credential ([`SecretResults`]).
//!
//! Names and states only: a secret's value travels only in a request body, and never shows
//! in `Debug`.

/// Optional body of `POST /api/v1/servers/{name}/login`: a client the user registered with the
/// server's authorization server. The daemon keeps it in the keychain, bound to that issuer.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartLogin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for StartLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartLogin")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Answer of `POST /api/v1/servers/{name}/login`: the page to sign in at. The daemon waits for
/// the browser's redirect on a loopback port of its own.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct LoginStarted {
    pub authorization_url: String,
}

/// A secret a server's spec refers to (`GET /api/v1/servers/{name}/secrets`): never its value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SecretView {
    /// The env var (or header, for a remote server) it fills.
    pub name: String,
    /// Its name in the keychain.
    pub key: String,
    /// Whether the keychain has a value for it.
    pub set: bool,
}

/// Body of `PUT /api/v1/servers/{name}/secrets/{secret}`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SetSecret {
    pub value: String,
}

impl std::fmt::Debug for SetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetSecret { value: <redacted> }")
    }
}

/// What a server's tool results that hold a credential become for clients; the history is
/// redacted whatever it is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum SecretResults {
    /// Each credential replaced by a note of its kind.
    #[default]
    Redact,
    /// The whole result replaced by an error saying why.
    Block,
    /// Passed as the server sent it.
    Allow,
}

/// `GET`/`PUT /api/v1/servers/{name}/secret-results`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct GuardResults {
    pub results: SecretResults,
}
