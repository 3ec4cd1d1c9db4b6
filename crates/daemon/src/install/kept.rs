//! The secrets an install or update writes to the keychain, and putting back what they
//! replaced when the change fails.
//!
//! It owns the record of those writes ([`Kept`]); which values are secret is the plan's, and
//! the keychain itself is [`switchboard_credentials::secrets`]'s.

use std::collections::BTreeMap;

use switchboard_credentials::secrets;
use switchboard_model::{ServerName, ValueSource};
use switchboard_registry::plan::Resolved;

use super::{InstallError, Installer};

/// A secret an install or update wrote, and what it replaced.
#[derive(Debug)]
pub(super) struct Kept {
    key: String,
    before: Option<String>,
}

impl Installer {
    /// Literal values as they are; secret ones stored under `<server>/<NAME>` and referred to.
    pub(super) async fn keep(
        &self,
        server: &ServerName,
        values: &BTreeMap<String, Resolved>,
        kept: &mut Vec<Kept>,
    ) -> Result<BTreeMap<String, ValueSource>, InstallError> {
        let mut sources = BTreeMap::new();
        for (name, value) in values {
            let source = if value.secret {
                let key = secrets::key(server, name);
                let before = self.secrets.get(&key).await?;
                self.secrets.set(&key, &value.text).await?;
                kept.push(Kept {
                    key: key.clone(),
                    before,
                });
                ValueSource::Secret { secret: key }
            } else {
                ValueSource::Literal(value.text.clone())
            };
            sources.insert(name.clone(), source);
        }
        Ok(sources)
    }

    /// Puts back the secrets `keep` replaced, after a failed install or update.
    pub(super) async fn restore(&self, kept: Vec<Kept>) {
        for Kept { key, before } in kept.into_iter().rev() {
            let restored = match before {
                Some(value) => self.secrets.set(&key, &value).await,
                None => self.secrets.delete(&key).await.map(drop),
            };
            if let Err(error) = restored {
                tracing::warn!(%key, %error, "could not put back a secret after a failed change");
            }
        }
    }
}
