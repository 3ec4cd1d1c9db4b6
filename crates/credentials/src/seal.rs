//! Sealing bytes Switchboard must keep on disk that may hold a user's credentials: the
//! journal of client config files keeps each file's bytes before and after a write, and a
//! client's file often holds the user's own API keys.
//!
//! Sealed bytes are AES-256-GCM under one key kept in the secret store (the OS keychain), so
//! the files say nothing without it. This module owns the key and the sealed format
//! (`SBS1`, a 12-byte nonce, the ciphertext with its tag); what is sealed, and where it is
//! kept, is its callers'. Bytes without the `SBS1` mark were written before sealing and are
//! read as they are.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::secrets::{Secrets, SecretsError};

/// The sealing key's name in the secret store (Switchboard's own namespace, as the doctor's
/// probe is).
const KEY_NAME: &str = "switchboard/journal-seal";
const MARK: &[u8; 4] = b"SBS1";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error("cannot keep the journal's sealing key: {0}")]
    Key(#[from] SecretsError),
    #[error(
        "the sealing key in the secret store is not one Switchboard made ({what}); remove `{KEY_NAME}` from it to start a new journal (earlier entries can then no longer be undone)"
    )]
    BadKey { what: &'static str },
    #[error(
        "sealed bytes do not open with the key in the secret store (they were sealed under another key, or damaged); this change can no longer be undone"
    )]
    Open,
    #[error("cannot seal bytes for the journal")]
    Seal,
}

/// Seals and opens bytes under the key in the secret store.
pub struct Seal {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal")
    }
}

impl Seal {
    /// The key in `secrets`, made and stored there the first time.
    pub async fn load(secrets: &Secrets) -> Result<Self, SealError> {
        let key = match secrets.get(KEY_NAME).await? {
            Some(text) => {
                let bytes = STANDARD
                    .decode(text.trim())
                    .map_err(|_| SealError::BadKey { what: "not base64" })?;
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| SealError::BadKey { what: "not 32 bytes" })?;
                Key::<Aes256Gcm>::from(bytes)
            }
            None => {
                let key = Aes256Gcm::generate_key(OsRng);
                secrets.set(KEY_NAME, &STANDARD.encode(key)).await?;
                key
            }
        };
        Ok(Self {
            cipher: Aes256Gcm::new(&key),
        })
    }

    /// `plain`, sealed: the mark, a fresh nonce, and the ciphertext with its tag.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self.cipher.encrypt(&nonce, plain).map_err(|_| SealError::Seal)?;
        Ok([MARK.as_slice(), &nonce[..], &sealed].concat())
    }

    /// Whether `bytes` were sealed (rather than kept before sealing was).
    pub fn is_sealed(bytes: &[u8]) -> bool {
        bytes.starts_with(MARK)
    }

    /// The bytes `seal` was given; bytes without the mark are returned as they are.
    pub fn open(&self, bytes: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some(rest) = bytes.strip_prefix(MARK.as_slice()) else {
            return Ok(bytes.to_vec());
        };
        let (nonce, sealed) = rest.split_at_checked(NONCE_LEN).ok_or(SealError::Open)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Open)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_secrets(dir: &tempfile::TempDir) -> Secrets {
        Secrets::file(dir.path().join("secrets.json"))
    }

    #[tokio::test]
    async fn sealed_bytes_hide_their_content_and_open_with_the_same_stored_key() {
        let dir = tempfile::tempdir().unwrap();
        let plain = br#"{"env": {"BRAVE_API_KEY": "brave-secret-123"}}"#;
        let sealed = Seal::load(&file_secrets(&dir))
            .await
            .unwrap()
            .seal(plain)
            .unwrap();
        assert!(
            !sealed
                .windows(16)
                .any(|w| w == b"brave-secret-123"[..16].as_ref())
        );
        // A later daemon loads the stored key and opens what an earlier one sealed.
        let again = Seal::load(&file_secrets(&dir)).await.unwrap();
        assert_eq!(again.open(&sealed).unwrap(), plain);
        assert_eq!(
            again.open(b"written before sealing").unwrap(),
            b"written before sealing"
        );
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(matches!(again.open(&damaged), Err(SealError::Open)));
    }
}
