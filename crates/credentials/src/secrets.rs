//! The one home of secret values: the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows), through the keyring crate. No other module touches it.
//!
//! Secrets are named `<server>/<NAME>` (an env var or header of that server) under one
//! keychain service per data directory. Specs, the database, logs and API answers hold only
//! these names; values are read here at the moment a process is spawned or a request sent.
//!
//! When no keychain can be reached every call fails with what to do about it; nothing falls
//! back on its own. A headless machine with no keychain may opt in to a file instead
//! (`SWITCHBOARD_SECRETS=file`): `secrets.json` in the data directory, readable by its owner
//! only, and as safe as that account.

use std::collections::BTreeMap;
use std::path::PathBuf;

use switchboard_model::api::SecretValues;
use switchboard_model::{RESERVED_NAME, ServerName, Transport, ValueSource};

/// The keychain service of the default data directory.
pub const SERVICE: &str = "switchboard";

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    #[error(
        "no keychain can be reached ({detail}); on Linux start a Secret Service (GNOME Keyring, KWallet or KeePassXC) in your session, or on a headless machine set SWITCHBOARD_SECRETS=file for the daemon"
    )]
    Unavailable { detail: String },
    #[error("the keychain refused access to secret {key} ({detail}); unlock it and try again")]
    Denied { key: String, detail: String },
    #[error("secret {key} is not set; set it with `switchboard secrets set {}`", key.replacen('/', " ", 1))]
    Missing { key: String },
    #[error("secret name `{key}` is invalid: use SERVER/NAME")]
    BadKey { key: String },
    #[error("the secrets file {path} cannot be used: {detail}")]
    File { path: PathBuf, detail: String },
}

/// Where secret values live.
#[derive(Clone, Debug)]
enum Backend {
    Keychain {
        service: String,
    },
    /// The explicit opt-in for machines without a keychain.
    File {
        path: PathBuf,
    },
}

/// Reads and writes secret values.
#[derive(Clone, Debug)]
pub struct Secrets {
    backend: Backend,
    /// Serialises read-modify-write of the file backend.
    file_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    known: std::sync::Arc<Known>,
}

/// The values read or written through a [`Secrets`] (and its clones) since it was made, by
/// key: what the gateway's scan of tool traffic looks for. In memory only, and never in
/// `Debug`. A stored sign-in (JSON) counts as its tokens and client secret, a header value
/// as what follows its scheme (`Bearer …`).
#[derive(Default)]
pub struct Known {
    values: std::sync::Mutex<BTreeMap<String, Vec<String>>>,
    /// Counts changes, so a reader rebuilds what it made of the values only after one.
    generation: std::sync::atomic::AtomicU64,
}

impl Known {
    /// How many times the values changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The values, and the generation they are of.
    pub fn values(&self) -> (u64, Vec<String>) {
        let values = self.lock();
        (self.generation(), values.values().flatten().cloned().collect())
    }

    fn remember(&self, key: &str, value: Option<&str>) {
        let mut values = self.lock();
        let changed = match value {
            Some(value) => {
                let parts = parts_of(value);
                values.insert(key.to_owned(), parts.clone()) != Some(parts)
            }
            None => values.remove(key).is_some(),
        };
        if changed {
            self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<String>>> {
        self.values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Known")
            .field("keys", &self.lock().len())
            .field("generation", &self.generation())
            .finish()
    }
}

/// What of a stored `value` could show up in tool traffic: the value itself, the token of a
/// header value after its scheme, and a stored sign-in's tokens and client secret.
fn parts_of(value: &str) -> Vec<String> {
    let mut parts = vec![value.to_owned()];
    let scheme = value
        .split_once(' ')
        .filter(|(scheme, _)| ["Bearer", "Basic", "Token"].contains(scheme));
    if let Some((_, token)) = scheme {
        parts.push(token.trim().to_owned());
    }
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(value) {
        for field in ["access_token", "refresh_token", "id_token", "client_secret"] {
            parts.extend(fields.get(field).and_then(|v| v.as_str()).map(str::to_owned));
        }
    }
    parts
}

/// The name of secret `name` (an env var or header) of `server`.
pub fn key(server: &ServerName, name: &str) -> String {
    format!("{server}/{name}")
}

/// Variable names that hold credentials by the usual conventions.
pub fn looks_like_credential(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "CREDENTIALS",
        "AUTH",
        "AUTHORIZATION",
        "COOKIE",
        "PAT",
    ];
    // Run-together forms: APIKEY, ACCESSTOKEN, PRIVATEKEY.
    const PREFIXES: &[&str] = &[
        "API", "ACCESS", "PRIVATE", "SECRET", "AUTH", "BEARER", "SESSION", "CLIENT",
    ];
    let upper = name.to_ascii_uppercase();
    upper.split(|c: char| !c.is_ascii_alphanumeric()).any(|part| {
        WORDS.iter().any(|word| {
            part == *word
                || (part.len() > word.len()
                    && part.ends_with(word)
                    && PREFIXES.iter().any(|p| part.starts_with(p)))
        })
    })
}

/// Keeps `given` values (by env var or header name) and every literal value named like a
/// credential of `transport` in the keychain under `server`'s names, leaving references in
/// `transport`; returns the names kept there. A dry run changes `transport` only. Should
/// storing fail, what was stored by this call is deleted again.
pub async fn keep_in_keychain(
    secrets: &Secrets,
    server: &ServerName,
    transport: &mut Transport,
    given: &SecretValues,
    dry_run: bool,
) -> Result<Vec<String>, SecretsError> {
    let values = match transport {
        Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => &mut launch.env,
        Transport::RemoteHttp { headers, .. } => headers,
    };
    for (name, value) in &given.0 {
        values.insert(name.clone(), ValueSource::Literal(value.clone()));
    }
    let mut kept: Vec<String> = Vec::new();
    for (name, value) in values.iter_mut() {
        let ValueSource::Literal(text) = value else {
            continue;
        };
        if !given.0.contains_key(name) && !looks_like_credential(name) {
            continue;
        }
        let key = key(server, name);
        if !dry_run && let Err(e) = secrets.set(&key, text).await {
            for name in &kept {
                let _ = secrets.delete(&self::key(server, name)).await;
            }
            return Err(e);
        }
        *value = ValueSource::Secret { secret: key };
        kept.push(name.clone());
    }
    Ok(kept)
}

fn check_key(key: &str) -> Result<(), SecretsError> {
    match key.split_once('/') {
        Some((server, name))
            if (server == RESERVED_NAME || ServerName::new(server).is_ok())
                && !name.is_empty()
                && !name.contains(char::is_control) =>
        {
            Ok(())
        }
        _ => Err(SecretsError::BadKey { key: key.to_owned() }),
    }
}

impl Secrets {
    /// The keychain, under `service`.
    pub fn keychain(service: impl Into<String>) -> Self {
        Self {
            backend: Backend::Keychain {
                service: service.into(),
            },
            file_lock: Default::default(),
            known: Default::default(),
        }
    }

    /// A 0600 JSON file: only when the user opts in.
    pub fn file(path: PathBuf) -> Self {
        Self {
            backend: Backend::File { path },
            file_lock: Default::default(),
            known: Default::default(),
        }
    }

    /// Where values go, in words, for `doctor`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Keychain { service } => format!("the OS keychain, service `{service}`"),
            Backend::File { path } => format!("the file {} (SWITCHBOARD_SECRETS=file)", path.display()),
        }
    }

    /// The values this handle has read or written.
    pub fn known(&self) -> &std::sync::Arc<Known> {
        &self.known
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<(), SecretsError> {
        self.write_value(key, value).await?;
        self.known.remember(key, Some(value));
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, SecretsError> {
        let value = self.read_value(key).await?;
        if let Some(value) = &value {
            self.known.remember(key, Some(value));
        }
        Ok(value)
    }

    /// Removes a secret; `false` if there was none.
    pub async fn delete(&self, key: &str) -> Result<bool, SecretsError> {
        let deleted = self.delete_value(key).await?;
        self.known.remember(key, None);
        Ok(deleted)
    }

    async fn write_value(&self, key: &str, value: &str) -> Result<(), SecretsError> {
        check_key(key)?;
        match &self.backend {
            Backend::Keychain { service } => {
                let (service, key, value) = (service.clone(), key.to_owned(), value.to_owned());
                blocking(move || {
                    entry(&service, &key)?
                        .set_password(&value)
                        .map_err(|e| classify(&key, e))
                })
                .await
            }
            Backend::File { path } => {
                let _guard = self.file_lock.lock().await;
                let mut all = read_file(path)?;
                all.insert(key.to_owned(), value.to_owned());
                write_file(path, &all)
            }
        }
    }

    async fn read_value(&self, key: &str) -> Result<Option<String>, SecretsError> {
        check_key(key)?;
        match &self.backend {
            Backend::Keychain { service } => {
                let (service, key) = (service.clone(), key.to_owned());
                blocking(move || match entry(&service, &key)?.get_password() {
                    Ok(value) => Ok(Some(value)),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(classify(&key, e)),
                })
                .await
            }
            Backend::File { path } => Ok(read_file(path)?.remove(key)),
        }
    }

    async fn delete_value(&self, key: &str) -> Result<bool, SecretsError> {
        check_key(key)?;
        match &self.backend {
            Backend::Keychain { service } => {
                let (service, key) = (service.clone(), key.to_owned());
                blocking(move || match entry(&service, &key)?.delete_credential() {
                    Ok(()) => Ok(true),
                    Err(keyring::Error::NoEntry) => Ok(false),
                    Err(e) => Err(classify(&key, e)),
                })
                .await
            }
            Backend::File { path } => {
                let _guard = self.file_lock.lock().await;
                let mut all = read_file(path)?;
                let had = all.remove(key).is_some();
                write_file(path, &all)?;
                Ok(had)
            }
        }
    }

    /// Literal values as they are, references read now; a reference with no value is an error.
    pub async fn resolve(
        &self,
        values: &BTreeMap<String, ValueSource>,
    ) -> Result<BTreeMap<String, String>, SecretsError> {
        let mut resolved = BTreeMap::new();
        for (name, value) in values {
            let text = match value {
                ValueSource::Literal(text) => text.clone(),
                ValueSource::Secret { secret } => self
                    .get(secret)
                    .await?
                    .ok_or_else(|| SecretsError::Missing { key: secret.clone() })?,
            };
            resolved.insert(name.clone(), text);
        }
        Ok(resolved)
    }
}

fn entry(service: &str, key: &str) -> Result<keyring::Entry, SecretsError> {
    keyring::Entry::new(service, key).map_err(|e| classify(key, e))
}

fn classify(key: &str, error: keyring::Error) -> SecretsError {
    match error {
        keyring::Error::NoStorageAccess(detail) => SecretsError::Denied {
            key: key.to_owned(),
            detail: detail.to_string(),
        },
        keyring::Error::PlatformFailure(detail) => SecretsError::Unavailable {
            detail: detail.to_string(),
        },
        keyring::Error::NoEntry => SecretsError::Missing { key: key.to_owned() },
        other => SecretsError::Unavailable {
            detail: other.to_string(),
        },
    }
}

/// The keyring crate blocks on D-Bus or the OS; keep that off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SecretsError> + Send + 'static,
) -> Result<T, SecretsError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(SecretsError::Unavailable {
            detail: e.to_string(),
        })
    })
}

fn read_file(path: &PathBuf) -> Result<BTreeMap<String, String>, SecretsError> {
    let failed = |detail: String| SecretsError::File {
        path: path.clone(),
        detail,
    };
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| failed(format!("it is not valid JSON ({e}); fix or remove it"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(failed(e.to_string())),
    }
}

fn write_file(path: &PathBuf, all: &BTreeMap<String, String>) -> Result<(), SecretsError> {
    let failed = |detail: String| SecretsError::File {
        path: path.clone(),
        detail,
    };
    let bytes = serde_json::to_vec_pretty(all).map_err(|e| failed(e.to_string()))?;
    let temp = path.with_extension("json.tmp");
    // A temp file left by a crash (or put there by someone else) is removed, never reused:
    // opening it would keep its mode and owner, and the secrets would be written into it.
    match std::fs::remove_file(&temp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(failed(format!("cannot remove the stale {}: {e}", temp.display())));
        }
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        std::io::Write::write_all(&mut file, &bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    });
    written.map_err(|e| {
        // Nothing half-written stays behind; the secrets file itself was never touched.
        let _ = std::fs::remove_file(&temp);
        match e.kind() {
            std::io::ErrorKind::StorageFull => failed(
                "the disk is full; free some space on it and set the secret again (the secrets \
                 stored before are unchanged)"
                    .to_owned(),
            ),
            _ => failed(e.to_string()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised_by_their_names() {
        for name in [
            "GITHUB_TOKEN",
            "OPENAI_API_KEY",
            "Authorization",
            "DB_PASSWORD",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "x-api-key",
        ] {
            assert!(looks_like_credential(name), "{name}");
        }
        for name in ["DEBUG", "LOG_LEVEL", "TZ", "PATH", "HOME", "MONKEY_MODE"] {
            assert!(!looks_like_credential(name), "{name}");
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_stale_world_readable_temp_file_is_replaced_not_reused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.json");
        let temp = dir.path().join("secrets.json.tmp");
        std::fs::write(&temp, b"left by a crash").expect("write");
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let stale_inode = std::fs::metadata(&temp).expect("meta").ino();
        // Kept open, as by another user who planted it: reusing the inode would leak to them.
        let _planted = std::fs::File::open(&temp).expect("open");
        Secrets::file(path.clone())
            .set("time/API_KEY", "s3cret")
            .await
            .expect("set");
        let written = std::fs::metadata(&path).expect("meta");
        assert_eq!(written.permissions().mode() & 0o777, 0o600);
        assert_ne!(written.ino(), stale_inode, "the stale temp file was reused");
        assert!(!temp.exists());
    }

    #[tokio::test]
    async fn the_file_backend_round_trips_privately() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.json");
        let secrets = Secrets::file(path.clone());
        secrets.set("time/API_KEY", "s3cret").await.expect("set");
        assert_eq!(
            secrets.get("time/API_KEY").await.expect("get").as_deref(),
            Some("s3cret")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let mut env = BTreeMap::new();
        env.insert(
            "KEY".to_owned(),
            ValueSource::Secret {
                secret: "time/API_KEY".into(),
            },
        );
        env.insert("MODE".to_owned(), ValueSource::Literal("fast".into()));
        let resolved = secrets.resolve(&env).await.expect("resolve");
        assert_eq!(resolved["KEY"], "s3cret");
        assert!(secrets.delete("time/API_KEY").await.expect("delete"));
        assert!(matches!(
            secrets.resolve(&env).await,
            Err(SecretsError::Missing { .. })
        ));
        assert!(matches!(
            secrets.set("no-slash", "x").await,
            Err(SecretsError::BadKey { .. })
        ));
    }
}
