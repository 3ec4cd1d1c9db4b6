//! What a server's process or connection starts with: its environment and headers resolved
//! from the keychain (and an OAuth token checked), the process spawned under the watchdog, its
//! output forwarded to its log.
//!
//! When to start and what to do when it ends are the actor's ([`super::actor`]); how a
//! process is spawned is [`super::process`]'s.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_credentials::oauth::OAuthError;
use switchboard_credentials::secrets::SecretsError;
use switchboard_mcp::logs::{MAX_LOG_LINE, ServerLog, read_bounded_line};
use switchboard_model::api::LogStream;
use switchboard_model::{FailureReason, Launch, ServerName, ValueSource};
use tokio::io::BufReader;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::task::JoinHandle;

use super::Shared;
use super::process::{self, Pipes, ServerProcess, SpawnError};

/// A process spawned under the watchdog, its stderr going to its server's log.
pub(super) struct Spawned {
    pub process: ServerProcess,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr_task: JoinHandle<()>,
}

/// Spawns `launch` with its environment resolved, registers its process group with the
/// watchdog and forwards its stderr to `log`: the start of every process of a server.
pub(super) async fn spawn_watched(
    shared: &Shared,
    launch: &Launch,
    log: &Arc<ServerLog>,
) -> Result<Spawned, FailureReason> {
    let env = shared
        .secrets
        .resolve(&launch.env)
        .await
        .map_err(secret_failure)?;
    let (
        process,
        Pipes {
            stdin,
            stdout,
            stderr,
        },
    ) = process::spawn(launch, &env).map_err(|e| match e {
        SpawnError::ProgramNotFound { program } => FailureReason::ProgramNotFound { program },
        other => FailureReason::SpawnFailed {
            message: other.to_string(),
        },
    })?;
    shared.watch(process.pgid());
    let stderr_task = tokio::spawn(forward_lines(stderr, Arc::clone(log), LogStream::Stderr));
    Ok(Spawned {
        process,
        stdin,
        stdout,
        stderr_task,
    })
}

pub(super) async fn forward_lines<R: tokio::io::AsyncRead + Unpin>(
    pipe: R,
    log: Arc<ServerLog>,
    stream: LogStream,
) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    while let Ok(Some(_)) = read_bounded_line(&mut reader, &mut buf, MAX_LOG_LINE).await {
        log.push(stream, String::from_utf8_lossy(&buf).into_owned());
    }
}

pub(super) async fn header_map(
    shared: &Shared,
    server: &ServerName,
    url: &str,
    headers: &BTreeMap<String, ValueSource>,
) -> Result<reqwest::header::HeaderMap, FailureReason> {
    let headers = shared.secrets.resolve(headers).await.map_err(secret_failure)?;
    // A login whose refresh is refused ends here, with why, rather than as a bare 401.
    if !headers
        .keys()
        .any(|name| name.eq_ignore_ascii_case("authorization"))
    {
        shared
            .oauth
            .access_token(server, url)
            .await
            .map_err(|error| match error {
                OAuthError::Secrets(error) => secret_failure(error),
                other => FailureReason::NeedsLogin {
                    message: other.to_string(),
                },
            })?;
    }
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in &headers {
        let bad = |what: &str| FailureReason::SpawnFailed {
            message: format!("header {name}: invalid {what}"),
        };
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("name"))?;
        let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| bad("value"))?;
        map.insert(name, value);
    }
    Ok(map)
}

fn secret_failure(error: SecretsError) -> FailureReason {
    let key = match &error {
        SecretsError::Missing { key } | SecretsError::Denied { key, .. } | SecretsError::BadKey { key } => {
            key.clone()
        }
        _ => String::new(),
    };
    FailureReason::SecretUnavailable {
        key,
        message: error.to_string(),
    }
}
