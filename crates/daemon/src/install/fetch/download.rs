//! A bundle's bytes: downloaded over HTTPS (plain HTTP only from loopback), at most
//! [`MAX_BUNDLE_BYTES`], checked against the published SHA-256, and unpacked off the async
//! runtime.
//!
//! What a bundle holds and how it runs is [`super::mcpb`]'s; the zip rules (paths that escape,
//! zip bombs) are [`crate::bundle`]'s.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::FETCH_TIMEOUT;
use crate::bundle;
use crate::install::InstallError;

/// Largest bundle downloaded.
const MAX_BUNDLE_BYTES: u64 = 512 << 20;

/// The bytes at `url`, refused unless their SHA-256 is `sha256`.
pub(super) async fn verified(
    http: &reqwest::Client,
    url: &str,
    sha256: &str,
) -> Result<Vec<u8>, InstallError> {
    let bytes = download(http, url).await?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(InstallError::Checksum {
            url: url.to_owned(),
            expected: sha256.to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

async fn download(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, InstallError> {
    let failed = |detail: String| InstallError::Fetch {
        what: format!("downloading {url}"),
        detail,
    };
    let parsed = url::Url::parse(url).map_err(|e| failed(e.to_string()))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(failed("bundles are downloaded over https only".to_owned()));
    }
    let mut response = http
        .get(parsed)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("the server answered {}", response.status())));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        if bytes.len() as u64 + chunk.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(failed(format!(
                "the bundle is over {} MiB",
                MAX_BUNDLE_BYTES >> 20
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Unpacks the zip `bytes` into `root` on a blocking thread, within [`bundle::LIMITS`].
pub(super) async fn unpack(bytes: Vec<u8>, root: &Path) -> Result<(), InstallError> {
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || bundle::unpack(&bytes, &root, &bundle::LIMITS))
        .await
        .map_err(|e| InstallError::Fetch {
            what: "unpacking the bundle".to_owned(),
            detail: e.to_string(),
        })??;
    Ok(())
}
